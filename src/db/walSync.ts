// An embedded SQLite commit is on disk before anyone is told it happened, yet
// its fsync no longer holds the event loop. Under `synchronous = FULL` every
// COMMIT fsynced the write-ahead log inside better-sqlite3's synchronous call,
// 0.5-3 ms each in bench/sqlite-commit-stall.ts, during which no socket, timer
// or request of the process ran (docs/benchmarks.md, "Do SQLite commits stall
// the event loop?"). Now the connection commits under `synchronous = NORMAL`
// (frames written to the log, no fsync) and transaction() (db/transaction.ts)
// then waits here for an fsync of the log file on libuv's thread pool. A
// commit is acknowledged only once that fsync, started after it, has
// returned: FULL's durability, with the wait off the thread. Meanwhile later
// transactions commit, and one fsync covers all of them (group commit, as
// MySQL does it). Like InnoDB, a commit is visible to readers a moment before
// it is durable.
//
// Crash safety is SQLite's own: NORMAL keeps the database consistent through a
// power loss, and the checkpoints (db/walCheckpoints.ts) run under FULL, so the
// log is synced before it is copied and the database file after.
//
// Hand-written: SQLite has no asynchronous commit, and no library splits
// better-sqlite3's commit from its fsync.
import { type FileHandle, open } from 'node:fs/promises';
import type { DataSource } from 'typeorm';

/** The file at `path` opened for fsync; null while it does not exist (no commit has written the log yet). */
async function openIfExists(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The fsyncs of one database's write-ahead log: at most one running, and one queued behind it for every later caller. */
export class WalSync {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  /**
   * Held open: opening and closing it around each fsync cost the event loop
   * more than the fsync itself. SQLite keeps the log file (the same inode)
   * for as long as the server's connection is open; close() follows it.
   */
  private file: FileHandle | null = null;

  constructor(
    private readonly walPath: string,
    /** Stands in for the fsync of the log (tests); null: the real one. */
    private readonly syncLog: (() => Promise<void>) | null = null,
  ) {}

  /** Resolves once everything committed before the call is on disk: after an fsync that started after it. */
  durable(): Promise<void> {
    if (!this.running) return this.start();
    // The running fsync may have started before this caller's commit: wait for the next one.
    this.queued ??= this.running.then(
      () => this.startQueued(),
      () => this.startQueued(),
    );
    return this.queued;
  }

  /** Closes the log file, once the connection that writes it is closed. */
  async close(): Promise<void> {
    await Promise.allSettled([this.running, this.queued]);
    const file = this.file;
    this.file = null;
    await file?.close();
  }

  private startQueued(): Promise<void> {
    this.queued = null;
    return this.start();
  }

  private start(): Promise<void> {
    const running = this.fsync().finally(() => {
      if (this.running === running) this.running = null;
    });
    this.running = running;
    return running;
  }

  /** One at a time (durable() runs no two at once), so the file is opened once. */
  private async fsync(): Promise<void> {
    if (this.syncLog) return this.syncLog();
    this.file ??= await openIfExists(this.walPath);
    await this.file?.sync();
  }
}

const walSyncs = new WeakMap<DataSource, WalSync>();

/** Makes `dataSource`'s commits wait for `walSync` (db/dataSource.ts, for a SQLite file). */
export function syncCommitsWith(dataSource: DataSource, walSync: WalSync): void {
  walSyncs.set(dataSource, walSync);
}

/** Resolves once `dataSource`'s commits so far are on disk; at once where commits are durable by themselves (MySQL). */
export function commitsDurable(dataSource: DataSource): Promise<void> {
  return walSyncs.get(dataSource)?.durable() ?? Promise.resolve();
}
