/**
 * shoal's wire codec for the backtest service: S-expression frames in, typed messages out, and
 * back. Pure (no I/O), never throws on bad input; decoders answer with a Result.
 */
export type { CodecError, CodecErrorKind, LimitName, Result } from './result.ts';
export { ok, fail } from './result.ts';
export { DEFAULT_LIMITS, resolveLimits, type CodecLimits } from './limits.ts';
export type { FrameInput } from './frame.ts';

// Generic value tree
export { SSymbol, SDotted, sym, dotted, pair, isSymbol, sexprEqual, type SExpr } from './sexpr.ts';
export { parseSExpr } from './reader.ts';
export { printSExpr, printString } from './printer.ts';
export { quoteText } from './quote.ts';
export { formatFloat, formatInt, formatNumber, nonFiniteFromText } from './numbers.ts';

// Messages
export {
  INDICATOR_TYPES,
  isIndicatorType,
  validateBacktestRequest,
  encodeBacktestRequest,
  decodeBacktestRequest,
  type IndicatorType,
  type StrategyParams,
  type BacktestRequest,
} from './backtest-request.ts';
export {
  MISSING_REQUEST_ID,
  BACKTEST_RESULT_TYPE,
  decodeBacktestResult,
  encodeBacktestResult,
  type TradeRecord,
  type BacktestSuccess,
  type BacktestFailure,
  type BacktestResult,
  type BacktestResultInput,
} from './backtest-result.ts';
export { classifyServiceError, unwrapServiceError, type ServiceErrorCategory, type ServiceErrorClass } from './error-class.ts';

// Trace context
export {
  createTraceparent,
  childTraceparent,
  parseTraceparent,
  traceContextOf,
  formatTraceparent,
  isValidTraceparent,
  isSampled,
  newTraceId,
  newSpanId,
  type TraceContext,
} from './traceparent.ts';
