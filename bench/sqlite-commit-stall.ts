// Does an embedded SQLite commit stall the event loop? Drives the server's own
// group-commit send path (db/messages.ts storeMessage) in-process on a fresh
// SQLite file, with SENDERS sends kept in flight for SECONDS, and reports how
// long each COMMIT held the thread (better-sqlite3 is synchronous), the
// event-loop delay while it ran (perf_hooks, 1 ms resolution) and the sends
// stored per second. Run once per `synchronous` setting:
//
//   tsx bench/sqlite-commit-stall.ts [--senders 80] [--seconds 5] [--synchronous default|NORMAL|FULL]
//
// `default` is what the server runs (db/dataSource.ts): NORMAL, where a
// COMMIT writes the WAL without fsync, and transaction() then waits for an
// fsync of the WAL on the thread pool (db/walSync.ts), so a send is still on
// disk when it resolves. FULL is how the server ran before: SQLite fsyncs the
// WAL inside every COMMIT, on the event loop (the wait on the thread pool then
// finds nothing left to write). `--checkpoints worker` (the default) takes the WAL
// checkpoints off the event loop as the server does (db/walCheckpoints.ts);
// `--checkpoints commit` leaves them to the commits, as SQLite does by default;
// `--autocheckpoint 0` turns them off altogether, to show what they cost.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/dataSource.js';
import { Conversation, Membership, User } from '../src/db/entities/index.js';
import { storeMessage } from '../src/db/messages.js';
import { startWalCheckpoints } from '../src/db/walCheckpoints.js';
import { createLogger } from '../src/logger.js';

const { values } = parseArgs({
  options: {
    senders: { type: 'string', default: '80' },
    seconds: { type: 'string', default: '5' },
    synchronous: { type: 'string', default: 'default' },
    autocheckpoint: { type: 'string', default: 'default' },
    checkpoints: { type: 'string', default: 'worker' },
  },
});
const SENDERS = Number(values.senders);
const SECONDS = Number(values.seconds);

const dir = mkdtempSync(join(tmpdir(), 'sqlite-stall-'));
const config = loadConfig({
  LOG_LEVEL: 'error',
  JWT_SECRET: 'bench-stall-secret-that-is-long-enough-32',
  SQLITE_PATH: join(dir, 'chat.sqlite'),
});
const logger = createLogger(config);
const dataSource = await openDatabase(config, logger);
const walCheckpoints =
  values.checkpoints === 'worker' ? startWalCheckpoints(dataSource, join(dir, 'chat.sqlite'), logger) : null;
type Statement = { source: string; run(...args: unknown[]): unknown };
const database = (
  dataSource.driver as unknown as {
    databaseConnection: { prepare(sql: string): Statement; pragma(sql: string, options?: unknown): unknown };
  }
).databaseConnection;
if (values.synchronous !== 'default') database.pragma(`synchronous = ${values.synchronous}`);
if (values.autocheckpoint !== 'default') database.pragma(`wal_autocheckpoint = ${Number(values.autocheckpoint)}`);
const autocheckpoint = database.pragma('wal_autocheckpoint', { simple: true });
const synchronous = database.pragma('synchronous', { simple: true });
const journal = database.pragma('journal_mode', { simple: true });

// Times every COMMIT: the thread is blocked for exactly that long. TypeORM
// caches its statements per query runner: drop what the migrations cached.
for (const runner of [dataSource.driver as unknown as { queryRunner?: { stmtCache?: Map<string, unknown> } }]) {
  runner.queryRunner?.stmtCache?.clear();
}
const commitMs: number[] = [];
const prepare = database.prepare.bind(database);
database.prepare = (sql: string) => {
  const statement = prepare(sql);
  if (!/^\s*COMMIT/i.test(sql)) return statement;
  const run = statement.run.bind(statement);
  statement.run = (...args: unknown[]) => {
    const started = performance.now();
    try {
      return run(...args);
    } finally {
      commitMs.push(performance.now() - started);
    }
  };
  return statement;
};

const now = new Date();
const sender = await dataSource.manager.save(
  Object.assign(new User(), {
    username: 'stall',
    displayName: 'stall',
    displayNameLower: 'stall',
    passwordHash: 'x',
    createdAt: now,
    lastSeenAt: null,
  }),
);
const conversation = await dataSource.manager.save(
  Object.assign(new Conversation(), {
    kind: 'GROUP',
    title: 'stall',
    directKey: null,
    createdAt: now,
    activityPosition: 0,
    lastMessageId: null,
  }),
);
await dataSource.manager.insert(Membership, {
  conversationId: conversation.id,
  userId: sender.id,
  joinedAt: now,
  lastReadMessageId: null,
  role: 'OWNER',
});

const histogram = monitorEventLoopDelay({ resolution: 1 });
let stored = 0;
let stop = false;
const sendLoop = async () => {
  while (!stop) {
    const result = await storeMessage(dataSource, {
      conversationId: conversation.id,
      senderId: sender.id,
      body: `stall ${stored}`,
      clientMessageId: null,
    });
    if (!result) throw new Error('not stored');
    stored++;
  }
};
const started = performance.now();
histogram.enable();
const loops = Array.from({ length: SENDERS }, sendLoop);
await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
stop = true;
await Promise.all(loops);
histogram.disable();
const elapsed = (performance.now() - started) / 1000;
await walCheckpoints?.stop();
await dataSource.destroy();
rmSync(dir, { recursive: true, force: true });

const sorted = [...commitMs].sort((a, b) => a - b);
const quantile = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const ms = (ns: number) => Math.round(ns / 1e4) / 100;
const round = (value: number) => Math.round(value * 100) / 100;
const blocked = commitMs.reduce((sum, value) => sum + value, 0);
console.log(
  JSON.stringify({
    synchronous,
    journal,
    autocheckpoint,
    checkpoints: values.checkpoints,
    senders: SENDERS,
    seconds: round(elapsed),
    storedPerSecond: Math.round(stored / elapsed),
    commits: commitMs.length,
    sendsPerCommit: round(stored / Math.max(1, commitMs.length)),
    commitMs: { p50: round(quantile(0.5)), p99: round(quantile(0.99)), max: round(sorted.at(-1) ?? 0) },
    blockedInCommitPercent: round((blocked / (elapsed * 1000)) * 100),
    eventLoopDelayMs: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) },
  }),
);
