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
