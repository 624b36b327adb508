/**
 * The BACKTEST request (runtime -> service): typed value, encoder and decoder.
 *
 * Printed layout is the host's, field for field:
 *   ((action . "BACKTEST") (strategy (name . "Foo-OOS") (sma_short . 5) ... (timeframe . 60))
 *    (request_id . "...") (data_id "USDJPY_M1") (candles_file "...") (symbol . "USDJPY")
 *    (timeframe 60) (start_time 1700000000) (end_time 1715552000) (include_trades . t)
 *    (traceparent . "00-...-01"))
 * Option fields use serde_lexpr's Some form `(key value)` and are left out when None (the
 * service treats a missing Option as None); traceparent goes last, where a service that ignores
 * unknown keys never looks.
 */
import { frameText, type FrameInput } from './frame.ts';
import { FieldFailure, entryKey, fieldError, entryValue, needFloat, needInt, needName, needString, nestedAlist, notAnEntry, optBool, optInt, optName, optString, requireEntries, type FieldValue } from './fields.ts';
import { resolveLimits, type CodecLimits } from './limits.ts';
import { formatFloat } from './numbers.ts';
import { printString } from './printer.ts';
import { parseFrameText } from './reader.ts';
import { fail, ok, type CodecError, type Result } from './result.ts';
import type { SExpr } from './sexpr.ts';
import { quoteText } from './quote.ts';
import { isValidTraceparent } from './traceparent.ts';

export const INDICATOR_TYPES = ['sma', 'ema', 'rsi', 'macd', 'bb', 'stoch', 'vwap', 'volsma', 'vpoc', 'vwapvr'] as const;
export type IndicatorType = (typeof INDICATOR_TYPES)[number];

export function isIndicatorType(x: unknown): x is IndicatorType {
  return typeof x === 'string' && (INDICATOR_TYPES as readonly string[]).includes(x);
}

export interface StrategyParams {
  /** Strategy name; the run kind is a suffix (`-OOS`). */
  readonly name: string;
  /** Integer periods (also the period of non-SMA indicators). */
  readonly smaShort: number;
  readonly smaLong: number;
  /** Absolute price distances (0.3 = 30 pips on USDJPY). */
  readonly sl: number;
  readonly tp: number;
  /** Lots. */
  readonly volume: number;
  readonly indicatorType: IndicatorType;
  /** Minutes. */
  readonly timeframe: number;
  /** Optional multi-timeframe filter; the service's types: bool, string ("D1"), integer, string ("PRICE_ABOVE_SMA"). */
  readonly filterEnabled?: boolean;
  readonly filterTf?: string;
  readonly filterPeriod?: number;
  readonly filterLogic?: string;
}

export interface BacktestRequest {
  readonly strategy: StrategyParams;
  readonly requestId: string;
  /** Cache key, `<SYMBOL>_M1`. */
  readonly dataId?: string;
  /** Path of the M1 CSV. */
  readonly candlesFile?: string;
  readonly symbol: string;
  /** Minutes; M1 is resampled to it. */
  readonly timeframe?: number;
  /** Unix seconds: the OOS window. */
  readonly startTime?: number;
  readonly endTime?: number;
  readonly includeTrades: boolean;
  /** W3C traceparent of the sending span. */
  readonly traceparent?: string;
}

function invalid(path: string, message: string, expected?: string): CodecError {
  return { kind: 'validation', path, message, ...(expected === undefined ? {} : { expected }) };
}

function checkInt(v: unknown, path: string, min: number): CodecError | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min) return undefined;
  return invalid(path, `${path} must be ${min === 0 ? 'a non-negative' : 'an'} integer, got ${String(v)}`, 'an integer');
}

function checkFloat(v: unknown, path: string): CodecError | undefined {
  if (typeof v === 'number' && v - v === 0) return undefined;
  return invalid(path, `${path} must be a finite number, got ${String(v)}`, 'a finite number');
}

function checkString(v: unknown, path: string, nonEmpty = false): CodecError | undefined {
  if (typeof v === 'string' && (!nonEmpty || v.length > 0)) return undefined;
  return invalid(path, `${path} must be a ${nonEmpty ? 'non-empty ' : ''}string, got ${typeof v}`, 'a string');
}

/**
 * Checks what the encoder relies on: integer fields are integers (the service parses them as
 * integers; `5.5` would come back as an "S-Exp parse error"), floats are finite, enums are known,
 * the request id is non-empty, the traceparent is well formed. Domain rules (sma_short < sma_long,
 * window order) belong to callers, not to the codec.
 */
export function validateBacktestRequest(req: BacktestRequest): CodecError | undefined {
  const s = req.strategy;
  if (typeof s !== 'object' || s === null) return invalid('strategy', 'strategy must be an object');
  return (
    checkString(s.name, 'strategy.name') ??
    checkInt(s.smaShort, 'strategy.sma_short', 0) ??
    checkInt(s.smaLong, 'strategy.sma_long', 0) ??
    checkFloat(s.sl, 'strategy.sl') ??
    checkFloat(s.tp, 'strategy.tp') ??
    checkFloat(s.volume, 'strategy.volume') ??
    (isIndicatorType(s.indicatorType) ? undefined : invalid('strategy.indicator_type', `strategy.indicator_type must be one of ${INDICATOR_TYPES.join(' ')}, got ${typeof s.indicatorType === 'string' ? quoteText(s.indicatorType) : String(s.indicatorType)}`, INDICATOR_TYPES.join('|'))) ??
    checkInt(s.timeframe, 'strategy.timeframe', 1) ??
    (s.filterEnabled === undefined || typeof s.filterEnabled === 'boolean' ? undefined : invalid('strategy.filter_enabled', 'strategy.filter_enabled must be a boolean')) ??
    (s.filterTf === undefined ? undefined : checkString(s.filterTf, 'strategy.filter_tf')) ??
    (s.filterPeriod === undefined ? undefined : checkInt(s.filterPeriod, 'strategy.filter_period', 0)) ??
    (s.filterLogic === undefined ? undefined : checkString(s.filterLogic, 'strategy.filter_logic')) ??
    checkString(req.requestId, 'request_id', true) ??
    (req.dataId === undefined ? undefined : checkString(req.dataId, 'data_id')) ??
    (req.candlesFile === undefined ? undefined : checkString(req.candlesFile, 'candles_file')) ??
    checkString(req.symbol, 'symbol') ??
    (req.timeframe === undefined ? undefined : checkInt(req.timeframe, 'timeframe', 1)) ??
    (req.startTime === undefined ? undefined : checkInt(req.startTime, 'start_time', Number.MIN_SAFE_INTEGER)) ??
    (req.endTime === undefined ? undefined : checkInt(req.endTime, 'end_time', Number.MIN_SAFE_INTEGER)) ??
    (typeof req.includeTrades === 'boolean' ? undefined : invalid('include_trades', 'include_trades must be a boolean')) ??
    (req.traceparent === undefined || (typeof req.traceparent === 'string' && isValidTraceparent(req.traceparent))
      ? undefined
      : invalid('traceparent', `traceparent is not a valid W3C traceparent: ${String(req.traceparent)}`, '00-<32 hex>-<16 hex>-<2 hex>'))
  );
}

/**
 * Encodes a request as one frame of text (send it as UTF-8). Returns an error instead of a frame
 * when the request would not survive the service's parser, so a bad row is dead-lettered here
 * rather than answered with "S-Exp parse error" after a round trip.
 */
export function encodeBacktestRequest(req: BacktestRequest): Result<string> {
  const bad = validateBacktestRequest(req);
  if (bad !== undefined) return fail(bad);
  const s = req.strategy;
  let out =
    '((action . "BACKTEST") (strategy (name . ' + printString(s.name) +
    ') (sma_short . ' + s.smaShort +
    ') (sma_long . ' + s.smaLong +
    ') (sl . ' + formatFloat(s.sl) +
    ') (tp . ' + formatFloat(s.tp) +
    ') (volume . ' + formatFloat(s.volume) +
    ') (indicator_type . ' + s.indicatorType +
    ') (timeframe . ' + s.timeframe + ')';
  if (s.filterEnabled !== undefined) out += s.filterEnabled ? ' (filter_enabled . t)' : ' (filter_enabled . nil)';
  if (s.filterTf !== undefined) out += ' (filter_tf . ' + printString(s.filterTf) + ')';
  if (s.filterPeriod !== undefined) out += ' (filter_period . ' + s.filterPeriod + ')';
  if (s.filterLogic !== undefined) out += ' (filter_logic . ' + printString(s.filterLogic) + ')';
  out += ') (request_id . ' + printString(req.requestId) + ')';
  if (req.dataId !== undefined) out += ' (data_id ' + printString(req.dataId) + ')';
  if (req.candlesFile !== undefined) out += ' (candles_file ' + printString(req.candlesFile) + ')';
  out += ' (symbol . ' + printString(req.symbol) + ')';
  if (req.timeframe !== undefined) out += ' (timeframe ' + req.timeframe + ')';
  if (req.startTime !== undefined) out += ' (start_time ' + req.startTime + ')';
  if (req.endTime !== undefined) out += ' (end_time ' + req.endTime + ')';
  out += req.includeTrades ? ' (include_trades . t)' : ' (include_trades . nil)';
  if (req.traceparent !== undefined) out += ' (traceparent . ' + printString(req.traceparent) + ')';
  return ok(out + ')');
}

/**
 * Decodes a request frame (used by the fake service and the bundled backtester). Accepts every
 * printed form of each field; unknown keys are ignored, as the service does. A missing
 * request_id fails with path `request_id`, so a service can answer "missing request_id".
 * Lenient where the service is: indicator_type defaults to `sma`, include_trades to false,
 * strategy.timeframe falls back to the top-level timeframe; an invalid traceparent is dropped
 * (the W3C rule: start a new trace rather than reject the request).
 */
export function decodeBacktestRequest(input: FrameInput, limits?: Partial<CodecLimits>): Result<BacktestRequest> {
  const lim = resolveLimits(limits);
  const text = frameText(input, lim);
  if (!text.ok) return text;
  const tree = parseFrameText(text.value, lim);
  if (!tree.ok) return tree;
  try {
    return ok(readRequest(tree.value));
  } catch (e) {
    return fail(fieldError(e));
  }
}

function readRequest(tree: SExpr): BacktestRequest {
  const top = requireEntries(tree, 'frame');
  let action: FieldValue | undefined;
  let strategy: SExpr | undefined;
  let requestId: FieldValue | undefined;
  let dataId: FieldValue | undefined;
  let candlesFile: FieldValue | undefined;
  let symbol: FieldValue | undefined;
  let timeframe: FieldValue | undefined;
  let startTime: FieldValue | undefined;
  let endTime: FieldValue | undefined;
  let includeTrades: FieldValue | undefined;
  let traceparent: FieldValue | undefined;
  // First occurrence of a key wins, as with Lisp's assoc.
  for (let i = 0; i < top.length; i++) {
    const e = top[i];
    const key = entryKey(e);
    if (key === undefined) throw notAnEntry(e, 'frame', i);
    switch (key) {
      case 'action': action ??= entryValue(e); break;
      case 'strategy': strategy ??= e; break;
      case 'request_id': requestId ??= entryValue(e); break;
      case 'data_id': dataId ??= entryValue(e); break;
      case 'candles_file': candlesFile ??= entryValue(e); break;
      case 'symbol': symbol ??= entryValue(e); break;
      case 'timeframe': timeframe ??= entryValue(e); break;
      case 'start_time': startTime ??= entryValue(e); break;
      case 'end_time': endTime ??= entryValue(e); break;
      case 'include_trades': includeTrades ??= entryValue(e); break;
      case 'traceparent': traceparent ??= entryValue(e); break;
    }
  }
  const act = needName(action, 'action');
  if (act !== 'BACKTEST') throw new FieldFailure('action', `action must be "BACKTEST", got ${quoteText(act)}`, '"BACKTEST"');
  if (strategy === undefined) throw new FieldFailure('strategy', 'missing strategy', '(strategy (k . v) ...)');
  const topTimeframe = optInt(timeframe, 'timeframe', 1);
  const req: Mutable<BacktestRequest> = {
    strategy: readStrategy(nestedAlist(strategy, 'strategy'), topTimeframe),
    requestId: needString(requestId, 'request_id'),
    symbol: needString(symbol, 'symbol'),
    includeTrades: optBool(includeTrades, 'include_trades') ?? false,
  };
  if (req.requestId.length === 0) throw new FieldFailure('request_id', 'request_id is empty', 'a non-empty string');
  const d = optString(dataId, 'data_id');
  if (d !== undefined) req.dataId = d;
  const c = optString(candlesFile, 'candles_file');
  if (c !== undefined) req.candlesFile = c;
  if (topTimeframe !== undefined) req.timeframe = topTimeframe;
  const st = optInt(startTime, 'start_time');
  if (st !== undefined) req.startTime = st;
  const et = optInt(endTime, 'end_time');
  if (et !== undefined) req.endTime = et;
  if (typeof traceparent === 'string' && isValidTraceparent(traceparent)) req.traceparent = traceparent;
  return req;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function readStrategy(entries: SExpr[], topTimeframe: number | undefined): StrategyParams {
  let name: FieldValue | undefined;
  let smaShort: FieldValue | undefined;
  let smaLong: FieldValue | undefined;
  let sl: FieldValue | undefined;
  let tp: FieldValue | undefined;
  let volume: FieldValue | undefined;
  let indicator: FieldValue | undefined;
  let timeframe: FieldValue | undefined;
  let filterEnabled: FieldValue | undefined;
  let filterTf: FieldValue | undefined;
  let filterPeriod: FieldValue | undefined;
  let filterLogic: FieldValue | undefined;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const key = entryKey(e);
    if (key === undefined) throw notAnEntry(e, 'strategy', i);
    switch (key) {
      case 'name': name ??= entryValue(e); break;
      case 'sma_short': smaShort ??= entryValue(e); break;
      case 'sma_long': smaLong ??= entryValue(e); break;
      case 'sl': sl ??= entryValue(e); break;
      case 'tp': tp ??= entryValue(e); break;
      case 'volume': volume ??= entryValue(e); break;
      case 'indicator_type': indicator ??= entryValue(e); break;
      case 'timeframe': timeframe ??= entryValue(e); break;
      case 'filter_enabled': filterEnabled ??= entryValue(e); break;
      case 'filter_tf': filterTf ??= entryValue(e); break;
      case 'filter_period': filterPeriod ??= entryValue(e); break;
      case 'filter_logic': filterLogic ??= entryValue(e); break;
    }
  }
  const indicatorName = optName(indicator, 'strategy.indicator_type')?.toLowerCase() ?? 'sma';
  if (!isIndicatorType(indicatorName)) {
    throw new FieldFailure('strategy.indicator_type', `unknown strategy.indicator_type ${indicatorName}`, INDICATOR_TYPES.join('|'));
  }
  const tf = optInt(timeframe, 'strategy.timeframe', 1) ?? topTimeframe;
  if (tf === undefined) throw new FieldFailure('strategy.timeframe', 'missing strategy.timeframe', 'an integer (minutes)');
  const s: Mutable<StrategyParams> = {
    name: needString(name, 'strategy.name'),
    smaShort: needInt(smaShort, 'strategy.sma_short', 0),
    smaLong: needInt(smaLong, 'strategy.sma_long', 0),
    sl: needFloat(sl, 'strategy.sl'),
    tp: needFloat(tp, 'strategy.tp'),
    volume: needFloat(volume, 'strategy.volume'),
    indicatorType: indicatorName,
    timeframe: tf,
  };
  const fe = optBool(filterEnabled, 'strategy.filter_enabled');
  if (fe !== undefined) s.filterEnabled = fe;
  const ftf = optName(filterTf, 'strategy.filter_tf');
  if (ftf !== undefined) s.filterTf = ftf;
  const fp = optInt(filterPeriod, 'strategy.filter_period', 0);
  if (fp !== undefined) s.filterPeriod = fp;
  const fl = optName(filterLogic, 'strategy.filter_logic');
  if (fl !== undefined) s.filterLogic = fl;
  return s;
}
