/** The soak's boundedness verdict and its chart. */
import { describe, expect, it } from 'vitest';
import { secondHalfTrend, theilSenSlope } from './trend.ts';
import { chartSvg } from './chart.ts';

const series = (f: (i: number) => number) => Array.from({ length: 40 }, (_, i) => ({ t: i * 1_000, v: f(i) }));

describe('soak trend', () => {
  it('a flat or saw-tooth series is bounded; one that keeps climbing in its second half is not', () => {
    expect(secondHalfTrend(series(() => 100)).relativeGrowth).toBe(0);
    expect(Math.abs(secondHalfTrend(series((i) => 100 + (i % 5) * 10)).relativeGrowth)).toBeLessThan(0.25);
    expect(secondHalfTrend(series((i) => 100 + i * 10)).relativeGrowth).toBeGreaterThan(0.25);
    // Growth only in the first half (warm-up) does not count.
    expect(secondHalfTrend(series((i) => (i < 20 ? i * 10 : 200))).relativeGrowth).toBe(0);
  });

  it('a two-level series (a p99 that is low, or a lease long when an answer was lost) is judged by its level, not by where its high points fall', () => {
    // Second half: mostly low at its start, the last few high; the share of high points does not grow.
    const twoLevel = series((i) => (i < 20 ? (i % 2 ? 2_100 : 60) : [0, 3, 6, 9, 12, 15].includes(i - 20) || i >= 37 ? 2_100 : 60));
    const trend = secondHalfTrend(twoLevel);
    expect(trend.leastSquares.relativeGrowth).toBeGreaterThan(0.25);
    expect(trend.relativeGrowth).toBeLessThan(0.25);
    // A level that does climb is still caught.
    expect(secondHalfTrend(series((i) => (i < 30 ? 60 : 2_100))).relativeGrowth).toBeGreaterThan(0.25);
  });

  it('the Theil-Sen slope is the median pairwise slope: one outlier does not move it, and points at the same time are skipped', () => {
    expect(theilSenSlope([{ t: 0, v: 0 }, { t: 1, v: 1 }, { t: 2, v: 2 }, { t: 3, v: 100 }, { t: 4, v: 4 }])).toBe(1);
    expect(theilSenSlope([{ t: 0, v: 0 }, { t: 0, v: 5 }])).toBe(0);
    expect(theilSenSlope([])).toBe(0);
  });

  it('the chart is one SVG with a panel and a line per series, names escaped', () => {
    const svg = chartSvg('a <b>', [{ name: 'heap', unit: 'MiB', points: series((i) => i) }, { name: 'wal', unit: 'MiB', points: [] }]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('a &#60;b&#62;');
  });
});
