// An embedded SQLite commit is acknowledged only once an fsync of the
// write-ahead log that started after it has returned, and that fsync runs off
// the event loop (src/db/walSync.ts): transaction() and writeAlone() resolve
// after it, and concurrent commits share one fsync.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/dataSource.js';
import { User } from '../src/db/entities/index.js';
import { transaction, writeAlone } from '../src/db/transaction.js';
import { syncCommitsWith, WalSync } from '../src/db/walSync.js';
import { createLogger } from '../src/logger.js';

type Connection = {
  prepare(sql: string): { get(): unknown };
  pragma(sql: string, options: { simple: true }): unknown;
  close(): void;
};
/** The driver itself, for a second connection that sees only what was committed. */
const Database = createRequire(import.meta.url)('better-sqlite3') as new (
  path: string,
  options: { readonly: boolean },
) => Connection;

/** A stand-in for the fsync that the test finishes by hand, recording what was committed when each one started. */
class HeldSyncs {
  readonly started: { release: () => void; seen: unknown }[] = [];
  constructor(private readonly observe: () => unknown = () => null) {}
  readonly sync = (): Promise<void> =>
    new Promise((release) => {
      this.started.push({ release: () => release(), seen: this.observe() });
    });
  releaseAll(): void {
    for (const held of this.started.splice(0)) held.release();
  }
}

const settled = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(() => (done = true));
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('WalSync', () => {
  it('resolves a caller only after an fsync that started after its call', async () => {
    const syncs = new HeldSyncs();
    const walSync = new WalSync('unused', syncs.sync);
    const first = walSync.durable();
    expect(syncs.started).toHaveLength(1);
    // Called while the first fsync runs: that one may have started before this commit.
    const second = walSync.durable();
    const third = walSync.durable();
    expect(syncs.started).toHaveLength(1);

    syncs.releaseAll();
    expect(await settled(first)).toBe(true);
    expect(await settled(second)).toBe(false);
    // The callers that waited share the one fsync started for them.
    expect(syncs.started).toHaveLength(1);
    syncs.releaseAll();
    expect(await settled(second)).toBe(true);
    expect(await settled(third)).toBe(true);
    expect(syncs.started).toHaveLength(0);
  });

  it('passes a failed fsync on to its callers, and starts afresh for the next', async () => {
    let fail = true;
    const walSync = new WalSync('unused', async () => {
      if (fail) throw new Error('EIO');
    });
    await expect(walSync.durable()).rejects.toThrow('EIO');
    fail = false;
    await expect(walSync.durable()).resolves.toBeUndefined();
  });

  it('syncs a real log file, held open until closed, and takes a log that does not exist yet as nothing to sync', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-sync-'));
    try {
      const missing = new WalSync(join(dir, 'missing-wal'));
      await expect(missing.durable()).resolves.toBeUndefined();
      writeFileSync(join(dir, 'missing-wal'), 'frames');
      // Created since: found now.
      await expect(missing.durable()).resolves.toBeUndefined();
      await missing.close();
      const wal = new WalSync(join(dir, 'wal'));
      writeFileSync(join(dir, 'wal'), 'frames');
      await Promise.all([wal.durable(), wal.durable(), wal.durable()]);
      await wal.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('commits of the embedded database', () => {
  let dir: string;
  let path: string;
  let dataSource: DataSource;
  let reader: Connection;
  const userCount = () => (reader.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wal-commits-'));
    path = join(dir, 'chat.sqlite');
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      JWT_SECRET: 'wal-sync-test-secret-long-enough-32',
      SQLITE_PATH: path,
    });
    dataSource = await openDatabase(config, createLogger(config));
    reader = new Database(path, { readonly: true });
  });
  afterAll(async () => {
    reader?.close();
    await dataSource?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const newUser = (name: string) => ({
    username: name,
    displayName: name,
    displayNameLower: name,
    passwordHash: 'x',
    createdAt: new Date(),
    lastSeenAt: null,
  });

  /** Puts the database's fsyncs in the test's hands; with the user count at that moment. */
  const holdSyncs = () => {
    const syncs = new HeldSyncs(userCount);
    syncCommitsWith(dataSource, new WalSync(`${path}-wal`, syncs.sync));
    return { syncs, before: userCount() };
  };

  it('commits without an fsync on the event loop: the connection runs synchronous = NORMAL', () => {
    const connection = (dataSource.driver as unknown as { databaseConnection: Connection }).databaseConnection;
    expect(connection.pragma('synchronous', { simple: true })).toBe(1);
  });

  it('keeps statement journals in memory (temp_store = MEMORY), and a statement failing halfway still undoes only itself', async () => {
    const connection = (dataSource.driver as unknown as { databaseConnection: Connection }).databaseConnection;
    expect(connection.pragma('temp_store', { simple: true })).toBe(2);

    const before = userCount();
    await transaction(dataSource, async (manager) => {
      await manager.insert(User, newUser('journal_kept'));
      // Its second row repeats a username: the statement fails after writing its first row.
      await expect(manager.insert(User, [newUser('journal_undone'), newUser('journal_kept')])).rejects.toThrow(
        /UNIQUE/,
      );
      await manager.insert(User, newUser('journal_after'));
    });
    const names = (await dataSource.manager.findBy(User, {})).map((user) => user.username);
    expect(userCount()).toBe(before + 2);
    expect(names).toEqual(expect.arrayContaining(['journal_kept', 'journal_after']));
    expect(names).not.toContain('journal_undone');
  });

  it('resolves transaction() and writeAlone() only after the log was synced, the commit already in it', async () => {
    const { syncs, before } = holdSyncs();

    for (const [index, write] of [transaction, writeAlone].entries()) {
      const written = write(dataSource, (manager) => manager.insert(User, newUser(`wal_${'ab'[index]}`)));
      await expect.poll(() => syncs.started.length).toBe(1);
      // The fsync started once the row was committed (another connection sees it), and the caller waits for it.
      expect(syncs.started[0]!.seen).toBe(before + index + 1);
      expect(await settled(written)).toBe(false);
      syncs.releaseAll();
      await written;
    }
  });

  it('lets the next transaction commit while the last one waits for its fsync, and covers both with the next', async () => {
    const { syncs, before } = holdSyncs();
    const first = transaction(dataSource, (manager) => manager.insert(User, newUser('wal_c')));
    await expect.poll(() => syncs.started.length).toBe(1);
    const second = transaction(dataSource, (manager) => manager.insert(User, newUser('wal_d')));
    const third = transaction(dataSource, (manager) => manager.insert(User, newUser('wal_e')));
    await expect.poll(() => userCount()).toBe(before + 3);
    expect(syncs.started).toHaveLength(1);

    syncs.releaseAll();
    await first;
    await expect.poll(() => syncs.started.length).toBe(1);
    expect(syncs.started[0]!.seen).toBe(before + 3);
    expect(await settled(Promise.all([second, third]))).toBe(false);
    syncs.releaseAll();
    await Promise.all([second, third]);
  });
});
