// Tables (Markdown, readable in a terminal too) and the ratios of our figures
// to the naive reference and the ws ceiling.
import type { ResultRow } from '../generator.js';
import { round } from './stats.js';
import { TARGETS, type TargetName } from './targets.js';

type Column = { title: string; value: (row: ResultRow) => unknown };

const metric =
  (name: string) =>
  (row: ResultRow): unknown =>
    row.metrics[name];
const flags = (row: ResultRow) =>
  [...row.failures.map((failure) => `FAIL ${failure.split('\n')[0]}`), ...row.warnings].join('; ') || '';

function format(value: unknown): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '–';
    if (Number.isInteger(value)) return String(value);
    if (Math.abs(value) >= 100) return String(Math.round(value));
    if (Math.abs(value) >= 10) return value.toFixed(1);
    return String(round(value, 2));
  }
  return String(value);
}

export function markdownTable(headers: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const lines = [
    `| ${headers.map(escape).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ];
  return lines.join('\n');
}

const COLUMNS: Record<string, Column[]> = {
  fanout: [
    { title: 'target', value: (row) => row.target },
    { title: 'subs', value: metric('subscribers') },
    { title: 'msg/s', value: (row) => row.params.rate },
    { title: 'offered deliv/s', value: metric('offeredDeliveriesPerSec') },
    { title: 'deliv/s', value: metric('deliveriesPerSec') },
    { title: 'server CPU µs/deliv', value: metric('serverCpuMicrosPerDelivery') },
    { title: 'p50 ms', value: metric('p50') },
    { title: 'p95 ms', value: metric('p95') },
    { title: 'p99 ms', value: metric('p99') },
    { title: 'max ms', value: metric('max') },
    { title: 'loss', value: metric('loss') },
    { title: 'dup', value: metric('duplicates') },
    { title: 'server CPU %', value: (row) => row.window?.serverCpu },
    { title: 'db CPU %', value: (row) => row.window?.dbCpu },
    { title: 'gen CPU %', value: (row) => row.window?.generatorCpu },
    { title: '/health max ms', value: (row) => row.window?.healthMaxMs },
    { title: 'notes', value: flags },
  ],
  throughput: [
    { title: 'target', value: (row) => row.target },
    { title: 'via', value: (row) => row.variant },
    { title: 'pairs×C', value: (row) => `${row.metrics.pairs}×${row.params.inFlight}` },
    { title: 'stored/s', value: metric('storedPerSec') },
    { title: 'delivered/s', value: metric('deliveredPerSec') },
    { title: 'server CPU µs/msg', value: metric('serverCpuMicrosPerMessage') },
    { title: 'send p50 ms', value: metric('sendP50') },
    { title: 'send p99 ms', value: metric('sendP99') },
    { title: 'deliver p50 ms', value: metric('p50') },
    { title: 'deliver p99 ms', value: metric('p99') },
    { title: 'loss', value: metric('loss') },
    { title: 'server CPU %', value: (row) => row.window?.serverCpu },
    { title: 'db CPU %', value: (row) => row.window?.dbCpu },
    { title: 'gen CPU %', value: (row) => row.window?.generatorCpu },
    { title: '/health p99 ms', value: (row) => row.window?.healthP99Ms },
    { title: 'notes', value: flags },
  ],
  connections: [
    { title: 'target', value: (row) => row.target },
    { title: 'sockets', value: metric('sockets') },
    { title: 'open+ack s', value: metric('ackSeconds') },
    { title: 'all live s', value: metric('liveSeconds') },
    { title: 'RSS before MB', value: metric('rssBeforeMB') },
    { title: 'RSS/socket KB', value: metric('rssPerSocketKB') },
    { title: 'to-all p50 ms', value: metric('toAllP50') },
    { title: 'to-all p99 ms', value: metric('toAllP99') },
    { title: 'to-all max ms', value: metric('toAllMax') },
    { title: 'loss', value: metric('loss') },
    { title: 'server CPU % (open)', value: metric('openServerCpu') },
    { title: 'gen CPU % (open)', value: metric('openGeneratorCpu') },
    { title: 'notes', value: flags },
  ],
  history: [
    { title: 'target', value: (row) => row.target },
    { title: 'messages', value: metric('messages') },
    { title: 'newest p50 ms', value: metric('newestP50') },
    { title: 'deep pages', value: metric('deepPages') },
    { title: 'mean depth', value: metric('meanDepth') },
    { title: 'deep p50 ms', value: metric('p50') },
    { title: 'deep p95 ms', value: metric('p95') },
    { title: 'deep p99 ms', value: metric('p99') },
    { title: 'deep server p50 ms', value: metric('serverP50') },
    { title: 'deep server p99 ms', value: metric('serverP99') },
    { title: 'pages/s', value: (row) => `${format(row.metrics.pagesPerSec)} (×${row.params.concurrency})` },
    { title: 'conc p99 ms', value: metric('concurrentP99') },
    { title: 'server CPU %', value: metric('concurrentServerCpu') },
    { title: 'db CPU %', value: metric('concurrentDbCpu') },
    { title: 'gen CPU %', value: (row) => row.window?.generatorCpu },
    { title: 'notes', value: flags },
  ],
};

export function scenarioTable(scenario: string, rows: ResultRow[]): string {
  const columns = COLUMNS[scenario] ?? [];
  return markdownTable(
    columns.map((column) => column.title),
    rows.map((row) => columns.map((column) => format(column.value(row)))),
  );
}

/** Metrics compared, with which way is better. */
const RATIO_METRICS: Record<string, { name: string; label: string; higherIsBetter: boolean }[]> = {
  fanout: [
    { name: 'deliveriesPerSec', label: 'deliveries/s', higherIsBetter: true },
    { name: 'serverCpuMicrosPerDelivery', label: 'server CPU per delivery', higherIsBetter: false },
    { name: 'p50', label: 'p50', higherIsBetter: false },
    { name: 'p99', label: 'p99', higherIsBetter: false },
  ],
  throughput: [
    { name: 'storedPerSec', label: 'stored/s', higherIsBetter: true },
    { name: 'serverCpuMicrosPerMessage', label: 'server CPU per message', higherIsBetter: false },
    { name: 'p50', label: 'deliver p50', higherIsBetter: false },
    { name: 'p99', label: 'deliver p99', higherIsBetter: false },
  ],
  connections: [
    { name: 'rssPerSocketKB', label: 'RSS/socket', higherIsBetter: false },
    { name: 'liveSeconds', label: 'time to open', higherIsBetter: false },
    { name: 'toAllP99', label: 'to-all p99', higherIsBetter: false },
  ],
  history: [
    { name: 'p50', label: 'deep p50', higherIsBetter: false },
    { name: 'pagesPerSec', label: 'pages/s', higherIsBetter: true },
  ],
};

export type Ratio = {
  scenario: string;
  variant?: string;
  target: string;
  reference: string;
  metric: string;
  ours: number;
  theirs: number;
  /** ours / theirs. */
  ratio: number;
  higherIsBetter: boolean;
};

export function ratios(rows: ResultRow[]): Ratio[] {
  const result: Ratio[] = [];
  for (const row of rows) {
    if (!TARGETS[row.target as TargetName]?.ours) continue;
    for (const reference of ['naive', 'ceiling']) {
      const other = rows.find(
        (candidate) =>
          candidate.target === reference && candidate.scenario === row.scenario && candidate.variant === row.variant,
      );
      if (!other) continue;
      for (const { name, label, higherIsBetter } of RATIO_METRICS[row.scenario] ?? []) {
        const ours = row.metrics[name];
        const theirs = other.metrics[name];
        if (typeof ours !== 'number' || typeof theirs !== 'number' || !theirs || !Number.isFinite(ours)) continue;
        result.push({
          scenario: row.scenario,
          variant: row.variant,
          target: row.target,
          reference,
          metric: label,
          ours,
          theirs,
          ratio: Number((ours / theirs).toPrecision(3)),
          higherIsBetter,
        });
      }
    }
  }
  return result;
}

/** One row per scenario and metric, one column per pair (ours / reference): ours ÷ theirs. */
export function ratioTable(list: Ratio[]): string {
  const pairs = [...new Set(list.map((ratio) => `${ratio.target} / ${ratio.reference}`))];
  const rows = new Map<string, Map<string, number>>();
  for (const ratio of list) {
    const scenario = ratio.variant ? `${ratio.scenario} (${ratio.variant})` : ratio.scenario;
    const key = `${scenario}\u0000${ratio.metric} (${ratio.higherIsBetter ? 'higher' : 'lower'} is better)`;
    if (!rows.has(key)) rows.set(key, new Map());
    rows.get(key)!.set(`${ratio.target} / ${ratio.reference}`, ratio.ratio);
  }
  return markdownTable(
    ['scenario', 'metric', ...pairs],
    [...rows].map(([key, values]) => [
      ...key.split('\u0000'),
      ...pairs.map((pair) => (values.has(pair) ? `×${values.get(pair)}` : '–')),
    ]),
  );
}

// ---------------------------------------------------------------- connections: growth and issue #6 goals

/** Issue #6's goals for the connections scenario (targets 4, 5 and 7 of the issue). */
export const CONNECTION_GOALS = {
  /** Target 4: at most this much server RSS per idle authenticated socket with one subscription… */
  rssPerSocketKB: 16,
  /** …at this many sockets. */
  rssAtSockets: 10_000,
  /** Target 5: one message to this many subscribers… */
  p99AtSockets: 5_000,
  /** …with a p99 at most this many times the bare ceiling's. */
  p99PerCeiling: 2,
  // Target 7: p99 and RSS from the fewest to the most sockets grow linearly or better.
};

/** The socket count a connections row was asked for (its variant; `sockets` in the metrics is how many opened). */
const requested = (row: ResultRow) => Number(row.params.sockets);

/** Server RSS gained while the sockets opened, in MB. */
function rssGrowth(row: ResultRow): number | null {
  if (typeof row.metrics.rssGrowthMB === 'number') return row.metrics.rssGrowthMB;
  const perSocket = row.metrics.rssPerSocketKB;
  return typeof perSocket === 'number' ? (perSocket * requested(row)) / 1024 : null;
}

/** a / b as "×1.23", or null when either is missing or b is not above zero. */
function factor(a: unknown, b: unknown): string | null {
  if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !(b > 0)) return null;
  return `×${Number((a / b).toPrecision(3))}`;
}

/** Connections rows by target (in the order they first appear), each target's rows by socket count. */
function connectionsByTarget(rows: ResultRow[]): [string, ResultRow[]][] {
  const connections = rows.filter((row) => row.scenario === 'connections');
  return [...new Set(connections.map((row) => row.target))].map((target) => [
    target,
    connections.filter((row) => row.target === target).sort((a, b) => requested(a) - requested(b)),
  ]);
}

const ceilingRow = (rows: ResultRow[], sockets: number) =>
  rows.find((row) => row.scenario === 'connections' && row.target === 'ceiling' && requested(row) === sockets);

/**
 * One row per target and socket count: RSS per socket and the to-all p99, and
 * how they grew from the target's smallest count ("×"), next to how the
 * sockets grew; linear growth is RSS × and p99 × no larger than sockets ×.
 * The last column is the p99 over the ceiling's at the same count.
 */
export function connectionGrowthTable(rows: ResultRow[]): string {
  const lines: string[][] = [];
  for (const [target, own] of connectionsByTarget(rows)) {
    const base = own[0]!;
    for (const row of own) {
      const ceiling = target === 'ceiling' ? undefined : ceilingRow(rows, requested(row));
      lines.push([
        target,
        format(requested(row)),
        factor(requested(row), requested(base)) ?? '–',
        format(row.metrics.rssPerSocketKB),
        format(rssGrowth(row)),
        factor(rssGrowth(row), rssGrowth(base)) ?? '–',
        format(row.metrics.toAllP99),
        factor(row.metrics.toAllP99, base.metrics.toAllP99) ?? '–',
        factor(row.metrics.toAllP99, ceiling?.metrics.toAllP99) ?? '–',
      ]);
    }
  }
  return markdownTable(
    [
      'target',
      'sockets',
      'sockets ×',
      'RSS/socket KB',
      'RSS growth MB',
      'RSS ×',
      'to-all p99 ms',
      'to-all p99 ×',
      'p99 / ceiling',
    ],
    lines,
  );
}

export type GoalCheck = {
  target: string;
  /** The target number. */
  goal: number;
  description: string;
  measured: string;
  /** null: not measured in this run (or the run failed, so its figures do not count). */
  met: boolean | null;
};

/** Issue #6's targets 4, 5 and 7, checked for every target that ran the connections scenario. */
export function connectionGoals(rows: ResultRow[]): GoalCheck[] {
  const { rssPerSocketKB, rssAtSockets, p99AtSockets, p99PerCeiling } = CONNECTION_GOALS;
  const checks: GoalCheck[] = [];
  const failed = (...list: (ResultRow | undefined)[]) => list.some((row) => row && row.failures.length > 0);
  const verdict = (ok: boolean, ...list: (ResultRow | undefined)[]) => (failed(...list) ? null : ok);
  const suffix = (...list: (ResultRow | undefined)[]) => (failed(...list) ? ' (run failed)' : '');
  for (const [target, own] of connectionsByTarget(rows)) {
    const atRss = own.find((row) => requested(row) === rssAtSockets);
    const perSocket = atRss?.metrics.rssPerSocketKB;
    checks.push({
      target,
      goal: 4,
      description: `RSS per socket at ${rssAtSockets} sockets ≤ ${rssPerSocketKB} KB`,
      ...(typeof perSocket === 'number'
        ? {
            measured: `${format(perSocket)} KB${suffix(atRss)}`,
            met: verdict(perSocket <= rssPerSocketKB, atRss),
          }
        : { measured: `not measured (no ${rssAtSockets}-socket run)`, met: null }),
    });
    if (target !== 'ceiling') {
      const atP99 = own.find((row) => requested(row) === p99AtSockets);
      const ceiling = ceilingRow(rows, p99AtSockets);
      const ours = atP99?.metrics.toAllP99;
      const theirs = ceiling?.metrics.toAllP99;
      checks.push({
        target,
        goal: 5,
        description: `to-all p99 at ${p99AtSockets} sockets ≤ ${p99PerCeiling} × the ceiling's`,
        ...(typeof ours === 'number' && typeof theirs === 'number' && theirs > 0
          ? {
              measured: `${factor(ours, theirs)} (${format(ours)} / ${format(theirs)} ms)${suffix(atP99, ceiling)}`,
              met: verdict(ours <= p99PerCeiling * theirs, atP99, ceiling),
            }
          : {
              measured: `not measured (no ${p99AtSockets}-socket run of ${atP99 ? 'the ceiling' : target})`,
              met: null,
            }),
      });
    }
    const first = own[0]!;
    const last = own.at(-1)!;
    const sockets = requested(last) / requested(first);
    const p99 = [last.metrics.toAllP99, first.metrics.toAllP99];
    const rss = [rssGrowth(last), rssGrowth(first)];
    const range = `${requested(first)} → ${requested(last)} sockets`;
    const p99Factor = factor(p99[0], p99[1]);
    const rssFactor = factor(rss[0], rss[1]);
    checks.push({
      target,
      goal: 7,
      description: 'p99 and RSS grow linearly with the sockets or better',
      ...(own.length < 2
        ? { measured: `not measured (one socket count: ${requested(first)})`, met: null }
        : p99Factor === null || rssFactor === null
          ? { measured: `${range}: figures missing${suffix(first, last)}`, met: null }
          : {
              measured: `${range} (×${Number(sockets.toPrecision(3))}): p99 ${p99Factor}, RSS ${rssFactor}${suffix(first, last)}`,
              met: verdict(p99[0]! / p99[1]! <= sockets && rss[0]! / rss[1]! <= sockets, first, last),
            }),
    });
  }
  return checks;
}

/** Fanout at this rate is the target 1; the highest rate run stands for saturation (target 2). */
const FANOUT_GOAL_RATE = '10/s';
/** Target 6: the server's own time for a deep history page, on MySQL. */
const HISTORY_SERVER_P50_MS = 5;

/**
 * Issue #6's targets 1, 2, 3 and 6 for our targets (sqlite, mysql), from the
 * fanout, throughput and history rows, against the naive and ceiling rows of
 * the same run.
 */
export function scenarioGoals(rows: ResultRow[]): GoalCheck[] {
  const find = (target: string, scenario: string, variant?: string) =>
    rows.find((row) => row.target === target && row.scenario === scenario && (!variant || row.variant === variant));
  const number = (row: ResultRow | undefined, name: string) =>
    typeof row?.metrics[name] === 'number' && Number.isFinite(row.metrics[name]) ? (row.metrics[name] as number) : null;
  const ok = (met: boolean, ...list: (ResultRow | undefined)[]) =>
    list.some((row) => row && row.failures.length > 0) ? null : met;
  const missing = (what: string) => ({ measured: `not measured (${what})`, met: null });
  const fanoutRates = [...new Set(rows.filter((row) => row.scenario === 'fanout').map((row) => row.variant ?? ''))];
  const saturationRate = fanoutRates.sort((a, b) => parseFloat(b) - parseFloat(a))[0];
  const checks: GoalCheck[] = [];
  for (const target of ['sqlite', 'mysql'].filter((name) => rows.some((row) => row.target === name))) {
    const fanout = find(target, 'fanout', FANOUT_GOAL_RATE);
    const ours = number(fanout, 'p99');
    const naive = number(find('naive', 'fanout', FANOUT_GOAL_RATE), 'p99');
    const ceiling = number(find('ceiling', 'fanout', FANOUT_GOAL_RATE), 'p99');
    checks.push({
      target,
      goal: 1,
      description: `fanout p99 at ${FANOUT_GOAL_RATE} ≤ naive / 3 and ≤ 2 × ceiling`,
      ...(ours !== null && naive !== null && ceiling !== null
        ? {
            measured: `${format(ours)} ms (naive ${format(naive)}, ceiling ${format(ceiling)})`,
            met: ok(ours <= naive / 3 && ours <= 2 * ceiling, fanout),
          }
        : missing(`no ${FANOUT_GOAL_RATE} fanout of ${target}, naive and ceiling`)),
    });
    const saturated = saturationRate ? find(target, 'fanout', saturationRate) : undefined;
    const delivered = number(saturated, 'deliveriesPerSec');
    const naiveDelivered = number(
      saturationRate ? find('naive', 'fanout', saturationRate) : undefined,
      'deliveriesPerSec',
    );
    checks.push({
      target,
      goal: 2,
      description: `fanout deliveries/s at the highest rate run (${saturationRate ?? '–'}) ≥ 3 × naive`,
      ...(delivered !== null && naiveDelivered !== null
        ? {
            measured: `${factor(delivered, naiveDelivered)} (${format(delivered)} / ${format(naiveDelivered)})`,
            met: ok(delivered >= 3 * naiveDelivered, saturated),
          }
        : missing('no fanout of both')),
    });
    for (const transport of ['http', 'ws']) {
      const throughput = find(target, 'throughput', transport);
      const stored = number(throughput, 'storedPerSec');
      const naiveStored = number(find('naive', 'throughput', transport), 'storedPerSec');
      checks.push({
        target,
        goal: 3,
        description: `throughput over ${transport}: stored/s ≥ naive's`,
        ...(stored !== null && naiveStored !== null
          ? {
              measured: `${factor(stored, naiveStored)} (${format(stored)} / ${format(naiveStored)})`,
              met: ok(stored >= naiveStored, throughput),
            }
          : missing(`no ${transport} throughput of both`)),
      });
    }
    const history = find(target, 'history');
    const serverP50 = number(history, 'serverP50');
    checks.push({
      target,
      goal: 6,
      description: `deep history page: server time p50 < ${HISTORY_SERVER_P50_MS} ms${target === 'mysql' ? '' : ' (the issue asks it of MySQL)'}`,
      ...(serverP50 !== null
        ? { measured: `${format(serverP50)} ms`, met: ok(serverP50 < HISTORY_SERVER_P50_MS, history) }
        : missing('no history run with Server-Timing')),
    });
  }
  return checks;
}

/** True when some check has figures (every check reads "not measured (…)" when the run lacked its socket counts). */
export const anyGoalMeasured = (checks: GoalCheck[]) =>
  checks.some((check) => !check.measured.startsWith('not measured'));

export function goalTable(checks: GoalCheck[]): string {
  return markdownTable(
    ['target', 'issue #6 target', 'measured', 'met'],
    checks.map((check) => [
      check.target,
      `${check.goal}: ${check.description}`,
      check.measured,
      check.met === null ? '–' : check.met ? 'yes' : 'NO',
    ]),
  );
}
