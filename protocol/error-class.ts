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
 *   - `No data available`, `No candles provided`, `Empty candles`: no data for this request.
 *   - `CSV load error: ...`: the data for this request is bad.
 *   - `S-Exp parse error: ...`, `missing request_id`: the request itself is malformed.
 *
 * Two forms of the same error reach us. The bare message (`No data available`), and the engine's
 * whole ERROR line, which the host's service puts in the result's `error` field as it is:
 * `((type . "ERROR") (error . "S-Exp parse error: ..."))` (or its JSON twin
 * `{"type": "ERROR", "error": "..."}`). The wrapped form is classified by the message inside.
 */
import { entryKey, entryValue } from './fields.ts';
import { parseSExpr } from './reader.ts';
import { SSymbol } from './sexpr.ts';

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

/** Message starts, lower case, and what they mean. */
const RULES: ReadonlyArray<readonly [prefix: string, cls: ServiceErrorClass]> = [
  ['guardian process failure', { retryable: true, category: 'transient' }],
  ['empty output', { retryable: true, category: 'transient' }],
  ['guardian binary missing', { retryable: true, category: 'setup' }],
  ['no data available', { retryable: false, category: 'no-data' }],
  ['no candles provided', { retryable: false, category: 'no-data' }],
  ['empty candles', { retryable: false, category: 'no-data' }],
  ['csv load error', { retryable: false, category: 'bad-data' }],
  ['s-exp parse error', { retryable: false, category: 'bad-request' }],
  ['missing request_id', { retryable: false, category: 'bad-request' }],
];

const TIMEOUT: ServiceErrorClass = { retryable: true, category: 'timeout' };
const UNKNOWN: ServiceErrorClass = { retryable: true, category: 'unknown' };

/** An ERROR line wrapped in an ERROR line is still one error; more depth than this is not a real service. */
const MAX_WRAPPING = 4;

/** Pure: the class of an error text from a BACKTEST_RESULT, bare or wrapped (matched case-insensitively on the message's start). */
export function classifyServiceError(text: string): ServiceErrorClass {
  const message = unwrapServiceError(text);
  const t = message.trim().toLowerCase();
  for (const [prefix, cls] of RULES) if (t.startsWith(prefix)) return cls;
  // A wrapped line we could not read (cut short, say): a quoted message inside it still counts.
  if (message === text && looksWrapped(t)) {
    for (const [prefix, cls] of RULES) if (t.includes(`"${prefix}`)) return cls;
  }
  if (t.includes('timeout') || t.includes('timed out')) return TIMEOUT;
  return UNKNOWN;
}

/** Pure: the message an error text carries: the innermost ERROR line's `error`, or the text itself when it is bare. */
export function unwrapServiceError(text: string): string {
  let message = text;
  for (let i = 0; i < MAX_WRAPPING; i++) {
    const inner = engineErrorMessage(message);
    if (inner === undefined) break;
    message = inner;
  }
  return message;
}

function looksWrapped(lower: string): boolean {
  const c = lower.charCodeAt(0);
  return c === 0x28 || c === 0x7b; // ( {
}

/**
 * The `error` (or `message`) of an engine line such as `((type . "ERROR") (error . "..."))` or
 * `{"type": "ERROR", "error": "..."}`; undefined when `text` is not such a line.
 */
export function engineErrorMessage(text: string): string | undefined {
  const t = text.trim();
  if (t.charCodeAt(0) === 0x28) return fromSExpr(t);
  if (t.charCodeAt(0) === 0x7b) return fromJson(t);
  return undefined;
}

function fromSExpr(text: string): string | undefined {
  const tree = parseSExpr(text);
  if (!tree.ok || !Array.isArray(tree.value)) return undefined;
  let error: string | undefined;
  let message: string | undefined;
  for (const e of tree.value) {
    const key = entryKey(e);
    if (key !== 'error' && key !== 'message') continue;
    const v = entryValue(e);
    const s = typeof v === 'string' ? v : v instanceof SSymbol ? v.name : undefined;
    if (key === 'error') error ??= s;
    else message ??= s;
  }
  return error ?? message;
}

function fromJson(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o.error === 'string') return o.error;
  return typeof o.message === 'string' ? o.message : undefined;
}
