import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

/**
 * The assistant (issue #14): its durable position in the event log with the
 * lease that lets one instance plan answers at a time (assistant_state, one
 * row), and one row per message to answer (assistant_requests): the queue that
 * keeps one generation in flight per conversation, and the record of which
 * instance runs a generation until when, so a dead instance's answer is ended
 * by another. The position starts at the log's current end: history written
 * before the feature is deployed is never answered.
 */
export class Assistant1796700000000 implements MigrationInterface {
  name = 'Assistant1796700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const isMysql = queryRunner.connection.driver.options.type === 'mysql';
    const idType = isMysql ? 'bigint' : 'integer';

    await queryRunner.createTable(
      new Table({
        name: 'assistant_state',
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
      'INSERT INTO assistant_state (id, position, leaseOwner, leaseUntil) SELECT 1, position, NULL, 0 FROM event_sequence WHERE id = 1',
    );

    await queryRunner.createTable(
      new Table({
        name: 'assistant_requests',
        columns: [
          // The message to answer.
          { name: 'promptMessageId', type: idType, isPrimary: true },
          { name: 'conversationId', type: idType },
          // PENDING (queued), RUNNING (an instance generates), FINISHED.
          { name: 'status', type: 'varchar', length: '8' },
          // The assistant's reply, once posted.
          { name: 'replyMessageId', type: idType, isNullable: true },
          // The instance running it, and until when (epoch ms) it answers for it.
          { name: 'owner', type: 'varchar', length: '64', isNullable: true },
          { name: 'leaseUntil', type: idType },
          { name: 'createdAt', type: 'datetime', precision: 3 },
        ],
        indices: [
          { name: 'IDX_assistant_requests_status', columnNames: ['status', 'conversationId'] },
          { name: 'IDX_assistant_requests_owner', columnNames: ['owner', 'status'] },
        ],
        foreignKeys: [
          {
            columnNames: ['promptMessageId'],
            referencedTableName: 'messages',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );

    if (isMysql) {
      for (const table of ['assistant_state', 'assistant_requests']) {
        await queryRunner.query(`ALTER TABLE ${table} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      }
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('assistant_requests');
    await queryRunner.dropTable('assistant_state');
  }
}
