import type { DataSource, EntityManager } from 'typeorm';
import { commitsDurable } from './walSync.js';

/** MySQL error numbers a transaction is retried on: the work is safe to run again. */
const RETRYABLE_MYSQL_ERRORS = new Set([1213 /* deadlock */, 1205 /* lock wait timeout */]);
const MAX_ATTEMPTS = 3;

// TypeORM's SQLite drivers share one connection between all query runners, so
// two transactions open at once would interleave their statements, and a read
// would see another transaction's uncommitted rows (typeorm/typeorm#1884).
// SQLite runs one writer at a time anyway: queue such work per data source.
const sqliteQueues = new WeakMap<DataSource, Promise<unknown>>();

function isSqlite(dataSource: DataSource): boolean {
  return dataSource.options.type === 'better-sqlite3';
}

function enqueue<T>(dataSource: DataSource, run: () => Promise<T>): Promise<T> {
  const result = (sqliteQueues.get(dataSource) ?? Promise.resolve()).then(run);
  sqliteQueues.set(
    dataSource,
    result.catch(() => undefined),
  );
  return result;
}

function isRetryable(error: unknown): boolean {
  const errno = (error as { driverError?: { errno?: number } }).driverError?.errno;
  return errno !== undefined && RETRYABLE_MYSQL_ERRORS.has(errno);
}

/**
 * Runs `work` in one transaction: all of it commits, or none. Resolves once
 * the commit is on disk: on SQLite, after an fsync off the event loop
 * (db/walSync.ts), while the next transaction in the queue already runs.
 */
export async function transaction<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  if (isSqlite(dataSource)) {
    const result = await enqueue(dataSource, () => dataSource.transaction(work));
    await commitsDurable(dataSource);
    return result;
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await dataSource.transaction(work);
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
    }
  }
}

/**
 * Runs a single-statement write outside any transaction. On SQLite every
 * query shares one connection, so a write issued while another transaction is
 * open would join it (and roll back with it): it waits its turn, and its
 * commit is on disk when it resolves, as with transaction().
 */
export function writeAlone<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  return isSqlite(dataSource) ? transaction(dataSource, work) : work(dataSource.manager);
}

/** Runs a read that must see only committed rows (live delivery publishes only what is committed). */
export function readCommitted<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  return isSqlite(dataSource) ? enqueue(dataSource, () => work(dataSource.manager)) : work(dataSource.manager);
}

/** True when `error` is a unique-key violation on either driver. */
export function isUniqueViolation(error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: string; errno?: number } }).driverError;
  return (
    driverError?.errno === 1062 ||
    driverError?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    driverError?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}
