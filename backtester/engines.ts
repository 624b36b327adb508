/**
 * Engines: what the backtest service does with a decoded request. An engine answers a result, or
 * null to never answer (a lost reply, for fault-injection); a thrown error becomes the service's
 * `Guardian process failure`.
 *
 *   echoEngine            instant, deterministic metrics from a hash of the strategy name
 *   failingEngine(text)   always the error result `text`
 *   smaCrossoverEngine()  a real backtest of the moving-average crossover over the request's M1 CSV
 *   withDelay(engine, ms) the same answers, `ms` later
 */
import { prng } from './synthetic-candles.ts';
import { join } from 'node:path';
import type { BacktestRequest, BacktestResultInput, BacktestSuccess, TradeRecord } from '../protocol/index.ts';
import { systemClock, type Clock } from '../runtime/clock.ts';
import { tradingDays, windowCandles } from './candles.ts';
import { CandleStore } from './csv.ts';
import { movingAverage, type AverageKind } from './indicators.ts';
import { computeMetrics, INITIAL_EQUITY } from './metrics.ts';
import { resample } from './resample.ts';
import { simulateCrossover } from './simulate.ts';

export type BacktestEngine = (req: BacktestRequest) => BacktestResultInput | null | Promise<BacktestResultInput | null>;

export const NO_DATA = 'No data available';
export const CSV_LOAD_ERROR = 'CSV load error';
/** The service's trade_list cap. */
export const MAX_TRADE_LIST = 500;
/** Units per lot. */
export const CONTRACT_SIZE = 100_000;

export function errorResult(req: BacktestRequest, error: string): BacktestResultInput {
  return { kind: 'error', requestId: req.requestId, strategyName: req.strategy.name, error };
}

// ---------------------------------------------------------------------------------------------
// echo

/** 32-bit FNV-1a of the UTF-8 bytes. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}


const round = (x: number, digits: number): number => Number(x.toFixed(digits));

export type EchoMetrics = Omit<BacktestSuccess, 'kind' | 'requestId' | 'strategyName' | 'tradeList'>;

/**
 * The echo engine's metrics for a strategy name: a pure function of fnv1a32(name), so tests can
 * predict them. Plausible and self-consistent: 20..299 trades, wins + losses = trades, win rate
 * = wins / trades (about 35-65 %), Sharpe -0.2..1.2 with pnl, profit factor and sortino on the
 * same side of break-even, drawdown 1-20 %.
 */
export function echoMetrics(name: string): EchoMetrics {
  const u = prng(fnv1a32(name));
  const trades = 20 + Math.floor(u() * 280);
  const wins = Math.round(trades * (0.35 + u() * 0.3));
  const sharpe = round(-0.2 + u() * 1.4, 3);
  return {
    trades,
    wins,
    losses: trades - wins,
    pnl: round(sharpe * (2 + u() * 4), 3),
    sharpe,
    sortino: round(sharpe * (1.2 + u() * 0.6), 3),
    maxDrawdown: round(0.01 + u() * 0.19, 4),
    winRate: wins / trades,
    profitFactor: round(Math.max(0.3, 1 + sharpe * (0.4 + u() * 0.4)), 3),
  };
}

/** The echo engine's trade list: 3 trades inside the request's window (or from 1,700,000,000 hourly). */
export function echoTrades(req: BacktestRequest): TradeRecord[] {
  const u = prng(fnv1a32(req.strategy.name) ^ 0x9e3779b9);
  const n = 3;
  const start = req.startTime ?? (req.endTime !== undefined ? req.endTime - 4 * 3600 : 1_700_000_000);
  const end = req.endTime ?? start + 4 * 3600;
  const out: TradeRecord[] = [];
  for (let k = 1; k <= n; k++) {
    out.push({ timestamp: Math.floor(start + ((end - start) * k) / (n + 1)), pnl: round(u() * 0.8 - 0.3, 3) });
  }
  return out;
}

/** Instant success: echoMetrics(strategy name), request id and name echoed, trade_list iff include_trades. */
export const echoEngine: BacktestEngine = (req) => {
  const result: BacktestSuccess = { kind: 'success', requestId: req.requestId, strategyName: req.strategy.name, ...echoMetrics(req.strategy.name) };
  return req.includeTrades ? { ...result, tradeList: echoTrades(req) } : result;
};

// ---------------------------------------------------------------------------------------------
// failing

export function failingEngine(text: string): BacktestEngine {
  return (req) => errorResult(req, text);
}

// ---------------------------------------------------------------------------------------------
// delay

/** The same answers, `ms` later on `clock` (errors thrown by `engine` are thrown later too). */
export function withDelay(engine: BacktestEngine, ms: number, clock: Clock = systemClock): BacktestEngine {
  if (!(ms > 0)) return engine;
  return (req) =>
    new Promise<void>((resolve) => {
      clock.setTimeout(resolve, ms);
    }).then(() => engine(req));
}

// ---------------------------------------------------------------------------------------------
// sma crossover

export interface SmaEngineOptions {
  /** Shared parsed-file cache (one per engine by default). */
  readonly store?: CandleStore;
  /** Where to look when a request has no candles_file: `<dataDir>/<data_id>.csv`, else `<dataDir>/<SYMBOL>_M1.csv`. */
  readonly dataDir?: string;
  /** Units per lot (money = price difference * volume * contractSize). Default 100,000. */
  readonly contractSize?: number;
  /** Default 10,000. */
  readonly initialEquity?: number;
}

/** Which average an indicator_type runs: `ema` for ema, `sma` for everything else (the others need more than two periods). */
export function averageKindFor(indicatorType: string): AverageKind {
  return indicatorType === 'ema' ? 'ema' : 'sma';
}

export function candlesPathFor(req: BacktestRequest, dataDir?: string): string | undefined {
  if (req.candlesFile !== undefined && req.candlesFile !== '') return req.candlesFile;
  if (dataDir === undefined) return undefined;
  return join(dataDir, `${req.dataId ?? `${req.symbol}_M1`}.csv`);
}

/**
 * A real backtest: M1 CSV -> window [start_time, end_time] (inclusive, applied to the M1 bars
 * before resampling, so no price outside the window is used and indicators warm up inside it)
 * -> resample to the request's `timeframe` (the top-level one, else the strategy's) -> fast and
 * slow averages of the closes (periods sma_short, sma_long) -> crossover simulation with sl/tp
 * -> metrics. Errors: `No data available` (no path, missing file, no rows, or no bar in the
 * window), `CSV load error: ...` (unreadable or malformed file).
 */
export function smaCrossoverEngine(options: SmaEngineOptions = {}): BacktestEngine {
  const store = options.store ?? new CandleStore();
  const contractSize = options.contractSize ?? CONTRACT_SIZE;
  const initialEquity = options.initialEquity ?? INITIAL_EQUITY;
  return async (req) => {
    const path = candlesPathFor(req, options.dataDir);
    if (path === undefined) return errorResult(req, NO_DATA);
    const loaded = await store.load(path);
    if (loaded.kind === 'no-data') return errorResult(req, NO_DATA);
    if (loaded.kind === 'bad') return errorResult(req, `${CSV_LOAD_ERROR}: ${loaded.detail}`);
    const inWindow = windowCandles(loaded.candles, req.startTime, req.endTime);
    if (inWindow.length === 0) return errorResult(req, NO_DATA);
    const s = req.strategy;
    const bars = resample(inWindow, req.timeframe ?? s.timeframe);
    // A window that starts mid-bucket: stamp that first bar with its first M1 bar's time, so no
    // reported time is earlier than start_time (resample returns fresh arrays).
    if (bars.time[0] < inWindow.time[0]) bars.time[0] = inWindow.time[0];
    const kind = averageKindFor(s.indicatorType);
    const fast = movingAverage(kind, bars.close, s.smaShort);
    const slow = movingAverage(kind, bars.close, s.smaLong);
    const trades = simulateCrossover(bars, fast, slow, { sl: s.sl, tp: s.tp });
    const m = computeMetrics(trades, tradingDays(bars.time), { moneyPerPriceUnit: s.volume * contractSize, initialEquity });
    const result: BacktestSuccess = { kind: 'success', requestId: req.requestId, strategyName: s.name, ...m };
    if (!req.includeTrades) return result;
    const tradeList = trades.slice(-MAX_TRADE_LIST).map((t) => ({ timestamp: t.exitTime, pnl: t.pnl }));
    return { ...result, tradeList };
  };
}
