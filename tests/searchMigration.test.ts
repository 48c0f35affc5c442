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

describe('the per-conversation search terms migration on mysql', () => {
  it('goes down and up again; the words of each conversation stay apart, and edits and deletes keep them current', async () => {
    await withDatabase('mysql', async (dataSource) => {
      const now = '2026-01-01 00:00:00.000';
      await dataSource.query(
        "INSERT INTO users (id, username, displayName, displayNameLower, passwordHash, createdAt) VALUES (1, 'ann', 'ann', 'ann', 'x', ?)",
        [now],
      );
      for (const id of [1, 2]) {
        await dataSource.query(
          "INSERT INTO conversations (id, kind, title, createdAt, activityPosition) VALUES (?, 'GROUP', 'g', ?, 0)",
          [id, now],
        );
      }
      await dataSource.query(
        "INSERT INTO memberships (conversationId, userId, joinedAt, role) VALUES (1, 1, ?, 'OWNER')",
        [now],
      );

      await undoMigrationsThrough(dataSource, 'SearchTermsPerConversation1796800000000');
      await expect(dataSource.query('SELECT searchTerms FROM messages')).rejects.toThrow();
      // Written while the migration is undone: the column filled on the way up must hold them.
      await dataSource.query(
        "INSERT INTO messages (id, conversationId, senderId, body, createdAt) VALUES (1, 1, 1, 'Déjà vu, ok?', ?), (2, 2, 1, 'déjà vu elsewhere', ?)",
        [now, now],
      );
      await dataSource.runMigrations({ transaction: 'all' });

      const search = (query: string, userId = 1) =>
        searchMessageIds(dataSource, { userId, query, conversationId: null, beforeId: null, limit: 10 });
      expect(await search('DEJA vu')).toEqual([1]);
      expect(await search('ok')).toEqual([1]);
      expect(await search('elsewhere')).toEqual([]);

      await dataSource.query(
        "INSERT INTO memberships (conversationId, userId, joinedAt, role) VALUES (2, 1, ?, 'MEMBER')",
        [now],
      );
      expect(await search('deja')).toEqual([2, 1]);
      // A word of conversation 2 is no word of conversation 1, even next to one of its own.
      expect(await search('ok elsewhere')).toEqual([]);

      await dataSource.query("UPDATE messages SET body = 'rewritten' WHERE id = 1");
      expect(await search('deja')).toEqual([2]);
      expect(await search('rewritten')).toEqual([1]);
      await dataSource.query('UPDATE messages SET body = NULL, deletedAt = ? WHERE id = 2', [now]);
      expect(await dataSource.query('SELECT searchTerms FROM messages WHERE id = 2')).toEqual([{ searchTerms: null }]);
      expect(await search('deja')).toEqual([]);
    });
  });
});

describe.each<DatabaseKind>(['sqlite', 'mysql'])('search across many conversations on %s', (database) => {
  it('a member of more conversations than one match names finds the newest hits of all of them, paged', async () => {
    await withDatabase(database, async (dataSource) => {
      const now = '2026-01-01 00:00:00.000';
      const conversations = 260;
      await dataSource.query(
        "INSERT INTO users (id, username, displayName, displayNameLower, passwordHash, createdAt) VALUES (1, 'ann', 'ann', 'ann', 'x', ?)",
        [now],
      );
      const ids = Array.from({ length: conversations }, (_, index) => index + 1);
      await dataSource.query(
        `INSERT INTO conversations (id, kind, title, createdAt, activityPosition) VALUES ${ids.map(() => "(?, 'GROUP', 'g', ?, 0)").join(', ')}`,
        ids.flatMap((id) => [id, now]),
      );
      await dataSource.query(
        `INSERT INTO memberships (conversationId, userId, joinedAt, role) VALUES ${ids.map(() => "(?, 1, ?, 'MEMBER')").join(', ')}`,
        ids.flatMap((id) => [id, now]),
      );
      // Message n is in conversation n; the word "needle" in every tenth conversation, newest in the last.
      await dataSource.query(
        `INSERT INTO messages (id, conversationId, senderId, body, createdAt) VALUES ${ids.map(() => '(?, ?, 1, ?, ?)').join(', ')}`,
        ids.flatMap((id) => [id, id, id % 10 === 0 ? `a needle in ${id}` : `hay ${id}`, now]),
      );
      const search = (beforeId: number | null) =>
        searchMessageIds(dataSource, { userId: 1, query: 'needle', conversationId: null, beforeId, limit: 10 });
      const first = await search(null);
      expect(first).toEqual([260, 250, 240, 230, 220, 210, 200, 190, 180, 170]);
      const second = await search(170);
      expect(second).toEqual([160, 150, 140, 130, 120, 110, 100, 90, 80, 70]);
      expect(await search(70)).toEqual([60, 50, 40, 30, 20, 10]);
    });
  });
});
