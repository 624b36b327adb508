/**
 * M1 -> N-minute bars. Pure.
 *
 * A bar belongs to the bucket `floor(timestamp / (N*60)) * N*60` (buckets aligned to the Unix
 * epoch, so H1 bars start on the hour and D1 bars at 00:00 UTC); the resampled bar's timestamp is
 * the bucket start, open = first open, high = max high, low = min low, close = last close, volume
 * = sum. Empty buckets (weekends, holes) produce no bar. The input must be ascending (the CSV
 * loader guarantees it); N = 1 re-buckets M1 onto minute boundaries, which for M1 data is the
 * identity.
 */
import { emptyCandles, type Candles } from './candles.ts';

export function bucketStart(t: number, spanSeconds: number): number {
  return t - (((t % spanSeconds) + spanSeconds) % spanSeconds);
}

export function resample(c: Candles, minutes: number): Candles {
  if (!Number.isInteger(minutes) || minutes < 1) throw new RangeError(`timeframe must be a positive integer number of minutes, got ${minutes}`);
  const span = minutes * 60;
  let count = 0;
  let last = NaN;
  for (let i = 0; i < c.length; i++) {
    const b = bucketStart(c.time[i], span);
    if (b !== last) {
      count++;
      last = b;
    }
  }
  const out = emptyCandles(count);
  let k = -1;
  last = NaN;
  for (let i = 0; i < c.length; i++) {
    const b = bucketStart(c.time[i], span);
    if (b !== last) {
      k++;
      last = b;
      out.time[k] = b;
      out.open[k] = c.open[i];
      out.high[k] = c.high[i];
      out.low[k] = c.low[i];
      out.close[k] = c.close[i];
      out.volume[k] = c.volume[i];
    } else {
      if (c.high[i] > out.high[k]) out.high[k] = c.high[i];
      if (c.low[i] < out.low[k]) out.low[k] = c.low[i];
      out.close[k] = c.close[i];
      out.volume[k] += c.volume[i];
    }
  }
  return out;
}
