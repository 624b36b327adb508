/**
 * Pure per-row rules on parsed values. No parsing and no state here: the byte scanner and any
 * other reader (the benchmark's csv-parse baseline) share them.
 */

export type TimestampStep = 'next' | 'gap' | 'duplicate' | 'out-of-order';

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
