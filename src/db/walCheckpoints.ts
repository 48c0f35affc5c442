// SQLite's write-ahead log is copied back into the database file (a
// checkpoint) by whichever commit finds 1,000 pages in it: 10-20 ms during
// which that commit, on the event loop (better-sqlite3 is synchronous), holds
// every socket and timer of the process. Those checkpoints were the p99
// stalls of the embedded server (docs/benchmarks.md, "Do SQLite commits stall
// the event loop?"). So the server's connection never checkpoints
// (`wal_autocheckpoint = 0`) and a worker thread with a connection of its own
// runs PASSIVE checkpoints, which copy what no reader still needs without
// waiting for, or blocking, the writer or the readers; SQLite restarts the log
// from its beginning once a checkpoint has copied all of it.
//
// Hand-written: this is SQLite's documented way to take checkpoints off the
// writing thread, and no library runs it for better-sqlite3.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { DataSource } from 'typeorm';
import type { Logger } from '../logger.js';

/** How often the worker checkpoints: the log grows by at most this much of the writes between two. */
export const CHECKPOINT_INTERVAL_MS = 250;

/** Runs in the worker (CommonJS, `eval`): a connection of its own, a PASSIVE checkpoint every interval. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const database = new Database(workerData.path, { fileMustExist: true });
database.pragma('synchronous = FULL');
const timer = setInterval(() => {
  try {
    database.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ failed: String(error && error.message) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  database.close();
  parentPort.close();
});
`;

export type WalCheckpoints = { stop(): Promise<void> };

/**
 * Moves the checkpoints of a SQLite database off the event loop, for as long
 * as the server runs. If the worker fails, the server's connection takes the
 * checkpoints back (the log would grow without bound otherwise).
 */
export function startWalCheckpoints(dataSource: DataSource, path: string, logger: Logger): WalCheckpoints {
  const connection = (dataSource.driver as unknown as { databaseConnection: { pragma(sql: string): unknown } })
    .databaseConnection;
  // Resolved here: an eval'd worker would resolve it from the working directory.
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path, driver, intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  worker.unref();
  let stopping = false;
  const takeBack = (reason: string) => {
    if (stopping || !dataSource.isInitialized) return;
    logger.warn({ reason }, 'WAL checkpoint worker failed: the server connection checkpoints again');
    connection.pragma('wal_autocheckpoint = 1000');
  };
  worker.on(
    'message',
    (message: { failed?: string }) => message.failed && logger.warn({ err: message.failed }, 'WAL checkpoint failed'),
  );
  worker.on('error', (error) => takeBack(error.message));
  worker.on('exit', (code) => takeBack(`exited with code ${code}`));
  connection.pragma('wal_autocheckpoint = 0');
  return {
    async stop() {
      stopping = true;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.ref(); // held until it has closed its connection
      worker.postMessage('stop');
      await exited;
    },
  };
}
