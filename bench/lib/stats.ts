// Latency samples and their summary. Samples are kept (not bucketed) so the
// percentiles are exact; a run of a few million samples costs a few MB.

export type LatencySummary = {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
};

/** A growable array of latencies in milliseconds. */
export class Samples {
  private values = new Float64Array(1024);
  private length = 0;

  add(ms: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = ms;
  }

  reset(): void {
    this.length = 0;
  }

  get count(): number {
    return this.length;
  }

  summary(): LatencySummary {
    return summarize(this.values.subarray(0, this.length));
  }
}

/** Nearest-rank percentiles of `values` (sorted in place). */
export function summarize(values: Float64Array): LatencySummary {
  const count = values.length;
  if (count === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  values.sort();
  const rank = (p: number) => values[Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1))]!;
  let sum = 0;
  for (const value of values) sum += value;
  return {
    count,
    p50: round(rank(50)),
    p95: round(rank(95)),
    p99: round(rank(99)),
    max: round(values[count - 1]!),
    mean: round(sum / count),
  };
}

/** Three significant decimals for milliseconds, fewer for large values. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Nanoseconds between two hrtime.bigint() readings, as milliseconds. */
export function msBetween(startNs: bigint, endNs: bigint): number {
  return Number(endNs - startNs) / 1e6;
}
