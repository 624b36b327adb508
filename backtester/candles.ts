/**
 * A candle series in columns (one typed array per field), so that years of M1 bars cost 48 bytes
 * a bar instead of an object each. Timestamps are Unix seconds of the bar's open, ascending.
 * Pure: no I/O.
 */
export interface Candles {
  readonly length: number;
  readonly time: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
}

/** One bar as a plain object (fixtures and tests). */
export interface Bar {
  readonly timestamp: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume?: number;
}

export function emptyCandles(length: number): Candles {
  return {
    length,
    time: new Float64Array(length),
    open: new Float64Array(length),
    high: new Float64Array(length),
    low: new Float64Array(length),
    close: new Float64Array(length),
    volume: new Float64Array(length),
  };
}

export function candlesFromBars(bars: readonly Bar[]): Candles {
  const c = emptyCandles(bars.length);
  for (let i = 0; i < bars.length; i++) {
    const b = bars[i];
    c.time[i] = b.timestamp;
    c.open[i] = b.open;
    c.high[i] = b.high;
    c.low[i] = b.low;
    c.close[i] = b.close;
    c.volume[i] = b.volume ?? 0;
  }
  return c;
}

/** Bars from closes only (open = previous close, high/low = the larger/smaller of open and close). */
export function candlesFromCloses(closes: readonly number[], start: number, stepSeconds: number): Candles {
  const bars: Bar[] = closes.map((close, i) => {
    const open = i === 0 ? close : closes[i - 1];
    return { timestamp: start + i * stepSeconds, open, high: Math.max(open, close), low: Math.min(open, close), close };
  });
  return candlesFromBars(bars);
}

export function barAt(c: Candles, i: number): Bar {
  return { timestamp: c.time[i], open: c.open[i], high: c.high[i], low: c.low[i], close: c.close[i], volume: c.volume[i] };
}

export function toBars(c: Candles): Bar[] {
  const out: Bar[] = new Array(c.length);
  for (let i = 0; i < c.length; i++) out[i] = barAt(c, i);
  return out;
}

/** Bars [from, to) as views on the same memory (no copy). */
export function sliceCandles(c: Candles, from: number, to: number): Candles {
  const a = Math.max(0, Math.min(from, c.length));
  const b = Math.max(a, Math.min(to, c.length));
  return {
    length: b - a,
    time: c.time.subarray(a, b),
    open: c.open.subarray(a, b),
    high: c.high.subarray(a, b),
    low: c.low.subarray(a, b),
    close: c.close.subarray(a, b),
    volume: c.volume.subarray(a, b),
  };
}

/** Index of the first bar with time >= t (c.length when none). */
export function lowerBound(time: Float64Array, t: number): number {
  let lo = 0;
  let hi = time.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (time[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first bar with time > t (c.length when none). */
export function upperBound(time: Float64Array, t: number): number {
  let lo = 0;
  let hi = time.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (time[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The OOS window: bars with `startTime <= timestamp <= endTime` (both bounds INCLUSIVE, on the
 * bar's open time; a missing bound leaves that side open). Inclusive on both sides because the
 * host's OOS window ends at the newest candle's timestamp, and shoal's data gate checks coverage
 * under the same rule (domain/candles/window.ts). Views, no copy.
 */
export function windowCandles(c: Candles, startTime?: number, endTime?: number): Candles {
  const from = startTime === undefined ? 0 : lowerBound(c.time, startTime);
  const to = endTime === undefined ? c.length : upperBound(c.time, endTime);
  return from === 0 && to === c.length ? c : sliceCandles(c, from, to);
}

export const SECONDS_PER_DAY = 86_400;

/** UTC day number (days since the Unix epoch) of a Unix-seconds timestamp. */
export function utcDay(t: number): number {
  return Math.floor(t / SECONDS_PER_DAY);
}

/** The distinct UTC days that have at least one bar, ascending (the days metrics count, traded or not). */
export function tradingDays(time: ArrayLike<number>): number[] {
  const days: number[] = [];
  for (let i = 0; i < time.length; i++) {
    const d = utcDay(time[i]);
    if (days.length === 0 || days[days.length - 1] !== d) days.push(d);
  }
  return days;
}
