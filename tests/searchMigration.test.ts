// Migration 1796200000000 (replies, mentions, full-text index) runs down and up
// again on MySQL and SQLite, and indexes the messages that existed before it.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/dataSource.js';
import { searchMessageIds } from '../src/db/search.js';
import { createLogger } from '../src/logger.js';
import { undoMigrationsThrough } from './helpers/migrations.js';
import { type DatabaseKind, dropMysqlDatabase, TEST_MYSQL_URL } from './helpers/server.js';

const MIGRATION = 'RepliesMentionsSearch1796200000000';

async function withDatabase(database: DatabaseKind, run: (dataSource: DataSource) => Promise<void>): Promise<void> {
  const name = `chat_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const directory = database === 'sqlite' ? mkdtempSync(join(tmpdir(), 'chat-migration-')) : null;
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    JWT_SECRET: 'test-secret-that-is-at-least-32-characters-long',
    ...(database === 'mysql'
      ? { DATABASE_URL: `${TEST_MYSQL_URL}/${name}` }
      : { SQLITE_PATH: join(directory!, 'chat.sqlite') }),
  });
  const dataSource = await openDatabase(config, createLogger(config));
  try {
    await run(dataSource);
  } finally {
    await dataSource.destroy();
    if (database === 'mysql') await dropMysqlDatabase(name);
    else rmSync(directory!, { recursive: true, force: true });
  }
}

describe.each<DatabaseKind>(['sqlite', 'mysql'])('the search migration on %s', (database) => {
  it('goes down and up again, and indexes the messages already there', async () => {
    await withDatabase(database, async (dataSource) => {
      const now = '2026-01-01 00:00:00.000';
      await dataSource.query(
        "INSERT INTO users (id, username, displayName, displayNameLower, passwordHash, createdAt) VALUES (1, 'ann', 'ann', 'ann', 'x', ?)",
        [now],
      );
      await dataSource.query(
        "INSERT INTO conversations (id, kind, title, createdAt, activityPosition) VALUES (1, 'GROUP', 'g', ?, 0)",
        [now],
      );
      await dataSource.query('INSERT INTO memberships (conversationId, userId, joinedAt) VALUES (1, 1, ?)', [now]);

      await undoMigrationsThrough(dataSource, MIGRATION);
      expect((await dataSource.query('SELECT * FROM migrations')).map((row: any) => row.name)).not.toContain(MIGRATION);
      // Written while the migration is undone: the index built on the way up must hold it.
      await dataSource.query(
        "INSERT INTO messages (id, conversationId, senderId, body, createdAt) VALUES (1, 1, 1, 'Résumé written before the index', ?)",
        [now],
      );
      await expect(dataSource.query('SELECT replyToId FROM messages')).rejects.toThrow();
      await expect(dataSource.query('SELECT * FROM message_mentions')).rejects.toThrow();

      await dataSource.runMigrations({ transaction: 'all' });
      const search = (query: string) =>
        searchMessageIds(dataSource, { userId: 1, query, conversationId: null, beforeId: null, limit: 10 });
      expect(await search('resume index')).toEqual([1]);
      expect(await dataSource.query('SELECT replyToId FROM messages')).toEqual([{ replyToId: null }]);
      expect(await dataSource.query('SELECT * FROM message_mentions')).toEqual([]);
    });
  });
});
