import { type MigrationInterface, type QueryRunner, Table, type TableColumnOptions } from 'typeorm';

/**
 * Bot accounts and their webhooks (issue #14). `bots`: one row per bot user
 * (users.isBot), its owner, the sha256 of its one live token and the session
 * that token belongs to (revoking the session revokes the token everywhere),
 * its webhook URL and signing secret, and when the token was last used.
 * `webhook_deliveries`: the outbox, one row per (message, bot), whose id is
 * the X-Chat-Delivery every retry repeats. `webhook_state`: the webhook
 * worker's durable position in the event log and its lease; the position
 * starts at the log's current end, so history is never delivered.
 */
export class Bots1796600000000 implements MigrationInterface {
  name = 'Bots1796600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const isMysql = queryRunner.connection.driver.options.type === 'mysql';
    const idType = isMysql ? 'bigint' : 'integer';
    const reference = (name: string, isPrimary = false): TableColumnOptions => ({ name, type: idType, isPrimary });
    const timestamp = (name: string, isNullable = false): TableColumnOptions => ({
      name,
      type: 'datetime',
      precision: 3,
      isNullable,
    });
    const userKey = (column: string) => ({
      columnNames: [column],
      referencedTableName: 'users',
      referencedColumnNames: ['id'],
      onDelete: 'CASCADE',
    });

    await queryRunner.createTable(
      new Table({
        name: 'bots',
        columns: [
          reference('userId', true),
          reference('ownerId'),
          // sha256 of the bearer token, hex: the token itself is never stored.
          { name: 'tokenHash', type: 'varchar', length: '64' },
          { name: 'sessionId', type: 'varchar', length: '32' },
          { name: 'webhookUrl', type: 'text', isNullable: true },
          { name: 'webhookSecret', type: 'varchar', length: '64', isNullable: true },
          timestamp('createdAt'),
          timestamp('lastUsedAt', true),
        ],
        indices: [
          { name: 'UQ_bots_token', columnNames: ['tokenHash'], isUnique: true },
          { name: 'IDX_bots_owner', columnNames: ['ownerId', 'createdAt'] },
        ],
        foreignKeys: [userKey('userId'), userKey('ownerId')],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'webhook_deliveries',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          reference('messageId'),
          reference('botId'),
          // PENDING until answered; SENT, or FAILED after the last try.
          { name: 'status', type: 'varchar', length: '8' },
          { name: 'attempts', type: 'integer' },
          // Epoch milliseconds: when a PENDING row is next due (a claim pushes it past the request's timeout).
          { name: 'nextAttemptAt', type: idType },
          timestamp('createdAt'),
        ],
        indices: [
          { name: 'UQ_webhook_deliveries_message_bot', columnNames: ['messageId', 'botId'], isUnique: true },
          { name: 'IDX_webhook_deliveries_due', columnNames: ['status', 'nextAttemptAt'] },
        ],
        foreignKeys: [
          {
            columnNames: ['botId'],
            referencedTableName: 'bots',
            referencedColumnNames: ['userId'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'webhook_state',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true },
          { name: 'position', type: idType },
          { name: 'leaseOwner', type: 'varchar', length: '64', isNullable: true },
          // Epoch milliseconds.
          { name: 'leaseUntil', type: idType },
        ],
      }),
    );
    await queryRunner.query(
      'INSERT INTO webhook_state (id, position, leaseOwner, leaseUntil) SELECT 1, position, NULL, 0 FROM event_sequence WHERE id = 1',
    );

    if (isMysql) {
      for (const table of ['bots', 'webhook_deliveries', 'webhook_state']) {
        await queryRunner.query(`ALTER TABLE ${table} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      }
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['webhook_state', 'webhook_deliveries', 'bots']) await queryRunner.dropTable(table);
  }
}
