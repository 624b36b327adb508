/**
 * The facade's own types: what a host gives and gets. They are camelCase throughout and are not
 * store rows; the mappings to and from the store are here, pure, so the boundary is one file.
 */
import type { CandleVerdict } from '../domain/candles/index.ts';
import type { Rank } from '../domain/ranks.ts';
import type { RequestState } from '../domain/request.ts';
import type { EnqueueOutcome } from '../persistence/outbox.ts';
import type { OosMetrics } from '../persistence/results.ts';
import type { StrategyInput } from '../persistence/strategies.ts';
import type { OosResultRecord } from '../persistence/results.ts';
import type { GateReply } from '../actors/data-gate.ts';
import type { RetentionPass } from '../actors/janitor.ts';
import type { CheckpointEvent } from '../actors/db-writer.ts';

/** A strategy as the host defines it. `params` keys are camelCase here (smaShort); the store keeps the host's snake_case. */
export interface Strategy {
  readonly name: string;
  readonly symbol: string;
  /** Minutes. */
  readonly timeframe: number;
  readonly direction: string;
  readonly indicatorType: string;
  /** Indicator parameters: smaShort, smaLong, filterEnabled, filterTf, filterPeriod, filterLogic, and any others the host keeps. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly volume: number;
  readonly sl?: number | null;
  readonly tp?: number | null;
  readonly sharpe?: number | null;
  readonly profitFactor?: number | null;
  /** Fraction 0..1. */
  readonly winRate?: number | null;
  readonly trades?: number | null;
  /** Fraction 0..1. */
  readonly maxDrawdown?: number | null;
  readonly cpcvPassRate?: number | null;
  readonly cpcvMedianDrawdown?: number | null;
  /** Rank of a new strategy (default INCUBATOR); an existing strategy's rank moves only by evaluation. */
  readonly rank?: Rank;
}

/** What enqueue answered. */
export type EnqueueResult =
  | { readonly status: 'enqueued'; readonly requestId: string }
  /** The same request id was enqueued before (an idempotent retry of the call). */
  | { readonly status: 'exists'; readonly requestId: string; readonly state: RequestState }
  /** The strategy already has a live request; at most one per strategy. */
  | { readonly status: 'duplicateLive'; readonly existingRequestId: string }
  /** The data gate refused the candle file; nothing was enqueued (a data_invalid failure is recorded and alerted). */
  | { readonly status: 'rejected'; readonly reason: string; readonly verdict: CandleVerdict }
  /** The request could not be judged or stored; nothing was enqueued. */
  | { readonly status: 'error'; readonly error: string };

/** A completed OOS backtest's metrics (fractions for rates and drawdown; non-finite values as JS Infinity/NaN). */
export interface OosResult {
  readonly trades: number;
  readonly wins: number | null;
  readonly losses: number | null;
  readonly pnl: number | null;
  readonly sharpe: number;
  readonly sortino: number | null;
  readonly maxDrawdown: number;
  readonly winRate: number;
  readonly profitFactor: number;
  readonly adjustedSharpe: number | null;
  readonly sharpeCiLower: number | null;
  readonly tradeCount: number;
}

/**
 * How a request ended. Every request that ends without a result is in the dead-letter mailbox:
 * `failed` when the last failure was not retryable (the service or shoal refused the request
 * itself; a replay helps only once the cause is fixed), `deadLettered` when it used up its
 * attempts on failures that could pass (a replay may succeed as is).
 */
export type RequestOutcome =
  | { readonly status: 'done'; readonly requestId: string; readonly strategyName: string; readonly result: OosResult }
  | { readonly status: 'failed' | 'deadLettered'; readonly requestId: string; readonly strategyName: string; readonly reason: string; readonly deadLetterId: number };

/** What happened, told once it is durable. */
export type ShoalEvent =
  | ({ readonly type: 'result' } & Extract<RequestOutcome, { status: 'done' }>)
  | ({ readonly type: 'failed' } & Extract<RequestOutcome, { status: 'failed' | 'deadLettered' }>)
  /** A message, frame or request went to the dead-letter mailbox. */
  | { readonly type: 'deadLettered'; readonly deadLetterId: number; readonly source: string; readonly requestId?: string; readonly reason: string }
  | { readonly type: 'rankChanged'; readonly strategyName: string; readonly from: Rank; readonly to: Rank; readonly reason: string }
  /** A socket refused a connection (CURVE: a client key not allowed, a peer without CURVE), or was refused. */
  | { readonly type: 'connectionRefused'; readonly source: string; readonly detail: string }
  /** A supervisor restarted an actor. */
  | { readonly type: 'restart'; readonly path: string; readonly error?: string }
  /** A retention pass deleted old finished work or stored daily figures, or failed (actors/janitor.ts). */
  | ({ readonly type: 'retention' } & RetentionPass)
  /** A periodic WAL checkpoint started (with the WAL's size) or finished (frames copied, how long). */
  | ({ readonly type: 'checkpoint' } & CheckpointEvent);

export type ShoalEventType = ShoalEvent['type'];

export interface ShoalStatus {
  readonly running: boolean;
  readonly pid: number;
  readonly startedAt: number;
  readonly uptimeMs: number;
  readonly outbox: Readonly<Record<RequestState, number>>;
  /** Age of the oldest request waiting to be sent or answered, or null when none is live. */
  readonly oldestLiveAgeMs: number | null;
  readonly deadLetters: { readonly dead: number; readonly replaying: number };
  /** Actor restarts since this runtime started. */
  readonly restarts: number;
}

// ---- mappings ---------------------------------------------------------------------------------

/** camelCase -> snake_case for a params key (smaShort -> sma_short); keys already snake_case stay. */
export function snakeKey(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The store's form of a host's strategy. */
export function strategyInput(s: Strategy): StrategyInput {
  return {
    name: s.name,
    symbol: s.symbol,
    timeframe: s.timeframe,
    direction: s.direction,
    indicatorType: s.indicatorType,
    params: Object.fromEntries(Object.entries(s.params).map(([k, v]) => [snakeKey(k), v])),
    volume: s.volume,
    sl: s.sl,
    tp: s.tp,
    sharpe: s.sharpe,
    profitFactor: s.profitFactor,
    winRate: s.winRate,
    trades: s.trades,
    maxDd: s.maxDrawdown,
    cpcvPassRate: s.cpcvPassRate,
    cpcvMedianDd: s.cpcvMedianDrawdown,
    rank: s.rank,
  };
}

export function enqueueResult(reply: GateReply): EnqueueResult {
  if (reply.type === 'dataGate') {
    return reply.status === 'rejected' ? { status: 'rejected', reason: reply.detail, verdict: reply.verdict } : { status: 'error', error: reply.error };
  }
  const o: EnqueueOutcome = reply;
  switch (o.status) {
    case 'enqueued':
      return { status: 'enqueued', requestId: o.requestId };
    case 'exists':
      return { status: 'exists', requestId: o.requestId, state: o.state };
    case 'duplicate_live':
      return { status: 'duplicateLive', existingRequestId: o.existingRequestId };
  }
}

/** From the metrics a result was applied with. */
export function resultFromMetrics(m: OosMetrics): OosResult {
  return {
    trades: m.trades,
    wins: m.wins ?? null,
    losses: m.losses ?? null,
    pnl: m.pnl ?? null,
    sharpe: m.sharpe,
    sortino: m.sortino ?? null,
    maxDrawdown: m.maxDd,
    winRate: m.winRate,
    profitFactor: m.profitFactor,
    adjustedSharpe: m.adjustedSharpe ?? null,
    sharpeCiLower: m.sharpeCiLower ?? null,
    tradeCount: m.tradeList?.length ?? 0,
  };
}

/** From the stored result row (the columns the store requires are present on an applied result). */
export function resultFromRecord(r: OosResultRecord): OosResult {
  return {
    trades: r.trades,
    wins: r.wins,
    losses: r.losses,
    pnl: r.pnl,
    sharpe: r.sharpe ?? Number.NaN,
    sortino: r.sortino,
    maxDrawdown: r.maxDd ?? Number.NaN,
    winRate: r.winRate ?? Number.NaN,
    profitFactor: r.profitFactor ?? Number.NaN,
    adjustedSharpe: r.adjustedSharpe,
    sharpeCiLower: r.sharpeCiLower,
    tradeCount: r.tradeList.length,
  };
}
