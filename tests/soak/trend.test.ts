/** The soak's boundedness verdict and its chart. */
import { describe, expect, it } from 'vitest';
import { secondHalfTrend } from './trend.ts';
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

  it('the chart is one SVG with a panel and a line per series, names escaped', () => {
    const svg = chartSvg('a <b>', [{ name: 'heap', unit: 'MiB', points: series((i) => i) }, { name: 'wal', unit: 'MiB', points: [] }]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('a &#60;b&#62;');
  });
});
