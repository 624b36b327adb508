/** Frames written exactly as the host's protocol notes show them, and the values they carry. */
import type { BacktestRequest } from '../../protocol/index.ts';

export const REFERENCE_REQUEST_FRAME =
  '((action . "BACKTEST") (strategy (name . "Foo-OOS") (sma_short . 5) (sma_long . 20) (sl . 0.3) (tp . 0.6) (volume . 0.01) (indicator_type . sma) (timeframe . 60)) (request_id . "0193b0b2-...") (data_id "USDJPY_M1") (candles_file "/data/historical/USDJPY_M1.csv") (symbol . "USDJPY") (timeframe 60) (start_time 1700000000) (end_time 1715552000) (include_trades . t))';

export const REFERENCE_REQUEST: BacktestRequest = {
  strategy: { name: 'Foo-OOS', smaShort: 5, smaLong: 20, sl: 0.3, tp: 0.6, volume: 0.01, indicatorType: 'sma', timeframe: 60 },
  requestId: '0193b0b2-...',
  dataId: 'USDJPY_M1',
  candlesFile: '/data/historical/USDJPY_M1.csv',
  symbol: 'USDJPY',
  timeframe: 60,
  startTime: 1700000000,
  endTime: 1715552000,
  includeTrades: true,
};

export const REFERENCE_SUCCESS_FRAME =
  '((type . "BACKTEST_RESULT") (result . ((strategy_name . "Foo-OOS") (trades . 212) (wins . 118) (losses . 94) (pnl . 3.21) (sharpe . 0.52) (sortino . 0.8) (max_drawdown . 0.031) (win_rate . 55.66) (profit_factor . 1.34) (adjusted_sharpe . 0.49) (sharpe_ci_lower . -0.1) (trade_list . (((timestamp . 1700003600) (pnl . 0.012)))) (request_id . "0193b0b2-..."))))';

export function referenceErrorFrame(error: string, requestId = '0193b0b2-...', strategyName = 'Foo-OOS'): string {
  return `((type . "BACKTEST_RESULT") (result . ((strategy_name . "${strategyName}") (error . "${error}") (sharpe . 0) (request_id . "${requestId}"))))`;
}

/** A success frame with the given result entries (already printed), for alias and value tests. */
export function resultFrame(entries: string): string {
  return `((type . "BACKTEST_RESULT") (result . (${entries})))`;
}

/** The metrics of the reference success frame, without trade_list and request_id. */
export const REFERENCE_METRICS =
  '(strategy_name . "Foo-OOS") (trades . 212) (wins . 118) (losses . 94) (pnl . 3.21) (sharpe . 0.52) (sortino . 0.8) (max_drawdown . 0.031) (win_rate . 55.66) (profit_factor . 1.34)';

/**
 * A success frame as the host's running service forwards it: the engine's line parsed and printed
 * again, so floats have at most 10 significant digits and no trailing zeros (`52.0` -> `52`,
 * `1.500` -> `1.5`), the engine's `inf` / `-inf` tokens arrive as strings, and request_id is
 * appended last inside result.
 */
export const SERVICE_SUCCESS_FRAME =
  '((type . "BACKTEST_RESULT") (result . ((strategy_name . "Foo-OOS") (trades . 212) (wins . 118) (losses . 94) (pnl . 52) (sharpe . 1.5) (sortino . "inf") (max_drawdown . 0.031) (win_rate . 52) (profit_factor . 2) (adjusted_sharpe . 1.234567891) (sharpe_ci_lower . "-inf") (trade_list . (((timestamp . 1700003600) (pnl . 0.012)) ((timestamp . 1700007200) (pnl . -1)))) (request_id . "0193b0b2-..."))))';

/** What SERVICE_SUCCESS_FRAME carries (win rate as a fraction). */
export const SERVICE_SUCCESS = {
  kind: 'success',
  requestId: '0193b0b2-...',
  strategyName: 'Foo-OOS',
  trades: 212,
  wins: 118,
  losses: 94,
  pnl: 52,
  sharpe: 1.5,
  sortino: Infinity,
  maxDrawdown: 0.031,
  winRate: 0.52,
  profitFactor: 2,
  adjustedSharpe: 1.234567891,
  sharpeCiLower: -Infinity,
  tradeList: [
    { timestamp: 1700003600, pnl: 0.012 },
    { timestamp: 1700007200, pnl: -1 },
  ],
} as const;

/** The engine's ERROR line for a request it could not parse, as the service puts it in `error` (unescaped). */
export const ENGINE_PARSE_ERROR_LINE = '((type . "ERROR") (error . "S-Exp parse error: invalid type: string \\"x\\", expected f64"))';

/** The service's error result carrying ENGINE_PARSE_ERROR_LINE whole, printed as it prints strings. */
export const SERVICE_WRAPPED_ERROR_FRAME = String.raw`((type . "BACKTEST_RESULT") (result . ((strategy_name . "Foo-OOS") (error . "((type . \"ERROR\") (error . \"S-Exp parse error: invalid type: string \\\"x\\\", expected f64\"))") (sharpe . 0) (request_id . "0193b0b2-..."))))`;
