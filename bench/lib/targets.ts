// The four targets and how run.ts starts them: our server (src/main.ts) on
// SQLite or on MySQL + Redis, the naive reference and the ws ceiling, each a
// child process pinned to the server core, plus a private Redis.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { connect as connectTcp, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { rateLimitVariable } from '../../src/config.js';
import { RATE_LIMITED_ACTIONS } from '../../src/rateLimit.js';
import type { TargetKind } from './clients.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type TargetName = 'sqlite' | 'mysql' | 'naive' | 'ceiling';
export const TARGET_NAMES: TargetName[] = ['sqlite', 'mysql', 'naive', 'ceiling'];

export const TARGETS: Record<TargetName, { kind: TargetKind; ours: boolean; entry: string; label: string }> = {
  sqlite: { kind: 'graphql', ours: true, entry: 'src/main.ts', label: 'ours: SQLite, in-process pub/sub' },
  mysql: { kind: 'graphql', ours: true, entry: 'src/main.ts', label: 'ours: MySQL + Redis' },
  naive: { kind: 'graphql', ours: false, entry: 'bench/naive-server.ts', label: 'naive Yoga + graphql-ws + PubSub' },
  ceiling: { kind: 'ceiling', ours: false, entry: 'bench/ws-ceiling.ts', label: 'bare ws broadcast' },
};

export const JWT_SECRET = 'bench-secret-that-is-at-least-32-characters-long';

/** A rate rule ("burst,perSecond") no bench load reaches. */
const UNREACHABLE_RATE = '1000000000,1000000000';

/**
 * Settings the bench raises so the server is measured, not throttled: every
 * per-user, per-IP and per-socket rate limit the server knows of (the list is
 * read from the server's own code, so a new limit is raised too). The checks
 * still run, so their cost is measured. Override one with
 * --server-env RATE_LIMIT_SEND_MESSAGE=30,5 to measure with real limits.
 */
export const LOAD_ENV: Record<string, string> = Object.fromEntries(
  RATE_LIMITED_ACTIONS.map((action) => [rateLimitVariable(action), UNREACHABLE_RATE]),
);

/** Variables the shell may hold that must not leak into a target: the bench sets them per target. */
const TARGET_OWNED = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'SQLITE_PATH',
  'REDIS_URL',
  'REDIS_KEY_PREFIX',
  'NAIVE_HISTORY_MESSAGES',
];

/**
 * The one place that builds a server's environment, weakest first: the
 * inherited environment, the bench defaults, LOAD_ENV, BENCH_SERVER_<NAME>
 * variables of the shell (prefix stripped), --server-env NAME=VALUE flags,
 * and last what the target itself needs (port, database, Redis).
 */
export function serverEnvironment(
  cliPairs: string[],
  targetEnv: Record<string, string>,
): Record<string, string | undefined> {
  const inherited = { ...process.env };
  for (const name of TARGET_OWNED) delete inherited[name];
  const prefixed = Object.fromEntries(
    Object.entries(process.env)
      .filter(([name]) => name.startsWith('BENCH_SERVER_'))
      .map(([name, value]) => [name.slice('BENCH_SERVER_'.length), value]),
  );
  const flags = Object.fromEntries(
    cliPairs.map((pair) => {
      const equals = pair.indexOf('=');
      if (equals < 1) throw new Error(`--server-env expects NAME=VALUE, got ${pair}`);
      return [pair.slice(0, equals), pair.slice(equals + 1)];
    }),
  );
  return {
    ...inherited,
    HOST: '127.0.0.1',
    JWT_SECRET,
    LOG_LEVEL: 'warn',
    ...LOAD_ENV,
    ...prefixed,
    ...flags,
    ...targetEnv,
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export type Pinning = { enabled: boolean; serverCpu: string; generatorCpu: string };

/** The command to run `argv` on `cpu` (taskset), or unchanged when pinning is off. */
export function pinned(pinning: Pinning, cpu: string, argv: string[]): [string, string[]] {
  return pinning.enabled ? ['taskset', ['-c', cpu, ...argv]] : [argv[0]!, argv.slice(1)];
}

/** Pins this process (all its threads) to `cpu`. */
export function pinSelf(cpu: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpu, String(process.pid)], { stdio: 'ignore' });
}

export function tasksetAvailable(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export type RunningProcess = {
  pid: number;
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
};

function stopper(child: ChildProcess, graceMs: number): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
}

/** Starts a target pinned to the server core; ready when GET /health answers. Output goes to `logPath`. */
export async function startTarget(
  name: TargetName,
  env: Record<string, string | undefined>,
  pinning: Pinning,
  logPath: string,
  nodeArgs: string[] = [],
): Promise<RunningProcess> {
  const port = Number(env.PORT);
  const log = openSync(logPath, 'a');
  const [command, args] = pinned(pinning, pinning.serverCpu, [
    process.execPath,
    ...nodeArgs,
    '--import',
    'tsx',
    TARGETS[name].entry,
  ]);
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', log, log] });
  closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited early (code ${child.exitCode}); see ${logPath}`);
        return (await fetch(`${url}/health`)).ok;
      },
      `${name} on port ${port}`,
      60_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { pid: child.pid!, url, child, stop: stopper(child, 12_000) };
}

/** A private redis-server on a spare port, pinned to the server core. */
export async function startRedis(pinning: Pinning): Promise<RunningProcess> {
  const port = await freePort();
  const [command, args] = pinned(pinning, pinning.serverCpu, [
    'redis-server',
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  const child = spawn(command, args, { stdio: 'ignore' });
  await waitFor(
    () =>
      new Promise((resolve) => {
        const socket = connectTcp(port, '127.0.0.1', () => {
          socket.end();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
    'redis-server',
    15_000,
  );
  return { pid: child.pid!, url: `redis://127.0.0.1:${port}`, child, stop: stopper(child, 2_000) };
}

/** FLUSHALL on the bench's private Redis (never on one given with --redis-url). */
export function flushRedis(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connectTcp(Number(port), hostname, () => socket.write('*1\r\n$8\r\nFLUSHALL\r\n'));
    socket.once('data', () => {
      socket.end();
      resolve();
    });
    socket.once('error', reject);
  });
}
