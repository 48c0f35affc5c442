// The one harness: starts the real app on a free port against a database of
// its own (a fresh MariaDB database, or a SQLite file) and drops it afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { createConnection } from 'mysql2/promise';
import { In } from 'typeorm';
import { type App, buildApp } from '../../src/app.js';
import { loadConfig, rateLimitVariable } from '../../src/config.js';
import { User } from '../../src/db/entities/index.js';
import { RATE_LIMITED_ACTIONS } from '../../src/rateLimit.js';
import { createLogger } from '../../src/logger.js';

/** MariaDB on this machine; override with TEST_MYSQL_URL (no database in the path). */
export const TEST_MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

/** The Redis on this machine, shared: each server keeps its keys apart by a prefix of its own. */
export const TEST_REDIS_URL = 'redis://127.0.0.1:6379';

export type DatabaseKind = 'mysql' | 'sqlite';

/** A deployment to run a test against: the database, and Redis or not. */
export type SetUp = { name: string; database: DatabaseKind; options: StartOptions };

/** The embedded set-up (SQLite, in-process pub/sub) and MySQL with Redis fan-out, for `describe.each`. */
export const SET_UPS: SetUp[] = [
  { name: 'sqlite', database: 'sqlite', options: {} },
  { name: 'mysql+redis', database: 'mysql', options: { env: { REDIS_URL: TEST_REDIS_URL } } },
];

/** Rate limits out of the way; the tests of the limits themselves pass their own. */
export const UNLIMITED_RATES: Record<string, string> = Object.fromEntries(
  RATE_LIMITED_ACTIONS.map((action) => [rateLimitVariable(action), '1000000,1000000']),
);

export type TestServer = {
  url: string;
  graphqlUrl: string;
  app: App;
  /** Every SQL statement run since the last resetQueries(). */
  queries: string[];
  resetQueries(): void;
  stop(): Promise<void>;
};

export async function dropMysqlDatabase(name: string): Promise<void> {
  const connection = await createConnection({ uri: TEST_MYSQL_URL });
  try {
    await connection.query(`DROP DATABASE IF EXISTS ${connection.escapeId(name)}`);
  } finally {
    await connection.end();
  }
}

export type StartOptions = {
  /** Extra environment variables for loadConfig. */
  env?: Record<string, string>;
  /** Receives every log line (JSON) when given; logs are silent otherwise. */
  logLines?: string[];
};

export async function startServer(database: DatabaseKind, options: StartOptions = {}): Promise<TestServer> {
  const { env = {}, logLines } = options;
  const name = `chat_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const sqliteDir = database === 'sqlite' ? mkdtempSync(join(tmpdir(), 'chat-test-')) : null;
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: logLines ? 'debug' : 'silent',
    JWT_SECRET: 'test-secret-that-is-at-least-32-characters-long',
    ...(database === 'mysql'
      ? { DATABASE_URL: `${TEST_MYSQL_URL}/${name}` }
      : { SQLITE_PATH: join(sqliteDir!, 'chat.sqlite') }),
    // Servers of concurrent tests may share one Redis: keep their keys and channels apart.
    REDIS_KEY_PREFIX: `${name}:`,
    ...UNLIMITED_RATES,
    // The pusher polls the database on its own timer, which would blur the query counts some tests take; tests/push*.test.ts turn it on.
    PUSH_ENABLED: 'false',
    // The same for the webhook worker; tests/bots.test.ts and tests/webhooks.test.ts turn it on.
    WEBHOOKS_ENABLED: 'false',
    ...env,
  });
  const queries: string[] = [];
  const destination = logLines ? { write: (line: string) => void logLines.push(line) } : undefined;
  const app = await buildApp(config, createLogger(config, destination), { onQuery: (sql) => queries.push(sql) });
  const url = await app.start();
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    app,
    queries,
    resetQueries: () => {
      queries.length = 0;
    },
    async stop() {
      await app.stop();
      if (database === 'mysql') await dropMysqlDatabase(name);
      else rmSync(sqliteDir!, { recursive: true, force: true });
    },
  };
}

/**
 * `count` users inserted straight into the database (signing up a thousand
 * through argon2 would take minutes); their global IDs, in creation order.
 * They cannot log in.
 */
export async function seedUsers(server: TestServer, count: number): Promise<string[]> {
  const prefix = `seed_${randomBytes(5).toString('hex')}`;
  const now = new Date();
  const rows = Array.from({ length: count }, (_, index) => {
    const name = `${prefix}_${index}`;
    return {
      username: name,
      displayName: name,
      displayNameLower: name,
      passwordHash: 'not-a-real-hash',
      createdAt: now,
      lastSeenAt: null,
    };
  });
  const manager = server.app.services.dataSource.manager;
  for (let start = 0; start < rows.length; start += 200) await manager.insert(User, rows.slice(start, start + 200));
  const users = await manager.find(User, {
    where: { username: In(rows.map((row) => row.username)) },
    order: { id: 'ASC' },
  });
  if (users.length !== count) throw new Error(`seeded ${users.length} users instead of ${count}`);
  return users.map((user) => encodeGlobalID('User', user.id));
}
