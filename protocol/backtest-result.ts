/**
 * BACKTEST_RESULT (service -> runtime): decoder into a success | error union, and an encoder
 * that prints frames the way the reference service does (for fakes and the bundled backtester).
 *
 * Units: `win_rate` is a PERCENT on the wire and a fraction here; `max_drawdown` is a fraction in
 * both. An error result carries no metrics at all: the service's `(sharpe . 0)` next to an
 * error is ignored, because a failed attempt is not a strategy with Sharpe 0.
 *
 * Which values are accepted (anything else makes the frame a validation error, not a result):
 *   trades, wins, losses   non-negative integers
 *   pnl, sharpe            finite (sharpe is the OOS gate's value: a result without one validates nothing)
 *   sortino                any: finite, +inf, -inf or NaN (the engine prints inf with no losing day)
 *   max_drawdown           finite, 0..1
 *   win_rate               finite, 0..100 on the wire
 *   profit_factor          finite and >= 0, +inf (no losing trade) or NaN
 *   adjusted_sharpe        optional; any
 *   sharpe_ci_lower        optional; any (the engine prints -inf for < 10 daily returns)
 *   trade_list             optional, each `timestamp` an integer and `pnl` finite
 * Non-finite values arrive bare (`inf`, `-inf`, `nan`: what the service prints for a float that
 * overflowed) or quoted (`"inf"`: the service's reader keeps the engine's `inf` token as a string);
 * both read as numbers in the fields above (fields.ts needFloat). Integer-looking floats (`52`,
 * the service re-prints `52.0` to 10 significant digits) read as the same numbers.
 */
import { classifyServiceError, type ServiceErrorCategory } from './error-class.ts';
import { frameText, type FrameInput } from './frame.ts';
import { alistList, entryKey, entryValue, FieldFailure, fieldError, needFloat, needInt, needName, nestedAlist, notAnEntry, NONE, requireEntries, type FieldValue } from './fields.ts';
import { resolveLimits, type CodecLimits } from './limits.ts';
import { formatFloat, formatNumber } from './numbers.ts';
import { printString } from './printer.ts';
import { parseFrameText } from './reader.ts';
import { fail, ok, type Result } from './result.ts';
import type { SExpr } from './sexpr.ts';
import { quoteText } from './quote.ts';

/** The request id the service puts in an error result when the request had none. */
export const MISSING_REQUEST_ID = 'MISSING';
export const BACKTEST_RESULT_TYPE = 'BACKTEST_RESULT';

export interface TradeRecord {
  /** Unix seconds. */
  readonly timestamp: number;
  readonly pnl: number;
}

export interface BacktestSuccess {
  readonly kind: 'success';
  readonly requestId: string;
  readonly strategyName: string;
  readonly trades: number;
  readonly wins: number;
  readonly losses: number;
  /** Sum of price differences, not money. */
  readonly pnl: number;
  readonly sharpe: number;
  /** May be +/-Infinity or NaN. */
  readonly sortino: number;
  /** Fraction 0..1. */
  readonly maxDrawdown: number;
  /** Fraction 0..1 (the wire's percent / 100). */
  readonly winRate: number;
  /** >= 0; may be +Infinity or NaN. */
  readonly profitFactor: number;
  /** May be +/-Infinity or NaN. */
  readonly adjustedSharpe?: number;
  /** May be +/-Infinity (-Infinity with under 10 daily returns) or NaN. */
  readonly sharpeCiLower?: number;
  /** Present when the request asked for trades (at most the last 500). */
  readonly tradeList?: readonly TradeRecord[];
}

export interface BacktestFailure {
  readonly kind: 'error';
  /** Undefined when the service could not read our request id (it answers `"MISSING"`). */
  readonly requestId?: string;
  readonly strategyName?: string;
  /** The service's error text. */
  readonly error: string;
  /** Whether sending the same request again may succeed (see classifyServiceError). */
  readonly retryable: boolean;
  readonly category: ServiceErrorCategory;
}

export type BacktestResult = BacktestSuccess | BacktestFailure;

/** What encodeBacktestResult takes: an error's classification is derived, not printed. */
export type BacktestResultInput = BacktestSuccess | Omit<BacktestFailure, 'retryable' | 'category'>;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Decodes a result frame. Never throws; a rejected frame still names the request it answers when that was readable. */
export function decodeBacktestResult(input: FrameInput, limits?: Partial<CodecLimits>): Result<BacktestResult> {
  const lim = resolveLimits(limits);
  const text = frameText(input, lim);
  if (!text.ok) return text;
  const tree = parseFrameText(text.value, lim);
  if (!tree.ok) return tree;
  const reading = { requestId: undefined as string | undefined };
  try {
    return ok(readResultFrame(tree.value, reading));
  } catch (e) {
    return fail(fieldError(e, reading.requestId));
  }
}

function readResultFrame(tree: SExpr, reading: { requestId: string | undefined }): BacktestResult {
  const top = requireEntries(tree, 'frame');
  let type: FieldValue | undefined;
  let result: SExpr | undefined;
  for (let i = 0; i < top.length; i++) {
    const e = top[i];
    const key = entryKey(e);
    if (key === undefined) throw notAnEntry(e, 'frame', i);
    if (key === 'type') type ??= entryValue(e);
    else if (key === 'result') result ??= e;
  }
  const t = needName(type, 'type');
  if (t !== BACKTEST_RESULT_TYPE) throw new FieldFailure('type', `not a ${BACKTEST_RESULT_TYPE} frame (type ${quoteText(t)})`, `"${BACKTEST_RESULT_TYPE}"`);
  if (result === undefined) throw new FieldFailure('result', 'missing result', '(result . ((k . v) ...))');
  return readResult(nestedAlist(result, 'result'), reading);
}

function readResult(entries: SExpr[], reading: { requestId: string | undefined }): BacktestResult {
  let strategyName: FieldValue | undefined;
  let requestId: FieldValue | undefined;
  let error: FieldValue | undefined;
  let trades: FieldValue | undefined;
  let wins: FieldValue | undefined;
  let losses: FieldValue | undefined;
  let pnl: FieldValue | undefined;
  let sharpe: FieldValue | undefined;
  let sortino: FieldValue | undefined;
  let maxDrawdown: FieldValue | undefined;
  let winRate: FieldValue | undefined;
  let profitFactor: FieldValue | undefined;
  let adjustedSharpe: FieldValue | undefined;
  let sharpeCiLower: FieldValue | undefined;
  let tradeList: SExpr | undefined;
  // Aliases seen from services fold onto the canonical names; `-` already reads as `_`.
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const key = entryKey(e);
    if (key === undefined) throw notAnEntry(e, 'result', i);
    switch (key) {
      case 'strategy_name': strategyName ??= entryValue(e); break;
      case 'request_id': requestId ??= entryValue(e); break;
      case 'error': error ??= entryValue(e); break;
      case 'trades': case 'total_trades': trades ??= entryValue(e); break;
      case 'wins': wins ??= entryValue(e); break;
      case 'losses': losses ??= entryValue(e); break;
      case 'pnl': case 'total_profit': pnl ??= entryValue(e); break;
      case 'sharpe': case 'sharpe_ratio': sharpe ??= entryValue(e); break;
      case 'sortino': sortino ??= entryValue(e); break;
      case 'max_drawdown': case 'max_dd': maxDrawdown ??= entryValue(e); break;
      case 'win_rate': case 'winrate': winRate ??= entryValue(e); break;
      case 'profit_factor': case 'pf': profitFactor ??= entryValue(e); break;
      case 'adjusted_sharpe': adjustedSharpe ??= entryValue(e); break;
      case 'sharpe_ci_lower': sharpeCiLower ??= entryValue(e); break;
      case 'trade_list': tradeList ??= e; break;
    }
  }
  const rid = typeof requestId === 'string' && requestId !== MISSING_REQUEST_ID && requestId.length > 0 ? requestId : undefined;
  reading.requestId = rid;

  if (error !== undefined && error !== NONE && error !== false) {
    const text = typeof error === 'string' ? error : needName(error, 'result.error');
    const cls = classifyServiceError(text);
    const failure: Mutable<BacktestFailure> = { kind: 'error', error: text, retryable: cls.retryable, category: cls.category };
    if (rid !== undefined) failure.requestId = rid;
    if (typeof strategyName === 'string') failure.strategyName = strategyName;
    return failure;
  }

  if (rid === undefined) {
    const got = typeof requestId === 'string' ? quoteText(requestId) : requestId === undefined ? 'none' : 'a non-string';
    throw new FieldFailure('result.request_id', `a success result needs a request_id (got ${got})`, 'a request id string');
  }
  const winPercent = needFloat(winRate, 'result.win_rate');
  if (winPercent < 0 || winPercent > 100) throw new FieldFailure('result.win_rate', `result.win_rate is a percent 0..100, got ${winPercent}`, '0..100');
  const dd = needFloat(maxDrawdown, 'result.max_drawdown');
  if (dd < 0 || dd > 1) throw new FieldFailure('result.max_drawdown', `result.max_drawdown is a fraction 0..1, got ${dd}`, '0..1');
  const pf = needFloat(profitFactor, 'result.profit_factor', 'positive', true);
  if (pf < 0) throw new FieldFailure('result.profit_factor', `result.profit_factor cannot be negative, got ${pf}`, '>= 0');
  const success: Mutable<BacktestSuccess> = {
    kind: 'success',
    requestId: rid,
    strategyName: needName(strategyName, 'result.strategy_name'),
    trades: needInt(trades, 'result.trades', 0),
    wins: needInt(wins, 'result.wins', 0),
    losses: needInt(losses, 'result.losses', 0),
    pnl: needFloat(pnl, 'result.pnl'),
    sharpe: needFloat(sharpe, 'result.sharpe'),
    sortino: needFloat(sortino, 'result.sortino', 'any', true),
    maxDrawdown: dd,
    winRate: winPercent / 100,
    profitFactor: pf,
  };
  if (present(adjustedSharpe)) success.adjustedSharpe = needFloat(adjustedSharpe, 'result.adjusted_sharpe', 'any', true);
  if (present(sharpeCiLower)) success.sharpeCiLower = needFloat(sharpeCiLower, 'result.sharpe_ci_lower', 'any', true);
  if (tradeList !== undefined) success.tradeList = readTrades(alistList(tradeList, 'result.trade_list'));
  return success;
}

/** Optional metrics: absent, `(key)` and `(key . nil)` all mean "not reported". */
function present(v: FieldValue | undefined): v is FieldValue {
  return v !== undefined && v !== NONE && v !== false;
}

function readTrades(items: SExpr[]): TradeRecord[] {
  const trades: TradeRecord[] = new Array(items.length);
  const path = 'result.trade_list';
  for (let i = 0; i < items.length; i++) {
    const t = items[i];
    if (!Array.isArray(t)) throw new FieldFailure(`${path}[${i}]`, `${path}[${i}] is not an alist`, '((timestamp . n) (pnl . x))');
    let timestamp: FieldValue | undefined;
    let pnl: FieldValue | undefined;
    for (let j = 0; j < t.length; j++) {
      const e = t[j];
      const key = entryKey(e);
      if (key === 'timestamp') timestamp ??= entryValue(e);
      else if (key === 'pnl') pnl ??= entryValue(e);
      else if (key === undefined) throw notAnEntry(e, `${path}[${i}]`, j);
    }
    // Paths are only built when a value is wrong: this loop runs up to 500 times per frame.
    trades[i] = {
      timestamp: typeof timestamp === 'number' && Number.isSafeInteger(timestamp) ? timestamp : needInt(timestamp, `${path}[${i}].timestamp`),
      pnl: typeof pnl === 'number' && pnl - pnl === 0 ? pnl : needFloat(pnl, `${path}[${i}].pnl`),
    };
  }
  return trades;
}

/**
 * fraction -> percent for printing. `0.5566 * 100` is 55.660000000000004; pick the shortest
 * decimal that divides back to the same fraction, so the frame reads `55.66`. For some fractions
 * no double percent divides back exactly; those return within 1 ulp (the decoder divides by 100).
 */
function toPercent(fraction: number): number {
  const p = fraction * 100;
  if (p - p !== 0) return p;
  for (let digits = 1; digits <= 17; digits++) {
    const c = Number(p.toPrecision(digits));
    if (c / 100 === fraction) return c;
  }
  return p;
}

/**
 * Prints a result frame in the reference service's layout. Does not validate: a fake service must
 * be able to send what a broken one would (NaN metrics, percent drawdowns), so numbers print as
 * given: integer fields without a decimal point when integral, float fields by formatFloat,
 * non-finite as `inf`/`-inf`/`nan`. An error frame carries the service's `(sharpe . 0)`.
 */
export function encodeBacktestResult(r: BacktestResultInput): string {
  const head = '((type . "BACKTEST_RESULT") (result . (';
  const tail = ' (request_id . ' + printString(r.requestId ?? MISSING_REQUEST_ID) + '))))';
  if (r.kind === 'error') {
    const name = r.strategyName === undefined ? '' : '(strategy_name . ' + printString(r.strategyName) + ') ';
    return head + name + '(error . ' + printString(r.error) + ') (sharpe . 0)' + tail;
  }
  let out =
    head +
    '(strategy_name . ' + printString(r.strategyName) +
    ') (trades . ' + formatNumber(r.trades) +
    ') (wins . ' + formatNumber(r.wins) +
    ') (losses . ' + formatNumber(r.losses) +
    ') (pnl . ' + formatFloat(r.pnl) +
    ') (sharpe . ' + formatFloat(r.sharpe) +
    ') (sortino . ' + formatFloat(r.sortino) +
    ') (max_drawdown . ' + formatFloat(r.maxDrawdown) +
    ') (win_rate . ' + formatFloat(toPercent(r.winRate)) +
    ') (profit_factor . ' + formatFloat(r.profitFactor) + ')';
  if (r.adjustedSharpe !== undefined) out += ' (adjusted_sharpe . ' + formatFloat(r.adjustedSharpe) + ')';
  if (r.sharpeCiLower !== undefined) out += ' (sharpe_ci_lower . ' + formatFloat(r.sharpeCiLower) + ')';
  if (r.tradeList !== undefined) {
    out += ' (trade_list . (';
    const list = r.tradeList;
    for (let i = 0; i < list.length; i++) {
      out += (i === 0 ? '((timestamp . ' : ' ((timestamp . ') + formatNumber(list[i].timestamp) + ') (pnl . ' + formatFloat(list[i].pnl) + '))';
    }
    out += '))';
  }
  return out + tail;
}
