import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

/**
 * Replies (messages.replyToId), stored mentions (message_mentions) and the
 * native full-text index over message bodies (issue #16).
 *
 * MySQL/MariaDB: an InnoDB FULLTEXT index on messages.body. The column's
 * collation becomes accent- and case-insensitive (it only governs comparison:
 * the bytes stored are unchanged), so the index folds "Café" to "cafe". The
 * index is built without stopwords: with InnoDB's default list, "+the" would
 * match nothing and a query containing "the" would find nothing at all.
 *
 * SQLite: an FTS5 table over messages.body (external content, so the text is
 * not stored twice), kept current by triggers: deleted messages (body NULL)
 * leave it, edited ones are re-indexed in the same transaction as the edit.
 */
export class RepliesMentionsSearch1796200000000 implements MigrationInterface {
  name = 'RepliesMentionsSearch1796200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const isMysql = queryRunner.connection.driver.options.type === 'mysql';
    const idType = isMysql ? 'bigint' : 'integer';

    // Raw SQL: TypeORM's addColumn rebuilds the whole table on SQLite.
    await queryRunner.query(`ALTER TABLE messages ADD COLUMN replyToId ${idType} NULL`);

    await queryRunner.createTable(
      new Table({
        name: 'message_mentions',
        columns: [
          { name: 'messageId', type: idType, isPrimary: true },
          { name: 'userId', type: idType, isPrimary: true },
          { name: 'conversationId', type: idType },
        ],
        indices: [
          // Unread mentions per conversation: WHERE userId = ? AND conversationId IN (…) AND messageId > marker.
          { name: 'IDX_message_mentions_user', columnNames: ['userId', 'conversationId', 'messageId'] },
        ],
        foreignKeys: [
          { columnNames: ['messageId'], referencedTableName: 'messages', referencedColumnNames: ['id'] },
          { columnNames: ['userId'], referencedTableName: 'users', referencedColumnNames: ['id'] },
        ],
      }),
    );

    if (isMysql) {
      await queryRunner.query('ALTER TABLE message_mentions CONVERT TO CHARACTER SET utf8mb4');
      const collation = await searchCollation(queryRunner);
      await queryRunner.query(
        `ALTER TABLE messages MODIFY body TEXT CHARACTER SET utf8mb4 COLLATE ${collation} NULL, ` +
          `ADD COLUMN searchScope VARCHAR(24) CHARACTER SET utf8mb4 COLLATE ${collation} NULL`,
      );
      // The conversation as a word of the index ("cid42"): a search ANDs the searcher's conversations
      // into the match, so InnoDB fetches only their rows (1,000,000 messages, a word in 1 % of
      // them: 30 ms instead of 900 ms). Set by a trigger: every insert, whatever writes it.
      await queryRunner.query("UPDATE messages SET searchScope = CONCAT('cid', conversationId)");
      await queryRunner.query(
        "CREATE TRIGGER messages_search_scope BEFORE INSERT ON messages FOR EACH ROW SET NEW.searchScope = CONCAT('cid', NEW.conversationId)",
      );
      // Read when the index is created and kept with it (the session value only).
      await queryRunner.query('SET SESSION innodb_ft_enable_stopword = OFF');
      await queryRunner.query('ALTER TABLE messages ADD FULLTEXT INDEX FT_messages_body (body, searchScope)');
      await queryRunner.query('SET SESSION innodb_ft_enable_stopword = ON');
    } else {
      await createSqliteFullText(queryRunner);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const isMysql = queryRunner.connection.driver.options.type === 'mysql';
    if (isMysql) {
      await queryRunner.query('DROP TRIGGER IF EXISTS messages_search_scope');
      await queryRunner.query('ALTER TABLE messages DROP INDEX FT_messages_body, DROP COLUMN searchScope');
      const [nopad] = await queryRunner.query(
        "SHOW COLLATION WHERE Collation IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')",
      );
      const collation = (nopad as { Collation: string } | undefined)?.Collation ?? 'utf8mb4_bin';
      await queryRunner.query(`ALTER TABLE messages MODIFY body TEXT CHARACTER SET utf8mb4 COLLATE ${collation} NULL`);
    } else {
      for (const trigger of ['messages_fts_insert', 'messages_fts_delete', 'messages_fts_update']) {
        await queryRunner.query(`DROP TRIGGER IF EXISTS ${trigger}`);
      }
      await queryRunner.query('DROP TABLE IF EXISTS messages_fts');
    }
    await queryRunner.dropTable('message_mentions');
    await queryRunner.query('ALTER TABLE messages DROP COLUMN replyToId');
  }
}

/**
 * The first accent- and case-insensitive collation the server has: MariaDB
 * 10.10+ names UCA 14 utf8mb4_uca1400_ai_ci, MySQL 8 has utf8mb4_0900_ai_ci,
 * and utf8mb4_unicode_520_ci is everywhere (it folds accents too).
 */
export async function searchCollation(queryRunner: QueryRunner): Promise<string> {
  // Probed rather than listed: MariaDB's SHOW COLLATION names the UCA 14 ones without their charset.
  for (const name of ['utf8mb4_uca1400_ai_ci', 'utf8mb4_0900_ai_ci', 'utf8mb4_unicode_520_ci']) {
    try {
      await queryRunner.query(`SELECT _utf8mb4'a' COLLATE ${name}`);
      return name;
    } catch {
      // not on this server; try the next
    }
  }
  return 'utf8mb4_unicode_ci';
}

/** The FTS5 table, its triggers and its first fill (exported for the search bench, which rebuilds it after seeding). */
export async function createSqliteFullText(queryRunner: QueryRunner): Promise<void> {
  // remove_diacritics 2 folds every diacritic, including those of letters with several. The
  // conversation id is indexed as a token: a search ANDs the searcher's conversations into the
  // match, so FTS5 skips through the short lists instead of walking every hit of a common word
  // (1,000,000 messages: 1-9 ms instead of 40-300 ms for a word in 5-60 % of them).
  await queryRunner.query(
    `CREATE VIRTUAL TABLE messages_fts USING fts5(body, conversationId, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')`,
  );
  await queryRunner.query(
    `CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.body IS NOT NULL BEGIN
       INSERT INTO messages_fts (rowid, body, conversationId) VALUES (new.id, new.body, new.conversationId);
     END`,
  );
  await queryRunner.query(
    `CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.body IS NOT NULL BEGIN
       INSERT INTO messages_fts (messages_fts, rowid, body, conversationId) VALUES ('delete', old.id, old.body, old.conversationId);
     END`,
  );
  await queryRunner.query(
    `CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
       INSERT INTO messages_fts (messages_fts, rowid, body, conversationId)
         SELECT 'delete', old.id, old.body, old.conversationId WHERE old.body IS NOT NULL;
       INSERT INTO messages_fts (rowid, body, conversationId)
         SELECT new.id, new.body, new.conversationId WHERE new.body IS NOT NULL;
     END`,
  );
  await queryRunner.query(
    'INSERT INTO messages_fts (rowid, body, conversationId) SELECT id, body, conversationId FROM messages WHERE body IS NOT NULL',
  );
}
