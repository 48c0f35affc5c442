import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bots and the assistant (issue #14), the part every other piece builds on:
 * users.isBot marks bot accounts (created by createBot, and the assistant),
 * and messages.generation holds the state of an assistant's reply while and
 * after it is generated (THINKING, GENERATING, DONE, STOPPED, FAILED; NULL for
 * every other message). Bot ownership, tokens and webhook positions come in
 * their own migration.
 */
export class BotAccounts1796500000000 implements MigrationInterface {
  name = 'BotAccounts1796500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Raw SQL: TypeORM's addColumn rebuilds the whole table on SQLite.
    await queryRunner.query('ALTER TABLE users ADD COLUMN isBot BOOLEAN NOT NULL DEFAULT FALSE');
    await queryRunner.query('ALTER TABLE messages ADD COLUMN generation VARCHAR(16) NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE messages DROP COLUMN generation');
    await queryRunner.query('ALTER TABLE users DROP COLUMN isBot');
  }
}
