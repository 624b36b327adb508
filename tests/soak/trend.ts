/**
 * Whether a series stays bounded: the growth a line fitted to its second half would add over that
 * half, relative to the half's mean. Two fits: least squares, and Theil-Sen (the median of the
 * slopes between every pair of points), which the soak's verdicts use. A p99 per window is a
 * two-level series (tens of ms, or a lease's length when an answer was lost), and least squares
 * reads where a few high windows happen to fall as a trend; the median slope moves only when the
 * level itself does. Pure.
 */
export interface Fit {
  /** Units per second over the second half. */
  readonly slopePerSec: number;
  /** slope x the half's duration / mean: 0.1 means the half grew by 10% of its level. */
  readonly relativeGrowth: number;
}

export interface Trend extends Fit {
  readonly mean: number;
  /** The least-squares fit, reported beside the verdict's. */
  readonly leastSquares: Fit;
}

type Point = { readonly t: number; readonly v: number };

function leastSquaresSlope(half: readonly Point[], mt: number, mv: number): number {
  let num = 0;
  let den = 0;
  for (const p of half) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The median of the pairwise slopes (pairs at the same time skipped). */
export function theilSenSlope(points: readonly Point[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dt = points[j].t - points[i].t;
      if (dt !== 0) slopes.push((points[j].v - points[i].v) / dt);
    }
  }
  if (slopes.length === 0) return 0;
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  return slopes.length % 2 === 1 ? slopes[mid] : (slopes[mid - 1] + slopes[mid]) / 2;
}

export function secondHalfTrend(points: readonly Point[]): Trend {
  const half = points.slice(Math.floor(points.length / 2));
  const n = half.length;
  if (n < 2) {
    const none = { slopePerSec: 0, relativeGrowth: 0 };
    return { ...none, mean: half[0]?.v ?? 0, leastSquares: none };
  }
  const mt = half.reduce((a, p) => a + p.t, 0) / n;
  const mv = half.reduce((a, p) => a + p.v, 0) / n;
  const span = half[n - 1].t - half[0].t;
  const fit = (slopePerMs: number): Fit => ({ slopePerSec: slopePerMs * 1_000, relativeGrowth: mv === 0 ? 0 : (slopePerMs * span) / Math.abs(mv) });
  return { ...fit(theilSenSlope(half)), mean: mv, leastSquares: fit(leastSquaresSlope(half, mt, mv)) };
}
