/**
 * Moving averages over a series of closes. Pure. Each returns an array of the input's length
 * with NaN where the average is not defined yet (the first `period - 1` values); a period below 1
 * gives all NaN (no signal ever fires).
 */

export type AverageKind = 'sma' | 'ema';

/** Simple moving average: mean of the last `period` values (rolling sum). */
export function sma(values: ArrayLike<number>, period: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(n).fill(NaN);
  if (!Number.isInteger(period) || period < 1) return out;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += values[i];
    if (i >= period) sum -= values[i - period];
    if (i >= period - 1) out[i] = sum / period;
  }
  return out;
}

/**
 * Exponential moving average with alpha = 2 / (period + 1), seeded with the SMA of the first
 * `period` values (defined from index period - 1, like the SMA).
 */
export function ema(values: ArrayLike<number>, period: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(n).fill(NaN);
  if (!Number.isInteger(period) || period < 1 || n < period) return out;
  const alpha = 2 / (period + 1);
  let seed = 0;
  for (let i = 0; i < period; i++) seed += values[i];
  let prev = seed / period;
  out[period - 1] = prev;
  for (let i = period; i < n; i++) {
    prev += alpha * (values[i] - prev);
    out[i] = prev;
  }
  return out;
}

export function movingAverage(kind: AverageKind, values: ArrayLike<number>, period: number): Float64Array {
  return kind === 'ema' ? ema(values, period) : sma(values, period);
}
