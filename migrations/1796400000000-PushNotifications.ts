import { type MigrationInterface, type QueryRunner, Table, type TableColumnOptions } from 'typeorm';

/**
 * Web Push (issue #13): subscriptions, per-member mutes, the per-(message,
 * subscription) delivery record that makes a push go out once, and the push
 * state row: the pusher's durable position in the event log, the lease that
 * lets one instance drain at a time, and the VAPID key pair generated on first
 * start. The position starts at the log's current end, so history is never
 * pushed when the feature is deployed.
 */
export class PushNotifications1796400000000 implements MigrationInterface {
  name = 'PushNotifications1796400000000';

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

    await queryRunner.createTable(
      new Table({
        name: 'push_subscriptions',
        columns: [
          { name: 'id', type: idType, isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          reference('userId'),
          { name: 'endpoint', type: 'text' },
          // sha256 of the endpoint, hex: a unique key on a URL too long for a MySQL index.
          { name: 'endpointHash', type: 'varchar', length: '64' },
          { name: 'p256dh', type: 'varchar', length: '128' },
          { name: 'auth', type: 'varchar', length: '64' },
          timestamp('createdAt'),
        ],
        indices: [
          { name: 'UQ_push_subscriptions_endpoint', columnNames: ['endpointHash'], isUnique: true },
          { name: 'IDX_push_subscriptions_user', columnNames: ['userId', 'createdAt'] },
        ],
        foreignKeys: [
          {
            columnNames: ['userId'],
            referencedTableName: 'users',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'conversation_mutes',
        columns: [reference('conversationId', true), reference('userId', true), timestamp('createdAt')],
        foreignKeys: [
          {
            columnNames: ['conversationId'],
            referencedTableName: 'conversations',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
          { columnNames: ['userId'], referencedTableName: 'users', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'push_deliveries',
        columns: [
          reference('messageId', true),
          reference('subscriptionId', true),
          // PENDING until sent; SENT, or FAILED after the last try.
          { name: 'status', type: 'varchar', length: '8' },
          { name: 'attempts', type: 'integer' },
          // Epoch milliseconds: when a PENDING row is next due (a claim pushes it past the request's timeout).
          { name: 'nextAttemptAt', type: idType },
          timestamp('createdAt'),
        ],
        indices: [{ name: 'IDX_push_deliveries_due', columnNames: ['status', 'nextAttemptAt'] }],
        foreignKeys: [
          {
            columnNames: ['subscriptionId'],
            referencedTableName: 'push_subscriptions',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'push_state',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true },
          { name: 'position', type: idType },
          { name: 'leaseOwner', type: 'varchar', length: '64', isNullable: true },
          // Epoch milliseconds.
          { name: 'leaseUntil', type: idType },
          { name: 'vapidPublicKey', type: 'varchar', length: '128', isNullable: true },
          { name: 'vapidPrivateKey', type: 'varchar', length: '128', isNullable: true },
        ],
      }),
    );
    await queryRunner.query(
      'INSERT INTO push_state (id, position, leaseOwner, leaseUntil) SELECT 1, position, NULL, 0 FROM event_sequence WHERE id = 1',
    );

    if (isMysql) {
      for (const table of ['push_subscriptions', 'conversation_mutes', 'push_deliveries', 'push_state']) {
        await queryRunner.query(`ALTER TABLE ${table} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      }
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['push_state', 'push_deliveries', 'conversation_mutes', 'push_subscriptions']) {
      await queryRunner.dropTable(table);
    }
  }
}
