import type { MigrationInterface, QueryRunner } from 'typeorm';
import { searchCollation } from './1796200000000-RepliesMentionsSearch.js';

/**
 * MySQL/MariaDB search reads short posting lists (issue #16). InnoDB FULLTEXT
 * reads the whole posting list of every word of a query before anything
 * narrows it, so a common word cost seconds on a million messages even when
 * the searcher is in a few conversations. Each word is now indexed as a word
 * of its conversation: messages.searchTerms holds the body's words, each
 * prefixed with `c<conversationId>x` ("Café, ok" in conversation 42 is
 * "c42xCafé c42xok"), and the index covers that column only. A search asks for
 * `+(c1xword c2xword …)` per word, so InnoDB reads only the searcher's
 * conversations' entries of each word. The prefix also lifts every word over
 * innodb_ft_min_token_size: one- and two-letter words are indexed too.
 *
 * Triggers keep the column current on every write, whatever writes it (send,
 * edit, delete, a seeding script): a deleted message (body NULL) has none.
 * A word is a run of letters, digits, marks and `_`, as in db/search.ts; the
 * rest of the text becomes spaces so InnoDB's parser sees exactly those words.
 * The column's collation folds case and accents, as the body's did.
 *
 * SQLite is unchanged: FTS5 already indexes the conversation as a token and
 * skips along its short lists.
 */
export class SearchTermsPerConversation1796800000000 implements MigrationInterface {
  name = 'SearchTermsPerConversation1796800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type !== 'mysql') return;
    const collation = await searchCollation(queryRunner);
    const terms = await searchTermsExpression(queryRunner, 'NEW.body', 'NEW.conversationId');
    await queryRunner.query(
      `ALTER TABLE messages ADD COLUMN searchTerms MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE ${collation} NULL`,
    );
    await queryRunner.query(
      `UPDATE messages SET searchTerms = ${await searchTermsExpression(queryRunner, 'body', 'conversationId')}`,
    );
    await queryRunner.query('DROP TRIGGER IF EXISTS messages_search_scope');
    await queryRunner.query(
      `CREATE TRIGGER messages_search_terms_insert BEFORE INSERT ON messages FOR EACH ROW SET NEW.searchTerms = ${terms}`,
    );
    await queryRunner.query(
      `CREATE TRIGGER messages_search_terms_update BEFORE UPDATE ON messages FOR EACH ROW ` +
        `IF NOT (NEW.body <=> OLD.body) THEN SET NEW.searchTerms = ${terms}; END IF`,
    );
    // Read when the index is created and kept with it (the session value only): no stopwords.
    // Added before the old index goes, so the table always has one (see the down path's note).
    await queryRunner.query('SET SESSION innodb_ft_enable_stopword = OFF');
    await queryRunner.query('ALTER TABLE messages ADD FULLTEXT INDEX FT_messages_search (searchTerms)');
    await queryRunner.query('SET SESSION innodb_ft_enable_stopword = ON');
    await queryRunner.query('ALTER TABLE messages DROP INDEX FT_messages_body, DROP COLUMN searchScope');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type !== 'mysql') return;
    const collation = await searchCollation(queryRunner);
    // As migration 1796200000000 left it. The new index comes first: MariaDB 10.11 leaves rows
    // written while a table has no FULLTEXT index out of one added later.
    await queryRunner.query(
      `ALTER TABLE messages ADD COLUMN searchScope VARCHAR(24) CHARACTER SET utf8mb4 COLLATE ${collation} NULL`,
    );
    await queryRunner.query("UPDATE messages SET searchScope = CONCAT('cid', conversationId)");
    await queryRunner.query('DROP TRIGGER IF EXISTS messages_search_terms_insert');
    await queryRunner.query('DROP TRIGGER IF EXISTS messages_search_terms_update');
    await queryRunner.query(
      "CREATE TRIGGER messages_search_scope BEFORE INSERT ON messages FOR EACH ROW SET NEW.searchScope = CONCAT('cid', NEW.conversationId)",
    );
    await queryRunner.query('SET SESSION innodb_ft_enable_stopword = OFF');
    await queryRunner.query('ALTER TABLE messages ADD FULLTEXT INDEX FT_messages_body (body, searchScope)');
    await queryRunner.query('SET SESSION innodb_ft_enable_stopword = ON');
    await queryRunner.query('ALTER TABLE messages DROP INDEX FT_messages_search, DROP COLUMN searchTerms');
  }
}

/**
 * SQL computing searchTerms from a body and a conversation id (db/search.ts's
 * conversationTerm() builds the same words for a query). MariaDB's
 * REGEXP_REPLACE (PCRE) names the whole match `\0`, MySQL's (ICU) `$0`.
 */
export async function searchTermsExpression(queryRunner: QueryRunner, body: string, conversationId: string) {
  const [{ version }] = (await queryRunner.query('SELECT VERSION() AS version')) as [{ version: string }];
  const wholeMatch = /mariadb/i.test(version) ? '\\\\0' : '$0';
  const word = '[\\\\p{L}\\\\p{N}\\\\p{M}_]+';
  const notWord = '[^\\\\p{L}\\\\p{N}\\\\p{M}_]+';
  return `REGEXP_REPLACE(REGEXP_REPLACE(${body}, '${notWord}', ' '), '${word}', CONCAT('c', ${conversationId}, 'x${wholeMatch}'))`;
}
