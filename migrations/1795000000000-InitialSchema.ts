import { type MigrationInterface, type QueryRunner, Table, type TableColumnOptions } from 'typeorm';

/**
 * Written with TypeORM's Table API so one migration runs on MySQL and SQLite.
 * SQLite only auto-increments an INTEGER PRIMARY KEY, MySQL wants BIGINT.
 */
export class InitialSchema1795000000000 implements MigrationInterface {
  name = 'InitialSchema1795000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const isMysql = queryRunner.connection.driver.options.type === 'mysql';
    const idType = isMysql ? 'bigint' : 'integer';
    const id = (name = 'id'): TableColumnOptions => ({
      name,
      type: idType,
      isPrimary: true,
      isGenerated: true,
      generationStrategy: 'increment',
    });
    const reference = (name: string, isPrimary = false, isNullable = false): TableColumnOptions => ({
      name,
      type: idType,
      isPrimary,
      isNullable,
    });
    const timestamp = (name: string, isNullable = false): TableColumnOptions => ({
      name,
      type: 'datetime',
      precision: 3,
      isNullable,
    });

    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          id(),
          { name: 'username', type: 'varchar', length: '32' },
          { name: 'displayName', type: 'varchar', length: '64' },
          // displayName lower-cased by the application: SQLite's LOWER() folds ASCII only.
          { name: 'displayNameLower', type: 'varchar', length: '256' },
          { name: 'passwordHash', type: 'varchar', length: '255' },
          timestamp('createdAt'),
          timestamp('lastSeenAt', true),
        ],
        indices: [{ name: 'UQ_users_username', columnNames: ['username'], isUnique: true }],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'conversations',
        columns: [
          id(),
          { name: 'kind', type: 'varchar', length: '6' },
          { name: 'title', type: 'varchar', length: '100', isNullable: true },
          { name: 'directKey', type: 'varchar', length: '41', isNullable: true },
          timestamp('createdAt'),
          { name: 'activityPosition', type: idType },
          reference('lastMessageId', false, true),
        ],
        indices: [
          // One DIRECT conversation per pair; NULL (groups) never collides.
          { name: 'UQ_conversations_directKey', columnNames: ['directKey'], isUnique: true },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'memberships',
        columns: [
          reference('conversationId', true),
          reference('userId', true),
          timestamp('joinedAt'),
          reference('lastReadMessageId', false, true),
        ],
        indices: [{ name: 'IDX_memberships_user', columnNames: ['userId', 'conversationId'] }],
        foreignKeys: [
          { columnNames: ['conversationId'], referencedTableName: 'conversations', referencedColumnNames: ['id'] },
          { columnNames: ['userId'], referencedTableName: 'users', referencedColumnNames: ['id'] },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'messages',
        columns: [
          id(),
          reference('conversationId'),
          reference('senderId'),
          { name: 'body', type: 'text', isNullable: true },
          { name: 'clientMessageId', type: 'varchar', length: '64', isNullable: true },
          timestamp('createdAt'),
          timestamp('editedAt', true),
          timestamp('deletedAt', true),
        ],
        indices: [
          // History pages: WHERE conversationId = ? AND id < ? ORDER BY id DESC.
          { name: 'IDX_messages_conversation_id', columnNames: ['conversationId', 'id'] },
          // Idempotent sends: one message per (sender, clientMessageId).
          { name: 'UQ_messages_sender_client_id', columnNames: ['senderId', 'clientMessageId'], isUnique: true },
        ],
        foreignKeys: [
          { columnNames: ['conversationId'], referencedTableName: 'conversations', referencedColumnNames: ['id'] },
          { columnNames: ['senderId'], referencedTableName: 'users', referencedColumnNames: ['id'] },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'reactions',
        columns: [
          reference('messageId', true),
          reference('userId', true),
          { name: 'emoji', type: 'varchar', length: '64', isPrimary: true },
          timestamp('createdAt'),
        ],
        foreignKeys: [
          { columnNames: ['messageId'], referencedTableName: 'messages', referencedColumnNames: ['id'] },
          { columnNames: ['userId'], referencedTableName: 'users', referencedColumnNames: ['id'] },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'message_events',
        columns: [
          { name: 'position', type: idType, isPrimary: true },
          reference('conversationId'),
          reference('messageId'),
          { name: 'kind', type: 'varchar', length: '20' },
          timestamp('createdAt'),
        ],
        indices: [{ name: 'IDX_message_events_conversation', columnNames: ['conversationId', 'position'] }],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'event_sequence',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true },
          { name: 'position', type: idType },
        ],
      }),
    );
    await queryRunner.query('INSERT INTO event_sequence (id, position) VALUES (1, 0)');

    // Conversation list: the caller's memberships joined to conversations by recency.
    await queryRunner.query('CREATE INDEX IDX_conversations_activity ON conversations (activityPosition)');

    if (isMysql) {
      // Binary, no-pad collation: emoji and idempotency keys compare exactly
      // (the *_ci collations treat many distinct emoji as equal, and PAD SPACE
      // ones, utf8mb4_bin included, treat "k1" and "k1 " as one key), and text
      // round-trips byte-exact. MariaDB names it utf8mb4_nopad_bin, MySQL 8 utf8mb4_0900_bin.
      const [nopad] = await queryRunner.query(
        "SHOW COLLATION WHERE Collation IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')",
      );
      const collation = (nopad as { Collation: string } | undefined)?.Collation ?? 'utf8mb4_bin';
      for (const table of ['users', 'conversations', 'memberships', 'messages', 'reactions', 'message_events']) {
        await queryRunner.query(`ALTER TABLE ${table} CONVERT TO CHARACTER SET utf8mb4 COLLATE ${collation}`);
      }
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'event_sequence',
      'message_events',
      'reactions',
      'messages',
      'memberships',
      'conversations',
      'users',
    ]) {
      await queryRunner.dropTable(table);
    }
  }
}
