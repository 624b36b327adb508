/**
 * Whether a series stays bounded: the least-squares slope over its second half, as the growth it
 * would add over that half, relative to the half's mean. Pure; the soak's verdicts use it.
 */
export interface Trend {
  /** Units per second over the second half. */
  readonly slopePerSec: number;
  readonly mean: number;
  /** slope x the half's duration / mean: 0.1 means the half grew by 10% of its level. */
  readonly relativeGrowth: number;
}

export function secondHalfTrend(points: readonly { t: number; v: number }[]): Trend {
  const half = points.slice(Math.floor(points.length / 2));
  const n = half.length;
  if (n < 2) return { slopePerSec: 0, mean: half[0]?.v ?? 0, relativeGrowth: 0 };
  const mt = half.reduce((a, p) => a + p.t, 0) / n;
  const mv = half.reduce((a, p) => a + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of half) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  const slopePerMs = den === 0 ? 0 : num / den;
  const span = half[n - 1].t - half[0].t;
  return { slopePerSec: slopePerMs * 1_000, mean: mv, relativeGrowth: mv === 0 ? 0 : (slopePerMs * span) / Math.abs(mv) };
}
