/**
 * An OOS request as the domain sees it: the states a request goes through, what a host asks for,
 * and how a stored strategy becomes a BACKTEST request. Pure.
 */
import { join } from 'node:path';
import { isIndicatorType, type BacktestRequest } from '../protocol/index.ts';

/**
 * `superseded` (bridge mode): a newer request from the host for the same strategy replaced this
 * live one; terminal, never sent again, and a result that still comes is stored, not forwarded.
 */
export const REQUEST_STATES = ['pending', 'in_flight', 'done', 'dead', 'superseded'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** Who asked for a request: this runtime's own flow (`local`), or the trading host through the bridge's intake (`host`). */
export const REQUEST_ORIGINS = ['local', 'host'] as const;
export type RequestOrigin = (typeof REQUEST_ORIGINS)[number];

/** What the host asks for: a backtest request without the id and trace context shoal assigns. */
export type OosRequestInput = Omit<BacktestRequest, 'requestId' | 'traceparent'>;

/** The parts of a stored strategy its OOS request is built from. */
export interface StrategyDefinition {
  readonly name: string;
  readonly symbol: string;
  readonly timeframe: number;
  readonly indicatorType: string;
  /** The host's indicator parameters, as it stores them (sma_short, sma_long, filter_*). */
  readonly params: Readonly<Record<string, unknown>> | null;
  readonly sl: number | null;
  readonly tp: number | null;
  readonly volume: number;
}

/**
 * The BACKTEST request for a strategy's OOS run. sma_short, sma_long and the filter_* keys come
 * from the params JSON; indicator type, timeframe, sl, tp and volume from their columns (params
 * keys of the same name fill in when sl or tp is NULL). An unusable record is missing data.
 */
export function oosRequestFor(s: StrategyDefinition, dataDir: string): { ok: true; request: OosRequestInput } | { ok: false; error: string } {
  const p = s.params ?? {};
  const problems: string[] = [];
  const int = (key: string, v: unknown): number => {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) return v;
    problems.push(`${key} must be an integer >= 1, got ${JSON.stringify(v)}`);
    return 0;
  };
  const finite = (key: string, v: unknown): number => {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    problems.push(`${key} must be a finite number, got ${JSON.stringify(v)}`);
    return 0;
  };
  const smaShort = int('params.sma_short', p.sma_short);
  const smaLong = int('params.sma_long', p.sma_long);
  const sl = finite('sl', s.sl ?? p.sl);
  const tp = finite('tp', s.tp ?? p.tp);
  const volume = finite('volume', s.volume);
  const timeframe = int('timeframe', s.timeframe);
  if (!isIndicatorType(s.indicatorType)) problems.push(`indicator_type ${JSON.stringify(s.indicatorType)} is not one the service knows`);
  if (typeof s.symbol !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(s.symbol)) problems.push(`symbol ${JSON.stringify(s.symbol)} cannot name a data file`);
  if (problems.length > 0) return { ok: false, error: `strategy ${s.name}: cannot build its OOS request: ${problems.join('; ')}` };
  const filter: Record<string, unknown> = {};
  if (typeof p.filter_enabled === 'boolean') filter.filterEnabled = p.filter_enabled;
  if (typeof p.filter_tf === 'string') filter.filterTf = p.filter_tf;
  if (typeof p.filter_period === 'number' && Number.isSafeInteger(p.filter_period)) filter.filterPeriod = p.filter_period;
  if (typeof p.filter_logic === 'string') filter.filterLogic = p.filter_logic;
  const dataId = `${s.symbol}_M1`;
  return {
    ok: true,
    request: {
      strategy: { name: `${s.name}-OOS`, smaShort, smaLong, sl, tp, volume, indicatorType: s.indicatorType as OosRequestInput['strategy']['indicatorType'], timeframe, ...filter },
      dataId,
      candlesFile: join(dataDir, `${dataId}.csv`),
      symbol: s.symbol,
      timeframe,
      includeTrades: true,
    },
  };
}

