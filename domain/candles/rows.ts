/**
 * Pure per-row rules on parsed values. No parsing and no state here: the byte scanner and any
 * other reader (the benchmark's csv-parse baseline) share them.
 */

export type TimestampStep = 'next' | 'gap' | 'duplicate' | 'out-of-order';

/**
 * The largest timestamp read as Unix seconds (10^11 s is in the year 5138). Epoch milliseconds
 * of any date after March 1973 are above it, so a millisecond column cannot pass for seconds.
 */
export const MAX_SECONDS_TIMESTAMP = 99_999_999_999;

const FINER_UNITS = [
  { name: 'milliseconds', perSecond: 1e3 },
  { name: 'microseconds', perSecond: 1e6 },
  { name: 'nanoseconds', perSecond: 1e9 },
] as const;

/** Why `ts` is not a Unix time in seconds, naming the unit it looks like; null when it can be seconds. */
export function notSeconds(ts: number): string | null {
  if (!(ts > MAX_SECONDS_TIMESTAMP)) return null;
  // The coarsest unit that brings it back into the seconds range (nanoseconds for anything larger).
  const unit = FINER_UNITS.find((u) => ts / u.perSecond <= MAX_SECONDS_TIMESTAMP) ?? FINER_UNITS[FINER_UNITS.length - 1];
  const date = new Date((ts / unit.perSecond) * 1000);
  const when = Number.isNaN(date.getTime()) ? '' : ` (${date.toISOString().replace('.000Z', 'Z')})`;
  return `timestamp ${ts} is too large for Unix seconds: it looks like ${unit.name}${when}`;
}

/** How `ts` follows the previous row's `prev`: strictly later is required; later by more than `maxGapSeconds` is a gap. */
export function timestampStep(prev: number, ts: number, maxGapSeconds: number): TimestampStep {
  if (ts > prev) return ts - prev > maxGapSeconds ? 'gap' : 'next';
  return ts === prev ? 'duplicate' : 'out-of-order';
}

/** The first price that is zero or negative, described; null when all four are positive. */
export function nonPositivePrice(open: number, high: number, low: number, close: number): string | null {
  if (!(open > 0)) return `open ${open} is not positive`;
  if (!(high > 0)) return `high ${high} is not positive`;
  if (!(low > 0)) return `low ${low} is not positive`;
  if (!(close > 0)) return `close ${close} is not positive`;
  return null;
}

/** The first broken bar invariant (low <= open, close <= high), described; null for a consistent bar. */
export function ohlcViolation(open: number, high: number, low: number, close: number): string | null {
  if (low > high) return `low ${low} is above high ${high}`;
  if (low > open) return `low ${low} is above open ${open}`;
  if (low > close) return `low ${low} is above close ${close}`;
  if (open > high) return `open ${open} is above high ${high}`;
  if (close > high) return `close ${close} is above high ${high}`;
  return null;
}
