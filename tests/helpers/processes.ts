// Real server processes and a Redis of the test's own, for what an in-process
// server cannot show: several instances, SIGKILL, SIGTERM, a Redis restart.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect as connectTcp, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { dropMysqlDatabase, TEST_MYSQL_URL, UNLIMITED_RATES } from './server.js';
import { eventually } from './wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

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

/** How long a process gets to start answering. */
const STARTUP_TIMEOUT_MS = 30_000;

/** Polls `check` until it is true, an error counting as not yet (a starting server refuses connections). */
export function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = STARTUP_TIMEOUT_MS): Promise<void> {
  return eventually(() => check().catch(() => false), what, timeoutMs);
}

export type RedisServer = {
  url: string;
  port: number;
  /** Kills the server (SIGKILL): subscribers lose their connection. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  stop(): Promise<void>;
};

/** A redis-server on a spare port that the test may kill and restart. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const redis: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
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
      );
    },
    async kill() {
      if (!child) return;
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      child = null;
    },
    stop: () => redis.kill(),
  };
  await redis.start();
  return redis;
}

export type Instance = {
  url: string;
  graphqlUrl: string;
  process: ChildProcess;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  output(): string;
  kill(signal?: NodeJS.Signals): void;
};

export type InstanceOptions = {
  /** Listen here rather than on a free port (a restart behind a load balancer keeps its address). */
  port?: number;
  /** Run the compiled build (`npm run build:server`, dist/main.js) as production does, not the sources. */
  compiled?: boolean;
  /** How long it may take to answer /health (a loaded machine starts slowly). */
  startupTimeoutMs?: number;
};

/** A real server process (`node --import tsx src/main.ts`, or dist/main.js), ready when /health answers. */
export async function startInstance(env: Record<string, string>, options: InstanceOptions = {}): Promise<Instance> {
  const port = options.port ?? (await freePort());
  const entry = options.compiled ? ['--enable-source-maps', 'dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, entry, {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      JWT_SECRET: 'test-secret-that-is-at-least-32-characters-long',
      ...UNLIMITED_RATES,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`instance exited early:\n${output}`);
        return (await fetch(`${url}/health`)).ok;
      },
      `instance on port ${port}`,
      options.startupTimeoutMs,
    );
  } catch (error) {
    // Not left running when it never came up: nobody else holds its pid.
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    process: child,
    exited,
    output: () => output,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
  };
}

export type Cluster = {
  databaseUrl: string;
  redis: RedisServer;
  instances: Instance[];
  /** Starts one more instance on the shared database and Redis. */
  addInstance(env?: Record<string, string>): Promise<Instance>;
  stop(): Promise<void>;
};

/** Instances sharing one fresh MariaDB database and one private Redis. */
export async function startCluster(size: number, env: Record<string, string> = {}): Promise<Cluster> {
  const name = `chat_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const databaseUrl = `${TEST_MYSQL_URL}/${name}`;
  const redis = await startRedis();
  const instances: Instance[] = [];
  const cluster: Cluster = {
    databaseUrl,
    redis,
    instances,
    async addInstance(extra = {}) {
      const instance = await startInstance({
        DATABASE_URL: databaseUrl,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: `${name}:`,
        ...env,
        ...extra,
      });
      instances.push(instance);
      return instance;
    },
    async stop() {
      for (const instance of instances) instance.kill('SIGKILL');
      await Promise.all(instances.map((instance) => instance.exited));
      await redis.stop();
      await dropMysqlDatabase(name);
    },
  };
  // The first instance creates the database and runs migrations before the others start.
  try {
    for (let index = 0; index < size; index++) await cluster.addInstance();
  } catch (error) {
    await cluster.stop(); // what did start is not left running
    throw error;
  }
  return cluster;
}

export type Haproxy = {
  url: string;
  graphqlUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
};

/**
 * HAProxy with the configuration operators use (deploy/haproxy.cfg), in front
 * of `servers` (host:port, at most three, as that file lists), on a free port.
 * Stopped by its pid.
 */
export async function startHaproxy(servers: string[]): Promise<Haproxy> {
  const port = await freePort();
  const child = spawn('haproxy', ['-f', 'deploy/haproxy.cfg', '-db'], {
    cwd: ROOT,
    env: {
      ...process.env,
      CHAT_BIND: `127.0.0.1:${port}`,
      ...Object.fromEntries(servers.map((server, index) => [`CHAT_SERVER_${index + 1}`, server])),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`haproxy exited early:\n${output}`);
    return (await fetch(`${url}/health`)).ok;
  }, 'haproxy');
  return {
    url,
    graphqlUrl: `${url}/graphql`,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export type RedisCluster = {
  /** host:port of every node, for REDIS_CLUSTER_NODES. */
  nodes: string[];
  /** redis-cli against one node; its output. */
  cli(port: number, ...args: string[]): string;
  /** The port of the master that serves `key`'s slot now. */
  masterOf(key: string): number;
  /** SIGKILLs the node on `port`. */
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
};

/**
 * A Redis Cluster of three masters with one replica each on loopback
 * (`redis-server --cluster-enabled yes`, assembled by `redis-cli --cluster
 * create`), in a folder of its own; stopped by pid. Ready once every replica
 * has synced with its master; from then a master that stops answering is
 * replaced by its replica within seconds (node timeout 2 s).
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const directory = mkdtempSync(join(tmpdir(), 'chat-redis-cluster-'));
  const ports: number[] = [];
  for (let index = 0; index < 6; index++) ports.push(await freePort());
  const children = new Map<number, ChildProcess>();
  for (const port of ports) {
    // prettier-ignore
    children.set(port, spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000',
      '--save', '', '--appendonly', 'no', '--dir', directory,
      // A replica's first sync starts at once, not after Redis's default 5 s wait.
      '--repl-diskless-sync-delay', '0',
    ], { stdio: 'ignore' }));
  }
  const cli = (port: number, ...args: string[]) =>
    execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });
  const alive = () => ports.filter((port) => children.has(port));
  const healthy = async () =>
    alive().every((port) => {
      const info = cli(port, 'CLUSTER', 'INFO');
      return info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384');
    });
  // A replica that has never synced with its master refuses to take over from
  // it: a master killed before then is never replaced.
  const replicasSynced = () =>
    alive().every((port) => {
      const info = cli(port, 'INFO', 'replication');
      return !info.includes('role:slave') || info.includes('master_link_status:up');
    });
  try {
    for (const port of ports) await waitFor(async () => cli(port, 'PING').trim() === 'PONG', `redis node ${port}`);
    execFileSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { stdio: 'ignore' },
    );
    await waitFor(
      async () => (await healthy()) && replicasSynced(),
      'the redis cluster with its replicas in sync',
      60_000,
    );
  } catch (error) {
    for (const child of children.values()) child.kill('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  const cluster: RedisCluster = {
    nodes: ports.map((port) => `127.0.0.1:${port}`),
    cli,
    masterOf(key) {
      const slot = Number(cli(alive()[0]!, 'CLUSTER', 'KEYSLOT', key).trim());
      for (const line of cli(alive()[0]!, 'CLUSTER', 'NODES').trim().split('\n')) {
        const [, address, flags, , , , , , ...ranges] = line.split(' ');
        if (!flags!.includes('master') || flags!.includes('fail')) continue;
        for (const range of ranges) {
          const [low, high = low] = range.split('-').map(Number);
          if (slot >= low! && slot <= high!) return Number(address!.split('@')[0]!.split(':')[1]);
        }
      }
      throw new Error(`no master serves slot ${slot}`);
    },
    async kill(port) {
      const child = children.get(port);
      if (!child) return;
      children.delete(port);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      // The replica takes over once the others agree the node failed.
      const markedFailed = () =>
        alive().every((other) =>
          cli(other, 'CLUSTER', 'NODES')
            .split('\n')
            .some((line) => line.includes(`:${port}@`) && line.includes('fail') && !line.includes('fail?')),
        );
      await waitFor(async () => markedFailed() && (await healthy()), 'the redis cluster after a failover', 60_000);
    },
    async stop() {
      const exits = [...children.values()].map((child) => new Promise((resolve) => child.once('exit', resolve)));
      for (const child of children.values()) child.kill('SIGKILL');
      children.clear();
      await Promise.all(exits);
      rmSync(directory, { recursive: true, force: true });
    },
  };
  return cluster;
}
