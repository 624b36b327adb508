/**
 * Classifying the service's error texts: may the same request succeed if sent again?
 *
 * Retryable (the attempt failed, the request is fine):
 *   - `Guardian process failure`, `Empty output`: the backtest process crashed or said nothing.
 *   - timeouts (any text mentioning a timeout).
 *   - `Guardian binary missing`: an operator problem, but one an operator fixes (a deploy, a
 *     path). Treated as retryable so the bounded, backed-off attempts ride out the repair; if it
 *     is not fixed within the attempt budget the request dead-letters anyway. Calling it
 *     non-retryable would dead-letter every in-flight request during a botched deploy.
 *   - anything unrecognised: retrying is the safer default because attempts are bounded.
 * Not retryable (the same bytes will fail the same way):
 *   - `No data available`, `CSV load error: ...`: the data for this request is absent or bad.
 *   - `S-Exp parse error: ...`, `missing request_id`: the request itself is malformed.
 */

export type ServiceErrorCategory =
  /** Service-side crash or empty answer. */
  | 'transient'
  | 'timeout'
  /** The service's installation is broken (binary missing). */
  | 'setup'
  /** No candles for the requested symbol/window. */
  | 'no-data'
  /** The candles file exists but cannot be loaded. */
  | 'bad-data'
  /** The service could not read our request. */
  | 'bad-request'
  | 'unknown';

export interface ServiceErrorClass {
  readonly retryable: boolean;
  readonly category: ServiceErrorCategory;
}

const RULES: ReadonlyArray<readonly [prefix: string, cls: ServiceErrorClass]> = [
  ['guardian process failure', { retryable: true, category: 'transient' }],
  ['empty output', { retryable: true, category: 'transient' }],
  ['guardian binary missing', { retryable: true, category: 'setup' }],
  ['no data available', { retryable: false, category: 'no-data' }],
  ['csv load error', { retryable: false, category: 'bad-data' }],
  ['s-exp parse error', { retryable: false, category: 'bad-request' }],
  ['missing request_id', { retryable: false, category: 'bad-request' }],
];

const TIMEOUT: ServiceErrorClass = { retryable: true, category: 'timeout' };
const UNKNOWN: ServiceErrorClass = { retryable: true, category: 'unknown' };

/** Pure: the class of an error text from a BACKTEST_RESULT (matched case-insensitively on its start). */
export function classifyServiceError(text: string): ServiceErrorClass {
  const t = text.trim().toLowerCase();
  for (const [prefix, cls] of RULES) if (t.startsWith(prefix)) return cls;
  if (t.includes('timeout') || t.includes('timed out')) return TIMEOUT;
  return UNKNOWN;
}
