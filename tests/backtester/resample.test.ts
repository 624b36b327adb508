import { describe, expect, it } from 'vitest';
import { candlesFromBars, toBars, tradingDays, windowCandles } from '../../backtester/candles.ts';
import { bucketStart, resample } from '../../backtester/resample.ts';

const T0 = 1_700_000_100; // 2023-11-14 22:15:00 UTC, a multiple of 300
const m1 = (minute: number, o: number, h: number, l: number, c: number, v = 1) => ({ timestamp: T0 + minute * 60, open: o, high: h, low: l, close: c, volume: v });

describe('resample', () => {
  it('buckets are aligned to the epoch: a bar belongs to floor(t / span) * span', () => {
    expect(bucketStart(1_700_000_100, 300)).toBe(1_700_000_100);
    expect(bucketStart(1_700_000_399, 300)).toBe(1_700_000_100);
    expect(bucketStart(1_700_000_400, 300)).toBe(1_700_000_400);
    expect(bucketStart(1_700_000_100, 3600)).toBe(1_699_999_200);
  });

  it('M5 bar = first open, highest high, lowest low, last close, summed volume, stamped with the bucket start', () => {
    const c = candlesFromBars([
      m1(0, 10, 11, 9.5, 10.5, 1),
      m1(1, 10.5, 12, 10, 11, 2),
      m1(2, 11, 11.5, 8, 9, 3),
      m1(4, 9, 9.2, 8.9, 9.1, 4),
      m1(5, 9.1, 9.3, 9.0, 9.2, 5), // next bucket
    ]);
    expect(toBars(resample(c, 5))).toEqual([
      { timestamp: T0, open: 10, high: 12, low: 8, close: 9.1, volume: 10 },
      { timestamp: T0 + 300, open: 9.1, high: 9.3, low: 9.0, close: 9.2, volume: 5 },
    ]);
  });

  it('an empty bucket (a gap in the data) produces no bar', () => {
    const c = candlesFromBars([m1(0, 1, 1, 1, 1), m1(20, 2, 2, 2, 2)]);
    expect(toBars(resample(c, 5)).map((b) => b.timestamp)).toEqual([T0, T0 + 1200]);
  });

  it('M1 resampled to 1 minute is unchanged', () => {
    const bars = [m1(0, 1, 2, 0.5, 1.5, 3), m1(1, 1.5, 1.6, 1.4, 1.45, 4)];
    expect(toBars(resample(candlesFromBars(bars), 1))).toEqual(bars);
  });

  it('a timeframe that is not a positive integer is refused', () => {
    expect(() => resample(candlesFromBars([]), 0)).toThrow(RangeError);
    expect(() => resample(candlesFromBars([]), 1.5)).toThrow(RangeError);
  });
});

describe('window', () => {
  const c = candlesFromBars([0, 1, 2, 3, 4].map((i) => m1(i, i, i, i, i)));

  it('keeps bars with start_time <= timestamp <= end_time (both bounds inclusive)', () => {
    expect(toBars(windowCandles(c, T0 + 60, T0 + 180)).map((b) => b.close)).toEqual([1, 2, 3]);
  });

  it('a missing bound leaves that side open', () => {
    expect(windowCandles(c, T0 + 150).length).toBe(2);
    expect(windowCandles(c, undefined, T0 + 59).length).toBe(1);
    expect(windowCandles(c).length).toBe(5);
  });

  it('a window between bars is empty', () => {
    expect(windowCandles(c, T0 + 61, T0 + 119).length).toBe(0);
  });
});

describe('trading days', () => {
  it('are the distinct UTC days that have a bar', () => {
    expect(tradingDays([0, 3600, 86_399, 86_400, 3 * 86_400 + 5])).toEqual([0, 1, 3]);
  });
});
