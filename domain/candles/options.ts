/** What the gate checks against, with the defaults and their reasons. */

/**
 * 72 hours. An FX week closes Friday ~22:00 UTC and reopens Sunday ~22:00 UTC: a normal weekend
 * is ~48 h in M1 data (49 h around DST changes, a little more with late Sunday ticks). 72 h leaves
 * that margin, so a gap warning means at least one trading day is missing (or a holiday such as
 * Christmas/New Year fell next to a weekend).
 */
export const DEFAULT_MAX_GAP_HOURS = 72;
/** Examples (line numbers and messages) kept per problem class. */
export const DEFAULT_MAX_EXAMPLES = 5;
/** A real candle line is ~45 bytes; the cap bounds the memory held for a line split across reads. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
/** Read size: large reads keep syscalls and promise hops negligible next to the parsing. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export interface CandleCheckOptions {
  /** Start of the requested OOS window, Unix seconds (the request's `start_time`). */
  startTime?: number | null;
  /** End of the requested OOS window, Unix seconds (the request's `end_time`). */
  endTime?: number | null;
  /** Consecutive timestamps further apart than this are reported as `gap` warnings. */
  maxGapHours?: number;
  maxExamples?: number;
  /** Lines longer than this are `line-too-long` problems and are not parsed. */
  maxLineBytes?: number;
}

/** Options with defaults applied and ranges checked. */
export interface ResolvedCheckOptions {
  startTime: number | null;
  endTime: number | null;
  maxGapHours: number;
  maxGapSeconds: number;
  maxExamples: number;
  maxLineBytes: number;
}

/** Applies defaults; throws a RangeError naming the bad option (a caller bug, not a data problem). */
export function resolveCheckOptions(options: CandleCheckOptions = {}): ResolvedCheckOptions {
  const startTime = options.startTime ?? null;
  const endTime = options.endTime ?? null;
  const maxGapHours = options.maxGapHours ?? DEFAULT_MAX_GAP_HOURS;
  const maxExamples = options.maxExamples ?? DEFAULT_MAX_EXAMPLES;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (startTime !== null && !Number.isSafeInteger(startTime)) throw new RangeError(`startTime must be an integer Unix time in seconds, got ${startTime}`);
  if (endTime !== null && !Number.isSafeInteger(endTime)) throw new RangeError(`endTime must be an integer Unix time in seconds, got ${endTime}`);
  if (startTime !== null && endTime !== null && startTime > endTime) throw new RangeError(`startTime ${startTime} is after endTime ${endTime}`);
  if (!(Number.isFinite(maxGapHours) && maxGapHours > 0)) throw new RangeError(`maxGapHours must be a positive number, got ${maxGapHours}`);
  if (!(Number.isInteger(maxExamples) && maxExamples >= 0)) throw new RangeError(`maxExamples must be a non-negative integer, got ${maxExamples}`);
  if (!(Number.isInteger(maxLineBytes) && maxLineBytes >= 64)) throw new RangeError(`maxLineBytes must be an integer >= 64, got ${maxLineBytes}`);
  return { startTime, endTime, maxGapHours, maxGapSeconds: maxGapHours * 3600, maxExamples, maxLineBytes };
}
