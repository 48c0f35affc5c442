// `npm run bench` / `npm run bench:smoke`: starts each target as a child
// process pinned to one core, runs the load generator pinned to the other,
// prints a table per scenario with our figures as ratios to the naive
// reference and the ws ceiling, and writes bench/results/<timestamp>.json.
//
//   tsx bench/run.ts [--smoke] [--scenario fanout,throughput,connections,history]
//                    [--targets sqlite,mysql,naive,ceiling] [size flags, see --help]
//
// Exits non-zero when a scenario failed on our server (loss, duplicates,
// errors, a crash) or when any target or scenario crashed.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import type { Job, ResultRow, ScenarioName, ScenarioSpec } from './generator.js';
import { BENCH_PASSWORD } from './lib/clients.js';
import { pidsNamed } from './lib/proc.js';
import {
  anyGoalMeasured,
  connectionGrowthTable,
  goalTable,
  issueGoals,
  markdownTable,
  medianRows,
  ratios,
  ratioTable,
  scenarioTable,
} from './lib/report.js';
import { summarizeProfile } from './profile-summary.js';
import {
  flushRedis,
  freePort,
  type Pinning,
  pinned,
  pinSelf,
  ROOT,
  type RunningProcess,
  serverEnvironment,
  startRedis,
  startTarget,
  TARGET_NAMES,
  type TargetName,
  TARGETS,
  tasksetAvailable,
} from './lib/targets.js';

const SCENARIOS: ScenarioName[] = ['fanout', 'throughput', 'connections', 'history'];
const HISTORY_TITLE = 'bench-history';
const HISTORY_USER = 'hist_a';

// ---------------------------------------------------------------- flags

type Sizes = {
  fanoutSubscribers: number;
  /** One fanout run per rate, lowest first. */
  fanoutRate: number[];
  fanoutSeconds: number;
  fanoutUsers: number;
  fanoutSend: 'ws' | 'http';
  pairs: number;
  inFlight: number;
  throughputSeconds: number;
  transports: ('http' | 'ws')[];
  /** One connections run per count, lowest first (a fresh server each in a full run). */
  sockets: number[];
  connectionUsers: number;
  connectionMessages: number;
  openConcurrency: number;
  historyMessages: number;
  historyPages: number;
  historyConcurrency: number;
  historySeconds: number;
  bodyBytes: number;
};

const FULL: Sizes = {
  fanoutSubscribers: 1000,
  fanoutRate: [2, 10, 40, 80],
  fanoutSeconds: 10,
  fanoutUsers: 20,
  fanoutSend: 'http',
  pairs: 20,
  inFlight: 4,
  throughputSeconds: 10,
  transports: ['http', 'ws'],
  sockets: [1000, 5000, 10000],
  connectionUsers: 20,
  connectionMessages: 3,
  openConcurrency: 100,
  historyMessages: 1_000_000,
  historyPages: 200,
  historyConcurrency: 8,
  historySeconds: 5,
  bodyBytes: 100,
};

const SMOKE: Sizes = {
  ...FULL,
  fanoutSubscribers: 20,
  fanoutRate: [20],
  fanoutSeconds: 0.5,
  fanoutUsers: 4,
  pairs: 2,
  inFlight: 2,
  throughputSeconds: 0.5,
  sockets: [50],
  connectionUsers: 4,
  connectionMessages: 1,
  historyMessages: 2_000,
  historyPages: 10,
  historyConcurrency: 2,
  historySeconds: 0.5,
};

const SIZE_FLAGS: Record<string, keyof Sizes> = {
  '--subscribers': 'fanoutSubscribers',
  '--rate': 'fanoutRate',
  '--fanout-seconds': 'fanoutSeconds',
  '--fanout-users': 'fanoutUsers',
  '--fanout-send': 'fanoutSend',
  '--pairs': 'pairs',
  '--in-flight': 'inFlight',
  '--throughput-seconds': 'throughputSeconds',
  '--transports': 'transports',
  '--sockets': 'sockets',
  '--connection-users': 'connectionUsers',
  '--connection-messages': 'connectionMessages',
  '--open-concurrency': 'openConcurrency',
  '--history-messages': 'historyMessages',
  '--history-pages': 'historyPages',
  '--history-concurrency': 'historyConcurrency',
  '--history-seconds': 'historySeconds',
  '--body-bytes': 'bodyBytes',
};

const HELP = `usage: tsx bench/run.ts [options]

  --smoke                 about 10 s: tiny sizes, one server per target, all side by side
                          (not a measurement), exit 1 on any failure
  --scenario LIST         fanout,throughput,connections,history (default: all)
  --targets LIST          sqlite,mysql,naive,ceiling (default: all)
  --mysql-url URL         MySQL/MariaDB server, no database (default mysql://root@127.0.0.1:3306)
  --history-db NAME       cached database of the history scenario (default chat_bench_history)
  --redis-url URL         use this Redis instead of a private redis-server
  --server-env NAME=VALUE extra server environment (repeatable; also BENCH_SERVER_<NAME>); with
                          it, the servers' logs are kept
  --server-node-arg FLAG  a node flag for the servers (repeatable), e.g. --trace-gc-nvp; their
                          logs, where V8 prints, are kept
  --no-pin                do not pin with taskset (--pin: pin in a smoke run too)
  --server-cpu N          core of the servers (default 0); --generator-cpu N (default 1)
  --keep-db               keep the per-run MySQL databases and SQLite files
  --profile               run the servers with node --cpu-prof and print a summary per unit
  --out DIR               results folder (default bench/results)
  --repeat N              run every unit N times, round after round; tables and targets show
                          each figure's median, the targets its [min–max] (default 1)

sizes (full / smoke defaults):
${Object.entries(SIZE_FLAGS)
  .map(([flag, key]) => `  ${flag.padEnd(24)}${String(FULL[key])} / ${String(SMOKE[key])}`)
  .join('\n')}
`;

type Options = {
  smoke: boolean;
  scenarios: ScenarioName[];
  targets: TargetName[];
  sizes: Sizes;
  mysqlUrl: string;
  historyDb: string;
  redisUrl: string | null;
  serverEnv: string[];
  serverNodeArgs: string[];
  pinning: Pinning;
  keepDb: boolean;
  profile: boolean;
  out: string;
  repeat: number;
};

function repeatOf(value: string | undefined): number {
  const repeat = Number(value ?? 1);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat takes a whole number of rounds, 1 or more');
  return repeat;
}

/**
 * The machine counts as busy when its load average is above this share of its
 * cores: other processes then take turns on the pinned cores, and the figures
 * measure them too. The report says so at its top.
 */
const BUSY_LOAD_PER_CORE = 0.75;

function parseOptions(argv: string[]): Options {
  const values = new Map<string, string[]>();
  const booleans = new Set(['--smoke', '--pin', '--no-pin', '--keep-db', '--profile', '--help']);
  for (let index = 0; index < argv.length; index++) {
    let flag = argv[index]!;
    let value: string | undefined;
    if (flag.includes('=') && flag.startsWith('--'))
      [flag, value] = [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)];
    if (booleans.has(flag)) {
      values.set(flag, ['true']);
      continue;
    }
    if (!flag.startsWith('--')) throw new Error(`unexpected argument ${flag}`);
    value ??= argv[++index];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    values.set(flag, [...(values.get(flag) ?? []), value]);
  }
  if (values.has('--help')) {
    console.log(HELP);
    process.exit(0);
  }
  const one = (flag: string) => values.get(flag)?.at(-1);
  const list = (flag: string) =>
    one(flag)
      ?.split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  const smoke = values.has('--smoke');
  const sizes: Sizes = { ...(smoke ? SMOKE : FULL) };
  for (const [flag, key] of Object.entries(SIZE_FLAGS)) {
    const value = one(flag);
    if (value === undefined) continue;
    if (key === 'transports') sizes.transports = list(flag) as ('http' | 'ws')[];
    else if (key === 'fanoutRate') {
      sizes.fanoutRate = list(flag)!
        .map(Number)
        .sort((a, b) => a - b);
      if (sizes.fanoutRate.some((rate) => !(rate > 0))) throw new Error('--rate takes positive numbers');
    } else if (key === 'sockets') {
      sizes.sockets = [...new Set(list(flag)!.map(Number))].sort((a, b) => a - b);
      if (!sizes.sockets.length || sizes.sockets.some((count) => !Number.isInteger(count) || count <= 0)) {
        throw new Error('--sockets takes positive whole numbers, e.g. 1000,5000,10000');
      }
    } else if (key === 'fanoutSend') sizes.fanoutSend = value as 'ws' | 'http';
    else {
      const number = Number(value);
      if (!Number.isFinite(number) || number <= 0) throw new Error(`${flag} needs a positive number`);
      (sizes as Record<string, unknown>)[key] = number;
    }
  }
  const known = new Set([
    ...Object.keys(SIZE_FLAGS),
    ...booleans,
    '--scenario',
    '--scenarios',
    '--targets',
    '--mysql-url',
    '--history-db',
    '--redis-url',
    '--server-env',
    '--server-node-arg',
    '--server-cpu',
    '--generator-cpu',
    '--out',
    '--repeat',
  ]);
  for (const flag of values.keys()) if (!known.has(flag)) throw new Error(`unknown flag ${flag}\n\n${HELP}`);
  const scenarios = (list('--scenario') ?? list('--scenarios') ?? SCENARIOS) as ScenarioName[];
  for (const scenario of scenarios) if (!SCENARIOS.includes(scenario)) throw new Error(`unknown scenario ${scenario}`);
  const targets = (list('--targets') ?? TARGET_NAMES) as TargetName[];
  for (const target of targets) if (!TARGET_NAMES.includes(target)) throw new Error(`unknown target ${target}`);
  if (sizes.transports.some((transport) => transport !== 'http' && transport !== 'ws')) {
    throw new Error('--transports takes http,ws');
  }
  // Smoke units run side by side and measure nothing: they are spread over every core unless --pin asks.
  const pin = (smoke ? values.has('--pin') : !values.has('--no-pin')) && cpus().length >= 2 && tasksetAvailable();
  return {
    smoke,
    scenarios,
    targets,
    sizes,
    mysqlUrl: (one('--mysql-url') ?? process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, ''),
    historyDb: one('--history-db') ?? 'chat_bench_history',
    redisUrl: one('--redis-url') ?? null,
    serverEnv: values.get('--server-env') ?? [],
    serverNodeArgs: values.get('--server-node-arg') ?? [],
    pinning: { enabled: pin, serverCpu: one('--server-cpu') ?? '0', generatorCpu: one('--generator-cpu') ?? '1' },
    keepDb: values.has('--keep-db'),
    profile: values.has('--profile'),
    out: one('--out') ?? join(ROOT, 'bench', 'results'),
    repeat: repeatOf(one('--repeat')),
  };
}

// ---------------------------------------------------------------- scenario specs

function specsFor(scenario: ScenarioName, sizes: Sizes): ScenarioSpec[] {
  if (scenario === 'fanout') return sizes.fanoutRate.map((rate) => ({ ...specFor(scenario, sizes), rate }));
  if (scenario === 'connections') {
    return sizes.sockets.map((sockets) => specFor(scenario, { ...sizes, sockets: [sockets] }));
  }
  return [specFor(scenario, sizes)];
}

function specFor(scenario: ScenarioName, sizes: Sizes): ScenarioSpec {
  switch (scenario) {
    case 'fanout':
      return {
        scenario,
        subscribers: sizes.fanoutSubscribers,
        rate: sizes.fanoutRate[0]!,
        seconds: sizes.fanoutSeconds,
        users: Math.min(sizes.fanoutUsers, sizes.fanoutSubscribers),
        sendOver: sizes.fanoutSend,
        bodyBytes: sizes.bodyBytes,
      };
    case 'throughput':
      return {
        scenario,
        pairs: sizes.pairs,
        inFlight: sizes.inFlight,
        seconds: sizes.throughputSeconds,
        transports: sizes.transports,
        bodyBytes: sizes.bodyBytes,
      };
    case 'connections':
      return {
        scenario,
        sockets: sizes.sockets[0]!,
        users: Math.min(sizes.connectionUsers, sizes.sockets[0]!),
        messages: sizes.connectionMessages,
        openConcurrency: sizes.openConcurrency,
      };
    case 'history':
      return {
        scenario,
        pages: sizes.historyPages,
        concurrency: sizes.historyConcurrency,
        seconds: sizes.historySeconds,
        pageSize: 50,
        expectedMessages: sizes.historyMessages,
        username: HISTORY_USER,
        password: BENCH_PASSWORD,
        title: HISTORY_TITLE,
      };
  }
}

const applies = (scenario: ScenarioName, target: TargetName) => !(scenario === 'history' && target === 'ceiling');

/** `sockets`: the one socket count of a connections unit (a full run's server measures one count). */
type Unit = { target: TargetName; scenarios: ScenarioName[]; sockets?: number };

/**
 * Full runs: a fresh server per scenario and target, scenario by scenario (the
 * targets compared close in time); connections also per socket count, count by
 * count, so each server's RSS grows from its start. Smoke: one server per target.
 */
function unitsOf(options: Options): Unit[] {
  if (options.smoke) {
    return options.targets
      .map((target) => ({ target, scenarios: options.scenarios.filter((scenario) => applies(scenario, target)) }))
      .filter((unit) => unit.scenarios.length > 0);
  }
  return options.scenarios.flatMap((scenario): Unit[] => {
    const targets = options.targets.filter((target) => applies(scenario, target));
    if (scenario === 'connections') {
      return options.sizes.sockets.flatMap((sockets) =>
        targets.map((target) => ({ target, scenarios: [scenario], sockets })),
      );
    }
    return targets.map((target) => ({ target, scenarios: [scenario] }));
  });
}

const unitName = (unit: Unit) => `${unit.scenarios.join('-')}${unit.sockets ? `-${unit.sockets}` : ''}`;

// ---------------------------------------------------------------- machine

function quiet(command: string, args: string[]): string | null {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], cwd: ROOT }).trim();
  } catch {
    return null;
  }
}

async function mysqlVersion(url: string): Promise<string | null> {
  try {
    const connection = await createConnection({ uri: url, connectTimeout: 3_000 });
    try {
      const [rows] = await connection.query('SELECT VERSION() AS version');
      return (rows as { version: string }[])[0]?.version ?? null;
    } finally {
      await connection.end();
    }
  } catch {
    return null;
  }
}

async function dropDatabase(url: string, name: string): Promise<void> {
  const connection = await createConnection({ uri: url });
  try {
    await connection.query(`DROP DATABASE IF EXISTS ${connection.escapeId(name)}`);
  } finally {
    await connection.end();
  }
}

// ---------------------------------------------------------------- main

const log = (line: string) => console.error(line);

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const runTag = `b${Date.now().toString(36).slice(-6)}`;
  const workDir = join(options.out, `${stamp}-logs`);
  const dataDir = join(ROOT, 'bench', '.data');
  mkdirSync(workDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  if (options.pinning.enabled) pinSelf(options.pinning.generatorCpu);

  const usesMysql = options.targets.includes('mysql');
  const meta = {
    date: started.toISOString(),
    mode: options.smoke ? 'smoke' : 'full',
    commit: quiet('git', ['rev-parse', 'HEAD']),
    dirty: (quiet('git', ['status', '--porcelain']) ?? '') !== '',
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
      mysql: usesMysql ? await mysqlVersion(options.mysqlUrl) : null,
      redis: usesMysql ? quiet('redis-server', ['--version']) : null,
      loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
    },
    pinning: options.pinning,
    nodeEnv: process.env.NODE_ENV ?? null,
    targets: options.targets,
    scenarios: options.scenarios,
    sizes: options.sizes,
  };
  log(
    `bench ${meta.mode}: ${options.targets.join(', ')} × ${options.scenarios.join(', ')}; ` +
      (options.pinning.enabled
        ? `servers on CPU ${options.pinning.serverCpu}, generator on CPU ${options.pinning.generatorCpu}`
        : 'not pinned'),
  );

  const running = new Set<RunningProcess>();
  const stopAll = async () => {
    await Promise.allSettled([...running].map((process) => process.stop()));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping servers`);
      void stopAll().then(() => process.exit(130));
    });
  }

  let redis: RunningProcess | null = null;
  const rows: ResultRow[] = [];
  const unitFailures: string[] = [];
  const serverWarnings: Record<string, number> = {};
  let keepLogs = false;
  try {
    let redisUrl = options.redisUrl;
    if (usesMysql && !redisUrl) {
      redis = await startRedis(options.pinning);
      running.add(redis);
      redisUrl = redis.url;
    }
    const units = unitsOf(options);
    const runUnit = async (unit: Unit, index: number) => {
      const label = `${unit.target}: ${unit.scenarios.join(', ')}${unit.sockets ? ` (${unit.sockets} sockets)` : ''}`;
      const log = (line: string) => console.error(options.smoke ? `${unit.target.padEnd(8)}${line.trimStart()}` : line);
      const round = options.repeat > 1 ? ` round ${Math.floor(index / units.length) + 1}/${options.repeat}` : '';
      log(`[${(index % units.length) + 1}/${units.length}${round}] ${label} (load ${loadavg()[0]!.toFixed(2)})`);
      const cleanups: (() => Promise<void> | void)[] = [];
      let server: RunningProcess | null = null;
      try {
        const historyOnly = unit.scenarios.length === 1 && unit.scenarios[0] === 'history' && !options.smoke;
        const wantsHistory = unit.scenarios.includes('history');
        const targetEnv: Record<string, string> = { PORT: String(await freePort()) };
        const { seedHistory } =
          wantsHistory && TARGETS[unit.target].ours ? await import('./seed-history.js') : { seedHistory: null };
        const seed = async (where: { databaseUrl?: string; sqlitePath?: string }) => {
          const result = await seedHistory!({
            ...where,
            count: options.sizes.historyMessages,
            log: (line) => log(`  ${line}`),
          });
          log(`  history: ${result.count} messages (added ${result.added} in ${result.seconds} s)`);
        };
        if (unit.target === 'sqlite') {
          if (historyOnly) {
            targetEnv.SQLITE_PATH = join(dataDir, 'history.sqlite');
          } else {
            const path = join(dataDir, `run-${runTag}-${index}.sqlite`);
            targetEnv.SQLITE_PATH = path;
            if (!options.keepDb) {
              cleanups.push(() => {
                for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
              });
            }
          }
          if (wantsHistory) await seed({ sqlitePath: targetEnv.SQLITE_PATH });
        } else if (unit.target === 'mysql') {
          const database = historyOnly ? options.historyDb : `chat_bench_${runTag}_${index}`;
          targetEnv.DATABASE_URL = `${options.mysqlUrl}/${database}`;
          targetEnv.REDIS_URL = redisUrl!;
          // Keys of one unit never meet another's: a prefix of its own, and the private Redis emptied.
          targetEnv.REDIS_KEY_PREFIX = `bench:${runTag}:${index}:`;
          if (redis) await flushRedis(redisUrl!);
          if (!historyOnly && !options.keepDb) cleanups.push(() => dropDatabase(options.mysqlUrl, database));
          if (wantsHistory) await seed({ databaseUrl: targetEnv.DATABASE_URL });
        } else if (unit.target === 'naive' && wantsHistory) {
          targetEnv.NAIVE_HISTORY_MESSAGES = String(options.sizes.historyMessages);
        }
        const logPath = join(workDir, `${index + 1}-${unit.target}-${unitName(unit)}.log`);
        const startedAt = Date.now();
        const profileDir = join(workDir, `${index + 1}-${unit.target}-profile`);
        server = await startTarget(
          unit.target,
          serverEnvironment(options.serverEnv, targetEnv),
          options.pinning,
          logPath,
          [
            ...(options.profile && unit.target !== 'ceiling' ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
            ...options.serverNodeArgs,
          ],
        );
        // Flags and extra environment (e.g. bench/allocation-sampling.mjs) make servers print what is asked of them.
        if (options.serverNodeArgs.length > 0 || options.serverEnv.length > 0) keepLogs = true;
        running.add(server);
        const readySeconds = (Date.now() - startedAt) / 1000;
        log(`  ${unit.target} ready in ${readySeconds.toFixed(1)} s`);
        const job: Job = {
          target: {
            name: unit.target,
            kind: TARGETS[unit.target].kind,
            url: server.url,
            pid: server.pid,
            dbPids: unit.target === 'mysql' ? pidsNamed('mariadbd', 'mysqld') : [],
            redisPids: unit.target === 'mysql' && redis ? [redis.pid] : [],
          },
          runTag: `${runTag}${index}`,
          strict: TARGETS[unit.target].ours,
          settleMs: options.smoke ? 100 : 500,
          scenarios: unit.scenarios.flatMap((scenario) =>
            specsFor(scenario, unit.sockets ? { ...options.sizes, sockets: [unit.sockets] } : options.sizes),
          ),
        };
        const unitRows = await runGenerator(job, options.pinning, join(workDir, `${index + 1}-${unit.target}`));
        rows.push(...unitRows);
        for (const row of unitRows) {
          const summary = row.failures.length ? `FAILED: ${row.failures.join('; ')}` : 'ok';
          log(`  ${row.scenario}${row.variant ? ` (${row.variant})` : ''}: ${summary} (${row.seconds ?? '?'} s)`);
        }
        await server.stop();
        running.delete(server);
        if (options.profile && existsSync(profileDir)) {
          // The main thread's profile (the other is the module loader's thread), without the start-up.
          for (const file of readdirSync(profileDir).filter((name) => name.endsWith('.001.cpuprofile'))) {
            const summary = summarizeProfile(join(profileDir, file), 30, Math.ceil(readySeconds));
            writeFileSync(join(profileDir, `${file}.txt`), `${summary}\n`);
            log(summary.replace(/^/gm, '    '));
          }
          keepLogs = true;
        }
        const output = readFileSync(logPath, 'utf8');
        const warnings = output.split('\n').filter((line) => /"level":(40|50|60)/.test(line)).length;
        if (warnings > 0) {
          serverWarnings[label] = warnings;
          log(`  server logged ${warnings} warnings/errors: ${logPath}`);
        }
      } catch (error) {
        const message = `${label}: ${(error as Error).message}`;
        unitFailures.push(message);
        log(`  FAILED ${message}`);
      } finally {
        if (server) {
          await server.stop();
          running.delete(server);
        }
        for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => undefined);
      }
    };
    // A smoke run checks that everything works, not how fast: its units run side by side.
    if (options.smoke) await Promise.all(units.map(runUnit));
    else {
      // Round after round: the targets of one round are measured close in time.
      for (let round = 0; round < options.repeat; round++) {
        for (const [index, unit] of units.entries()) await runUnit(unit, round * units.length + index);
      }
    }
  } finally {
    await stopAll();
  }

  // Grouped by target in the order given (a full run measures connections count by count, target by target).
  const measured = options.repeat > 1 ? medianRows(rows) : rows;
  measured.sort(
    (a, b) => options.targets.indexOf(a.target as TargetName) - options.targets.indexOf(b.target as TargetName),
  );
  const ratioList = ratios(measured);
  const goals = issueGoals(measured).sort((a, b) => a.goal - b.goal);
  const busyAt = [meta.machine.loadAverageAtStart[0]!, loadavg()[0]!].filter(
    (load) => load > BUSY_LOAD_PER_CORE * cpus().length,
  );
  const failures = [
    ...unitFailures,
    ...rows.flatMap((row) =>
      row.failures.map(
        (failure) => `${row.target} ${row.scenario}${row.variant ? ` (${row.variant})` : ''}: ${failure}`,
      ),
    ),
  ];
  const finished = new Date();
  const result = {
    meta: {
      ...meta,
      seconds: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
      loadAverageAtEnd: loadavg(),
    },
    results: rows,
    ...(options.repeat > 1 ? { medians: measured } : {}),
    busy: busyAt.length > 0,
    ratios: ratioList,
    goals,
    serverWarnings,
    failures,
  };
  mkdirSync(options.out, { recursive: true });
  const resultPath = join(options.out, `${stamp}.json`);
  writeFileSync(resultPath, JSON.stringify(result, null, 2));

  const sections: string[] = [];
  if (busyAt.length > 0) {
    sections.push(
      `**Busy machine**: load average ${meta.machine.loadAverageAtStart[0]} at the start and ${loadavg()[0]!.toFixed(2)} at the end on ${cpus().length} cores (more than ${BUSY_LOAD_PER_CORE} per core): other processes shared the pinned cores, so these figures measure them too. Compare ratios of one run only, and rerun on a quiet machine before drawing conclusions.`,
    );
  }
  if (options.repeat > 1) {
    sections.push(`Medians of ${options.repeat} rounds; the targets give each figure's [min–max] over the rounds.`);
  }
  sections.push(
    markdownTable(
      ['date', 'commit', 'machine', 'node', 'database', 'mode', 'load avg at start'],
      [
        [
          meta.date,
          `${meta.commit?.slice(0, 10) ?? '?'}${meta.dirty ? ' (dirty)' : ''}`,
          `${meta.machine.cpu}, ${meta.machine.cores} cores, ${meta.machine.memoryGB} GB`,
          meta.machine.node,
          meta.machine.mysql ?? '–',
          meta.mode,
          meta.machine.loadAverageAtStart.join(' '),
        ],
      ],
    ),
  );
  for (const scenario of options.scenarios) {
    const scenarioRows = measured.filter((row) => row.scenario === scenario);
    if (scenarioRows.length) sections.push(`### ${scenario}\n\n${scenarioTable(scenario, scenarioRows)}`);
    if (scenario === 'connections' && scenarioRows.length) {
      sections.push(`### connections: growth with the socket count\n\n${connectionGrowthTable(scenarioRows)}`);
    }
  }
  if (ratioList.length) sections.push(`### ours / reference\n\n${ratioTable(ratioList)}`);
  // A smoke run's sizes say nothing about the targets.
  if (options.smoke) sections.push('issue #11 targets: not checked in a smoke run.');
  else if (anyGoalMeasured(goals)) {
    sections.push(`### issue #11 targets\n\n${goalTable(goals)}`);
  } else if (goals.length) {
    sections.push('issue #11 targets not measured: they need every target (`npm run bench`).');
  }
  const report = sections.join('\n\n');
  writeFileSync(join(options.out, `${stamp}.md`), `${report}\n`);
  console.log(`\n${report}\n`);
  log(`results: ${resultPath} (took ${result.meta.seconds} s)`);
  if (failures.length) {
    log(`\n${failures.length} failure(s):\n  ${failures.join('\n  ')}`);
    return 1;
  }
  // Logs are kept when a server logged warnings (slow queries, errors) worth reading.
  if (!keepLogs && Object.keys(serverWarnings).length === 0) rmSync(workDir, { recursive: true, force: true });
  return 0;
}

async function runGenerator(job: Job, pinning: Pinning, prefix: string): Promise<ResultRow[]> {
  const jobPath = `${prefix}-job.json`;
  const resultPath = `${prefix}-result.json`;
  writeFileSync(jobPath, JSON.stringify(job, null, 2));
  const [command, args] = pinned(pinning, pinning.generatorCpu, [
    process.execPath,
    '--import',
    'tsx',
    join('bench', 'generator.ts'),
    jobPath,
    resultPath,
  ]);
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`generator exited with code ${code}`);
  return JSON.parse(readFileSync(resultPath, 'utf8')) as ResultRow[];
}

/**
 * The search scenario (issue #16) is bench/search.ts, with its own seed, servers
 * and tables: `--scenario search` runs it alone (its flags: `tsx bench/search.ts`),
 * and a run of every scenario runs it last.
 */
async function mainWithSearch(): Promise<number> {
  const argv = process.argv.slice(2);
  const flag = argv.findIndex((arg) => arg === '--scenario' || arg === '--scenarios');
  const listed = flag >= 0 ? argv[flag + 1]!.split(',') : null;
  const search = listed === null || listed.includes('search');
  const others = listed?.filter((scenario) => scenario !== 'search') ?? null;
  let code = 0;
  if (others === null || others.length > 0) {
    code = await main(others === null ? argv : argv.map((arg, index) => (index === flag + 1 ? others.join(',') : arg)));
  }
  if (search) {
    const { runSearchBench, searchBenchOptions } = await import('./search.js');
    const report = await runSearchBench(searchBenchOptions(others?.length ? [] : argv, argv.includes('--smoke')));
    console.log(`\n### search\n\n${report}\n`);
  }
  return code;
}

mainWithSearch().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error((error as Error).stack ?? error);
    process.exit(1);
  },
);
