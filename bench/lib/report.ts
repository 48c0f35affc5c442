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
    { title: 'main thread %', value: (row) => row.window?.serverMainThreadCpu },
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

// ---------------------------------------------------------------- connections: growth; issue #11's targets

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
  /** The issue's target number. */
  goal: number;
  description: string;
  measured: string;
  /** null: not measured in this run (or the run failed, so its figures do not count). */
  met: boolean | null;
};

/** Issue #11's targets, each a ratio to a reference measured in the same run. */
export const ISSUE_TARGETS = {
  /** 1: fanout p99 at this rate… */
  fanoutRate: '10/s',
  /** …at most this many times the ceiling's. */
  fanoutP99PerCeiling: 2,
  /** 2: deliveries/s at the highest fanout rate run at least this share of the ceiling's… */
  saturationPerCeiling: 0.75,
  /** …and this many times the naive server's. */
  saturationPerNaive: 3,
  /** 3: stored/s at least the naive server's, over each transport. */
  storedPerNaive: 1,
  /** 4: RSS per socket at this many sockets… */
  rssAtSockets: 10_000,
  /** …at most this many times the ceiling's. */
  rssPerSocketPerCeiling: 1.5,
  /** 5: a deep history page's server time p50 below this, on MySQL. */
  historyServerP50Ms: 3,
};

/** " [min–max]" of a metric over the rounds of a repeated run, or nothing for one round. */
function spreadOf(row: ResultRow | undefined, metric: string): string {
  const range = row?.spread?.[metric];
  return range ? ` [${format(range[0])}–${format(range[1])}]` : '';
}

/**
 * Issue #11's targets 1-6 for our targets (sqlite, mysql), each as the ratio
 * to the naive server or the ceiling of the same run; with --repeat, from the
 * medians of the rounds, their spread in brackets.
 */
export function issueGoals(rows: ResultRow[]): GoalCheck[] {
  const T = ISSUE_TARGETS;
  const find = (target: string, scenario: string, variant?: string) =>
    rows.find((row) => row.target === target && row.scenario === scenario && (!variant || row.variant === variant));
  const number = (row: ResultRow | undefined, name: string) =>
    typeof row?.metrics[name] === 'number' && Number.isFinite(row.metrics[name]) ? (row.metrics[name] as number) : null;
  const ok = (met: boolean, ...list: (ResultRow | undefined)[]) =>
    list.some((row) => row && row.failures.length > 0) ? null : met;
  const missing = (what: string) => ({ measured: `not measured (${what})`, met: null });
  const ratio = (a: number, b: number) => Number((a / b).toPrecision(3));
  const figure = (row: ResultRow | undefined, metric: string, unit = '') =>
    `${format(number(row, metric))}${unit}${spreadOf(row, metric)}`;
  const fanoutRates = [...new Set(rows.filter((row) => row.scenario === 'fanout').map((row) => row.variant ?? ''))];
  const saturationRate = fanoutRates.sort((a, b) => parseFloat(b) - parseFloat(a))[0];
  const checks: GoalCheck[] = [];
  for (const target of ['sqlite', 'mysql'].filter((name) => rows.some((row) => row.target === name))) {
    const fanout = find(target, 'fanout', T.fanoutRate);
    const ceilingFanout = find('ceiling', 'fanout', T.fanoutRate);
    const ours = number(fanout, 'p99');
    const ceiling = number(ceilingFanout, 'p99');
    checks.push({
      target,
      goal: 1,
      description: `fanout p99 at ${T.fanoutRate} ≤ ${T.fanoutP99PerCeiling} × the ceiling's`,
      ...(ours !== null && ceiling !== null && ceiling > 0
        ? {
            measured: `×${ratio(ours, ceiling)} (${figure(fanout, 'p99', ' ms')} / ${figure(ceilingFanout, 'p99', ' ms')})`,
            met: ok(ours <= T.fanoutP99PerCeiling * ceiling, fanout),
          }
        : missing(`no ${T.fanoutRate} fanout of ${target} and the ceiling`)),
    });
    const saturated = saturationRate ? find(target, 'fanout', saturationRate) : undefined;
    const naiveSaturated = saturationRate ? find('naive', 'fanout', saturationRate) : undefined;
    const ceilingSaturated = saturationRate ? find('ceiling', 'fanout', saturationRate) : undefined;
    const delivered = number(saturated, 'deliveriesPerSec');
    const naiveDelivered = number(naiveSaturated, 'deliveriesPerSec');
    const ceilingDelivered = number(ceilingSaturated, 'deliveriesPerSec');
    checks.push({
      target,
      goal: 2,
      description: `deliveries/s at the highest fanout rate run (${saturationRate ?? '–'}) ≥ ${T.saturationPerCeiling} × the ceiling's and ≥ ${T.saturationPerNaive} × the naive server's`,
      ...(delivered !== null && naiveDelivered && ceilingDelivered
        ? {
            measured:
              `×${ratio(delivered, ceilingDelivered)} of the ceiling, ×${ratio(delivered, naiveDelivered)} of naive ` +
              `(${figure(saturated, 'deliveriesPerSec')} / ${figure(ceilingSaturated, 'deliveriesPerSec')} / ${figure(naiveSaturated, 'deliveriesPerSec')})`,
            met: ok(
              delivered >= T.saturationPerCeiling * ceilingDelivered &&
                delivered >= T.saturationPerNaive * naiveDelivered,
              saturated,
            ),
          }
        : missing('no fanout of this target, naive and the ceiling')),
    });
    for (const transport of ['http', 'ws']) {
      const throughput = find(target, 'throughput', transport);
      const naiveThroughput = find('naive', 'throughput', transport);
      const stored = number(throughput, 'storedPerSec');
      const naiveStored = number(naiveThroughput, 'storedPerSec');
      checks.push({
        target,
        goal: 3,
        description: `durable sends over ${transport}: stored/s ≥ the naive server's`,
        ...(stored !== null && naiveStored
          ? {
              measured: `×${ratio(stored, naiveStored)} (${figure(throughput, 'storedPerSec')} / ${figure(naiveThroughput, 'storedPerSec')})`,
              met: ok(stored >= T.storedPerNaive * naiveStored, throughput),
            }
          : missing(`no ${transport} throughput of both`)),
      });
    }
    const connections = rows.find(
      (row) => row.target === target && row.scenario === 'connections' && requested(row) === T.rssAtSockets,
    );
    const ceilingConnections = ceilingRow(rows, T.rssAtSockets);
    const perSocket = number(connections, 'rssPerSocketKB');
    const ceilingPerSocket = number(ceilingConnections, 'rssPerSocketKB');
    checks.push({
      target,
      goal: 4,
      description: `RSS per socket at ${T.rssAtSockets} sockets ≤ ${T.rssPerSocketPerCeiling} × the ceiling's`,
      ...(perSocket !== null && ceilingPerSocket
        ? {
            measured: `×${ratio(perSocket, ceilingPerSocket)} (${figure(connections, 'rssPerSocketKB', ' KB')} / ${figure(ceilingConnections, 'rssPerSocketKB', ' KB')})`,
            met: ok(perSocket <= T.rssPerSocketPerCeiling * ceilingPerSocket, connections),
          }
        : missing(`no ${T.rssAtSockets}-socket run of ${target} and the ceiling`)),
    });
    const history = find(target, 'history');
    const serverP50 = number(history, 'serverP50');
    checks.push({
      target,
      goal: 5,
      description: `deep history page: server time p50 < ${T.historyServerP50Ms} ms${target === 'mysql' ? '' : ' (the issue asks it of MySQL)'}`,
      ...(serverP50 !== null
        ? { measured: figure(history, 'serverP50', ' ms'), met: ok(serverP50 < T.historyServerP50Ms, history) }
        : missing('no history run with Server-Timing')),
    });
    const own = rows.filter((row) => row.target === target);
    const lost = own.reduce((sum, row) => sum + (number(row, 'loss') ?? 0), 0);
    const duplicated = own.reduce((sum, row) => sum + (number(row, 'duplicates') ?? 0), 0);
    const failed = own.filter((row) => row.failures.length > 0).length;
    checks.push({
      target,
      goal: 6,
      description: 'nothing lost or duplicated in any scenario, no failure',
      measured: `${lost} lost, ${duplicated} duplicated, ${failed} of ${own.length} rows failed`,
      met: own.length > 0 ? lost === 0 && duplicated === 0 && failed === 0 : null,
    });
  }
  return checks;
}

/**
 * One row per target, scenario and variant (and socket count) from the rounds
 * of a repeated run: each metric's median, with its [min, max] in `spread`;
 * the failures and warnings of every round.
 */
export function medianRows(rows: ResultRow[]): ResultRow[] {
  const groups = new Map<string, ResultRow[]>();
  for (const row of rows) {
    const key = [row.target, row.scenario, row.variant ?? '', String(row.params.sockets ?? '')].join('\u0000');
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((group) => {
    const metrics: Record<string, number | null> = {};
    const spread: Record<string, [number, number]> = {};
    for (const name of Object.keys(group[0]!.metrics)) {
      const values = group
        .map((row) => row.metrics[name])
        .filter((value): value is number => typeof value === 'number' && Number.isFinite(value))
        .sort((a, b) => a - b);
      if (values.length === 0) {
        metrics[name] = null;
        continue;
      }
      const middle = Math.floor(values.length / 2);
      metrics[name] = values.length % 2 ? values[middle]! : (values[middle - 1]! + values[middle]!) / 2;
      if (values.length > 1) spread[name] = [values[0]!, values.at(-1)!];
    }
    return {
      ...group[0]!,
      metrics,
      spread,
      rounds: group.length,
      failures: group.flatMap((row) => row.failures),
      warnings: [...new Set(group.flatMap((row) => row.warnings))],
    };
  });
}

/** True when some check has figures (every check reads "not measured (…)" when the run lacked its socket counts). */
export const anyGoalMeasured = (checks: GoalCheck[]) =>
  checks.some((check) => !check.measured.startsWith('not measured'));

export function goalTable(checks: GoalCheck[]): string {
  return markdownTable(
    ['target', 'issue #11 target', 'measured', 'met'],
    checks.map((check) => [
      check.target,
      `${check.goal}: ${check.description}`,
      check.measured,
      check.met === null ? '–' : check.met ? 'yes' : 'NO',
    ]),
  );
}
