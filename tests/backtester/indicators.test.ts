import { describe, expect, it } from 'vitest';
import { ema, movingAverage, sma } from '../../backtester/indicators.ts';

const arr = (a: Float64Array) => Array.from(a);

describe('sma', () => {
  it('is the mean of the last `period` values, NaN until `period` values exist', () => {
    expect(arr(sma([1, 2, 3, 4, 5, 6], 3))).toEqual([NaN, NaN, 2, 3, 4, 5]);
  });

  it('period 1 is the series itself', () => {
    expect(arr(sma([3, 1, 4], 1))).toEqual([3, 1, 4]);
  });

  it('a period longer than the series or below 1 is never defined', () => {
    expect(arr(sma([1, 2], 3))).toEqual([NaN, NaN]);
    expect(arr(sma([1, 2], 0))).toEqual([NaN, NaN]);
  });
});

describe('ema', () => {
  it('is seeded with the SMA of the first `period` values, then moves by alpha = 2 / (period + 1)', () => {
    // period 3, alpha 0.5: seed (1+2+3)/3 = 2; then 2 + 0.5*(6-2) = 4; 4 + 0.5*(0-4) = 2
    expect(arr(ema([1, 2, 3, 6, 0], 3))).toEqual([NaN, NaN, 2, 4, 2]);
  });

  it('indicator kind ema selects ema, sma selects sma', () => {
    expect(arr(movingAverage('ema', [1, 2, 3, 6], 3))).toEqual(arr(ema([1, 2, 3, 6], 3)));
    expect(arr(movingAverage('sma', [1, 2, 3, 6], 3))).toEqual(arr(sma([1, 2, 3, 6], 3)));
  });
});
