// The production start against the development one, measured: time from
// spawning the process until /health answers, and resident memory per socket
// (sockets with one messageEvents subscription each), for
//   development: node --import tsx src/main.ts   (what `tsx src/main.ts` runs)
//   production:  node --enable-source-maps dist/main.js   (`NODE_ENV=production npm start`)
// Both on one SQLite file, migrated by a first start that is not counted.
// `npm run build:server` first; run with `tsx bench/production-start.ts [--runs 5] [--sockets 2000]`.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { graphqlClient } from './lib/clients.js';
import { rssBytes } from './lib/proc.js';
import { freePort, JWT_SECRET, LOAD_ENV, ROOT } from './lib/targets.js';

const { values: flags } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, sockets: { type: 'string', default: '2000' } },
});
const RUNS = Number(flags.runs);
const SOCKETS = Number(flags.sockets);

const MODES = {
  development: ['--import', 'tsx', 'src/main.ts'],
  production: ['--enable-source-maps', 'dist/main.js'],
} as const;
type Mode = keyof typeof MODES;

const directory = mkdtempSync(join(tmpdir(), 'chat-start-'));
const sqlitePath = join(directory, 'chat.sqlite');

async function start(mode: Mode): Promise<{ child: ChildProcess; url: string; startMs: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, MODES[mode], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...LOAD_ENV,
      NODE_ENV: 'production',
      JWT_SECRET,
      HOST: '127.0.0.1',
      PORT: String(port),
      SQLITE_PATH: sqlitePath,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${mode} server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { child, url, startMs: performance.now() - started };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function socketCost(mode: Mode): Promise<{ idleRssMb: number; perSocketKb: number }> {
  const { child, url } = await start(mode);
  const client = graphqlClient(url);
  try {
    const users = await client.users(20, `${mode.slice(0, 4)}_${Date.now().toString(36)}`);
    const group = await client.group(users[0]!, users.slice(1), 'sockets');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const before = rssBytes(child.pid!)!;
    const sockets = [];
    const live = new Set<number>();
    let closing = false;
    for (let index = 0; index < SOCKETS; index++) {
      const socket = await client.socket(users[index % users.length]!);
      socket.listen(
        group,
        () => live.add(index),
        (error) => closing || console.error(error),
      );
      sockets.push(socket);
    }
    // Every subscription is live once a probe reached it (graphql-ws does not confirm one).
    while (live.size < SOCKETS) {
      await client.sendHttp(users[0]!, group, 'probe');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const after = rssBytes(child.pid!)!;
    closing = true;
    for (const socket of sockets) socket.close();
    return { idleRssMb: before / 2 ** 20, perSocketKb: (after - before) / SOCKETS / 1024 };
  } finally {
    client.close();
    await stop(child);
  }
}

try {
  await stop((await start('development')).child); // migrates the database
  const startMs: Record<Mode, number[]> = { development: [], production: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const mode of Object.keys(MODES) as Mode[]) {
      const { child, startMs: ms } = await start(mode);
      startMs[mode].push(ms);
      await stop(child);
    }
  }
  const rows = [];
  for (const mode of Object.keys(MODES) as Mode[]) {
    const cost = await socketCost(mode);
    rows.push(
      `| ${mode} | \`node ${MODES[mode].join(' ')}\` | ${median(startMs[mode]).toFixed(0)} | ${Math.min(...startMs[mode]).toFixed(0)} | ${cost.idleRssMb.toFixed(1)} | ${cost.perSocketKb.toFixed(1)} |`,
    );
  }
  process.stdout.write(
    [
      `${RUNS} starts each, ${SOCKETS} sockets with one subscription each`,
      '',
      '| start | command | start to /health, median ms | fastest ms | RSS before sockets, MB | RSS per socket, KB |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  rmSync(directory, { recursive: true, force: true });
}
