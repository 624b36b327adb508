/**
 * Percentiles by nearest rank: the p-th percentile of n sorted values is the value at rank
 * ceil(p/100 * n) (1-based), so it is always one of the measured values, never an interpolation.
 * Pure; inputs are never mutated.
 */

/** The p-th percentile (0 <= p <= 100) of `values`; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  return percentileOfSorted(Float64Array.from(values).sort(), p);
}

/** Same as `percentile`, for values already sorted ascending (lets several percentiles share one sort). */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in 0..100, got ${p}`);
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export interface LatencySummary {
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** count, min, p50, p95, p99, max of `values`; null when there are none. */
export function summarize(values: readonly number[]): LatencySummary | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  return {
    count: sorted.length,
    min: sorted[0],
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
    max: sorted[sorted.length - 1],
  };
}
