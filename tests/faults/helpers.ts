// What the fault tests share: a MariaDB of their own that a test may stop and
// start (the shared one on 3306 serves other people's tests), GraphQL calls
// with a deadline, and the checks that an error reveals nothing.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { freePort } from '../helpers/processes.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Rejects naming `what` when `promise` has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export type Answer = { status: number; body: any; text: string; ms: number };

/** One GraphQL request over HTTP that gives up after `timeoutMs` (a hang is a failure, not a slow answer). */
export async function timedGql(
  graphqlUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
  timeoutMs = 10_000,
): Promise<Answer> {
  const started = Date.now();
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, ms: Date.now() - started };
}

/** Internals a client must never see: stack frames, file paths, the ORM, the driver, SQL, connection details. */
export const LEAKS: [string, RegExp][] = [
  ['a stack frame', /\bat\s+[\w$.<>[\] ]+\s\(|\bat\s+(?:file:|\/|node:)|\n\s+at\s/],
  ['a file path', /(?:^|[\s"'(])(?:\/[\w.@-]+){2,}|[A-Za-z]:\\|\.(?:ts|js|mjs|cjs):\d+|node_modules|file:\/\//],
  [
    'the ORM or the driver',
    /typeorm|QueryFailedError|better-sqlite|sqlite|mysql|mariadb|\bER_[A-Z_]{3,}|\berrno\b|sqlState|sqlMessage/i,
  ],
  ['SQL', /\b(?:select\s[\s\S]*\bfrom\b|insert\s+into\b|update\s+[`"\w]+\s+set\b|delete\s+from\b)|`\w+`\.`\w+`/i],
  [
    'connection details',
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|PROTOCOL_CONNECTION_LOST|connect\s+E|\b\d{1,3}(?:\.\d{1,3}){3}:\d+|Pool is closed|Connection lost/i,
  ],
];

/** What in `text` reveals internals. */
export function leaksIn(text: string): string[] {
  return LEAKS.filter(([, pattern]) => pattern.test(text)).map(
    ([what, pattern]) => `reveals ${what} (${JSON.stringify(pattern.exec(text)![0].slice(0, 60))})`,
  );
}

/** What is wrong with an answer that must be a masked internal error (the database is down). */
export function maskedErrorProblems(answer: Answer): string[] {
  const problems: string[] = [];
  if (answer.body === undefined)
    return [`HTTP ${answer.status} with a body that is not JSON: ${answer.text.slice(0, 200)}`];
  const errors: any[] = Array.isArray(answer.body.errors) ? answer.body.errors : [];
  if (errors.length === 0) problems.push(`no error: ${answer.text.slice(0, 200)}`);
  for (const error of errors) {
    if (error?.message !== 'Unexpected error.' || error?.extensions?.code !== 'INTERNAL_SERVER_ERROR') {
      problems.push(`not the masked error: ${JSON.stringify(error).slice(0, 300)}`);
    }
  }
  problems.push(...leaksIn(answer.text));
  return problems;
}

export type PrivateMariadb = {
  /** mysql://root@127.0.0.1:<port>, without a database. */
  url: string;
  port: number;
  running(): boolean;
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>;
  /** Starts mariadbd again on the same data directory and port; resolves once it answers. */
  start(): Promise<void>;
  /** Kills it if running and removes its data directory. */
  destroy(): Promise<void>;
  /** The end of its error log, for failure messages. */
  log(): string;
};

const MARIADBD = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld'].find((path) => existsSync(path)) ?? 'mariadbd';

/**
 * A MariaDB server of the test's own: a fresh data directory in a temp folder,
 * a spare port, root with no password on 127.0.0.1. Other people's tests use
 * the shared server on 3306 concurrently; this one can be stopped at will.
 */
export async function startPrivateMariadb(): Promise<PrivateMariadb> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-faults-mariadb-'));
  const datadir = join(dir, 'data');
  const errorLog = join(dir, 'error.log');
  const installer = ['mariadb-install-db', 'mysql_install_db'].find(
    (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0,
  );
  if (!installer) throw new Error('neither mariadb-install-db nor mysql_install_db is installed');
  const install = spawnSync(
    installer,
    [
      '--no-defaults',
      `--datadir=${datadir}`,
      '--auth-root-authentication-method=normal',
      '--user=root',
      '--skip-test-db',
      '--skip-name-resolve',
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (install.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${installer} failed (${install.status}):\n${install.stdout}\n${install.stderr}`);
  }
  const port = await freePort();
  const url = `mysql://root@127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const answers = async () => {
    const connection = await createConnection({ uri: url, connectTimeout: 2_000 });
    try {
      await connection.query('SELECT 1');
      return true;
    } finally {
      await connection.end().catch(() => undefined);
    }
  };

  const server: PrivateMariadb = {
    url,
    port,
    running: () => child !== null,
    async start() {
      if (child) return;
      const started = spawn(
        MARIADBD,
        [
          '--no-defaults',
          `--datadir=${datadir}`,
          `--port=${port}`,
          `--socket=${join(dir, 'mysqld.sock')}`,
          `--pid-file=${join(dir, 'mysqld.pid')}`,
          `--log-error=${errorLog}`,
          `--tmpdir=${dir}`,
          '--bind-address=127.0.0.1',
          '--user=root',
          '--skip-name-resolve',
          '--innodb-buffer-pool-size=32M',
        ],
        { stdio: 'ignore' },
      );
      child = started;
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      void exited.then(() => {
        if (child === started) child = null;
      });
      try {
        await eventually(
          async () => {
            if (child !== started) throw new Error(`mariadbd exited at start:\n${server.log()}`);
            return answers();
          },
          `the private MariaDB on port ${port}`,
          60_000,
          200,
        );
      } catch (error) {
        started.kill('SIGKILL');
        throw error;
      }
    },
    async stop() {
      if (!child) return;
      const stopping = exited;
      child.kill('SIGTERM');
      await withDeadline(stopping, 60_000, 'mariadbd to shut down after SIGTERM');
    },
    async destroy() {
      if (child) {
        const stopping = exited;
        child.kill('SIGKILL');
        await stopping;
      }
      rmSync(dir, { recursive: true, force: true });
    },
    log() {
      try {
        return readFileSync(errorLog, 'utf8').split('\n').slice(-20).join('\n');
      } catch {
        return '(no error log)';
      }
    },
  };
  try {
    await server.start();
  } catch (error) {
    await server.destroy();
    throw error;
  }
  return server;
}

/** The HTTP status of a GET, or 'unreachable'. */
export async function statusOf(url: string, timeoutMs = 10_000): Promise<number | 'unreachable'> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 'unreachable';
  }
}
