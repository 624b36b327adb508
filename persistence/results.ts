/**
 * Applying an OOS result: the result row, its trades, the strategy's OOS metrics and the
 * completion of the outbox row happen in one transaction step, so a result is either fully
 * applied or not at all, and applying it again has no effect.
 *
 * Non-finite metrics: +/-Infinity are stored as REAL infinities; a NaN metric is NULL in its
 * column and named in `nan_metrics` (nan-metrics.ts), and getResult gives NaN back. The
 * strategy's OOS columns hold what the rank evaluator reads: there a NaN is NULL, unknown, which
 * never passes a criterion. The OOS sharpe may not be NaN: NULL there means "never validated".
 */
import type { CommandSpec } from './command.ts';
import type { Store } from './connection.ts';
import { insertFailureEvent } from './events.ts';
import { resolveRequestLetters } from './dead-letters.ts';
import { nanMarker, readMetric } from './nan-metrics.ts';
import { insertForward } from './host-forwards.ts';
import { completeRequest, requestBrief } from './outbox.ts';
import { perConnection, prepared } from './prepared.ts';
import type { OosResultsTable, RequestState } from './schema.ts';
import { requireInteger, requireText } from './sql-helpers.ts';
import { recordOosMetrics } from './strategies.ts';

// Commands ---------------------------------------------------------------------------------------

export interface TradeInput {
  /** Unix ms of the trade (the wire's Unix seconds x 1000). */
  timestamp: number;
  pnl: number;
}

/** A successful BACKTEST_RESULT, decoded. Error results are failed attempts, never metrics. */
export interface OosMetrics {
  trades: number;
  wins?: number | null;
  losses?: number | null;
  pnl?: number | null;
  sharpe: number;
  sortino?: number | null;
  maxDd: number;
  /** A FRACTION 0..1 (the decoder converts the wire's percent). */
  winRate: number;
  profitFactor: number;
  adjustedSharpe?: number | null;
  sharpeCiLower?: number | null;
  tradeList?: readonly TradeInput[];
}

/**
 * Stores a result and completes its request, atomically: result row, trade rows, the strategy's
 * OOS metrics (change_seq bumped) and the outbox row marked done. A late result for a request
 * that was retried or dead-lettered still completes it, once.
 */
export interface ApplyResultCommand {
  type: 'applyResult';
  requestId: string;
  result: OosMetrics;
  /** Who received the result (actor path); default 'results'. */
  source?: string;
  /**
   * The frame as the service sent it. For a request of the host (bridge mode) it is kept to be
   * forwarded, in this same commit; a superseded request's result is stored, not forwarded.
   */
  frame?: string;
}

export type ApplyResultOutcome =
  | {
      type: 'applyResult';
      status: 'applied';
      requestId: string;
      strategyName: string;
      /** The request's state before: in_flight normally; pending/dead for a late result. */
      previousState: RequestState;
      /** False when the strategy already holds the result of a newer request. */
      strategyUpdated: boolean;
      changeSeq: number | null;
      tradesInserted: number;
      /** A forward to the host was written with it. */
      forward: boolean;
      /** When the request was enqueued and last sent (Unix ms), and its stored trace context: for latency and tracing. */
      enqueuedAt: number;
      sentAt: number | null;
      traceparent: string | null;
    }
  | { type: 'applyResult'; status: 'duplicate'; requestId: string }
  | { type: 'applyResult'; status: 'orphan'; requestId: string };

// Applying -------------------------------------------------------------------------------------

type ResultArgs = {
  requestId: string;
  strategyName: string;
  trades: number;
  wins: number | null;
  losses: number | null;
  pnl: number | null;
  sharpe: number;
  sortino: number | null;
  maxDd: number;
  winRate: number;
  profitFactor: number;
  adjustedSharpe: number | null;
  sharpeCiLower: number | null;
  nanMetrics: string | null;
  now: number;
};

/** Trades per multi-row insert: one statement call instead of a call per trade (a real result carries hundreds). */
const TRADE_CHUNK = 64;

type TradeChunkArgs = { requestId: string } & Record<`t${number}` | `p${number}`, number>;

const statements = perConnection(({ sqlite, db }: Store) => ({
  insertResult: prepared(sqlite, ($: ResultArgs) =>
    db
      .insertInto('oos_results')
      .values({
        request_id: $.requestId,
        strategy_name: $.strategyName,
        trades: $.trades,
        wins: $.wins,
        losses: $.losses,
        pnl: $.pnl,
        sharpe: $.sharpe,
        sortino: $.sortino,
        max_dd: $.maxDd,
        win_rate: $.winRate,
        profit_factor: $.profitFactor,
        adjusted_sharpe: $.adjustedSharpe,
        sharpe_ci_lower: $.sharpeCiLower,
        received_at: $.now,
        nan_metrics: $.nanMetrics,
      })
      .onConflict((oc) => oc.doNothing()),
  ),
  insertTrade: prepared(sqlite, ($: { requestId: string; timestamp: number; pnl: number }) =>
    db
      .insertInto('oos_trades')
      .values({ request_id: $.requestId, timestamp: $.timestamp, pnl: $.pnl })
      .onConflict((oc) => oc.doNothing()),
  ),
  insertTradeChunk: prepared(sqlite, ($: TradeChunkArgs) =>
    db
      .insertInto('oos_trades')
      .values(Array.from({ length: TRADE_CHUNK }, (_, i) => ({ request_id: $.requestId, timestamp: $[`t${i}`], pnl: $[`p${i}`] })))
      .onConflict((oc) => oc.doNothing()),
  ),
  get: prepared(sqlite, ($: { requestId: string }) => db.selectFrom('oos_results').selectAll().where('request_id', '=', $.requestId)),
  trades: prepared(sqlite, ($: { requestId: string }) =>
    db.selectFrom('oos_trades').select(['timestamp', 'pnl']).where('request_id', '=', $.requestId).orderBy('timestamp'),
  ),
}));

function validate(context: string, r: OosMetrics): void {
  if (typeof r !== 'object' || r === null) throw new TypeError(`${context}: result is missing`);
  requireInteger(context, 'trades', r.trades);
  // The wire sends a percent; storing 55.7 as a win rate would silently break rank criteria.
  if (!(r.winRate >= 0 && r.winRate <= 1)) throw new RangeError(`${context}: winRate must be a fraction in 0..1, got ${r.winRate}`);
  // Stored as NULL, a NaN sharpe would read as "never validated" and ask for OOS again forever.
  if (typeof r.sharpe !== 'number' || Number.isNaN(r.sharpe)) throw new RangeError(`${context}: sharpe must be a number, got ${String(r.sharpe)}`);
  for (const t of r.tradeList ?? []) requireInteger(context, 'tradeList[].timestamp', t.timestamp);
}

function applyResult(store: Store, c: ApplyResultCommand, now: number): ApplyResultOutcome {
  const context = `applyResult request=${c.requestId}`;
  requireText(context, 'requestId', c.requestId);
  const source = c.source ?? 'results';
  const request = requestBrief(store, c.requestId);
  if (!request) {
    insertFailureEvent(store, { kind: 'orphan_result', source, requestId: c.requestId, detail: 'result for an unknown request id' }, now);
    return { type: 'applyResult', status: 'orphan', requestId: c.requestId };
  }
  if (request.state === 'done') {
    insertFailureEvent(store, { kind: 'duplicate_result', source, requestId: c.requestId, detail: 'request already completed' }, now);
    return { type: 'applyResult', status: 'duplicate', requestId: c.requestId };
  }
  const r = c.result;
  validate(context, r);
  const s = statements(store);
  const metrics = {
    pnl: r.pnl ?? null,
    sharpe: r.sharpe,
    sortino: r.sortino ?? null,
    max_dd: r.maxDd,
    win_rate: r.winRate,
    profit_factor: r.profitFactor,
    adjusted_sharpe: r.adjustedSharpe ?? null,
    sharpe_ci_lower: r.sharpeCiLower ?? null,
  };
  const inserted = s.insertResult.run({
    requestId: c.requestId,
    strategyName: request.strategy_name,
    trades: r.trades,
    wins: r.wins ?? null,
    losses: r.losses ?? null,
    pnl: metrics.pnl,
    sharpe: metrics.sharpe,
    sortino: metrics.sortino,
    maxDd: metrics.max_dd,
    winRate: metrics.win_rate,
    profitFactor: metrics.profit_factor,
    adjustedSharpe: metrics.adjusted_sharpe,
    sharpeCiLower: metrics.sharpe_ci_lower,
    nanMetrics: nanMarker(metrics),
    now,
  });
  if (inserted.changes === 0) {
    // A result row without a done request cannot be written by this module; count it as a duplicate.
    insertFailureEvent(store, { kind: 'duplicate_result', source, requestId: c.requestId, detail: 'result row already present' }, now);
    return { type: 'applyResult', status: 'duplicate', requestId: c.requestId };
  }
  const tradesInserted = insertTrades(store, c.requestId, r.tradeList ?? []);
  const changeSeq = recordOosMetrics(store, request.strategy_name, { requestId: c.requestId, enqueuedAt: request.enqueued_at }, r, now);
  completeRequest(store, c.requestId, now);
  const forward = request.origin === 'host' && request.state !== 'superseded' && c.frame !== undefined;
  if (forward) insertForward(store, c.requestId, c.frame!, now);
  // A request that went dead has a letter to settle: one completed after dying (a late result),
  // or after a replay requeued it (a requeue resets attempts, not sends). Others have none, and
  // the common path skips the lookup.
  if (request.state === 'dead' || request.sends > request.attempts) resolveRequestLetters(store, c.requestId, now);
  return {
    type: 'applyResult',
    status: 'applied',
    requestId: c.requestId,
    strategyName: request.strategy_name,
    previousState: request.state,
    strategyUpdated: changeSeq !== null,
    changeSeq,
    tradesInserted,
    forward,
    enqueuedAt: request.enqueued_at,
    sentAt: request.last_sent_at,
    traceparent: request.traceparent,
  };
}

export const applyResultSpec: CommandSpec<ApplyResultCommand, ApplyResultOutcome> = {
  type: 'applyResult',
  apply: applyResult,
  describe: (c) => `applyResult (oos_results) request=${c.requestId}`,
};

/** Inserts a result's trades, whole chunks in one statement each; a repeated timestamp is skipped. */
function insertTrades(store: Store, requestId: string, trades: readonly { timestamp: number; pnl: number }[]): number {
  const s = statements(store);
  let inserted = 0;
  let i = 0;
  if (trades.length >= TRADE_CHUNK) {
    const args: Record<string, unknown> = { requestId };
    for (; i + TRADE_CHUNK <= trades.length; i += TRADE_CHUNK) {
      for (let k = 0; k < TRADE_CHUNK; k++) {
        args[`t${k}`] = trades[i + k].timestamp;
        args[`p${k}`] = trades[i + k].pnl;
      }
      inserted += s.insertTradeChunk.run(args as TradeChunkArgs).changes;
    }
  }
  for (; i < trades.length; i++) inserted += s.insertTrade.run({ requestId, timestamp: trades[i].timestamp, pnl: trades[i].pnl }).changes;
  return inserted;
}

// Reads ------------------------------------------------------------------------------------------

export interface OosResultRecord {
  requestId: string;
  strategyName: string;
  trades: number;
  wins: number | null;
  losses: number | null;
  pnl: number | null;
  sharpe: number | null;
  sortino: number | null;
  maxDd: number | null;
  winRate: number | null;
  profitFactor: number | null;
  adjustedSharpe: number | null;
  sharpeCiLower: number | null;
  receivedAt: number;
  tradeList: { timestamp: number; pnl: number }[];
}

function toResult(row: OosResultsTable, tradeList: { timestamp: number; pnl: number }[]): OosResultRecord {
  const nan = row.nan_metrics;
  return {
    requestId: row.request_id,
    strategyName: row.strategy_name,
    trades: row.trades,
    wins: row.wins,
    losses: row.losses,
    pnl: readMetric(row.pnl, 'pnl', nan),
    sharpe: readMetric(row.sharpe, 'sharpe', nan),
    sortino: readMetric(row.sortino, 'sortino', nan),
    maxDd: readMetric(row.max_dd, 'max_dd', nan),
    winRate: readMetric(row.win_rate, 'win_rate', nan),
    profitFactor: readMetric(row.profit_factor, 'profit_factor', nan),
    adjustedSharpe: readMetric(row.adjusted_sharpe, 'adjusted_sharpe', nan),
    sharpeCiLower: readMetric(row.sharpe_ci_lower, 'sharpe_ci_lower', nan),
    receivedAt: row.received_at,
    tradeList,
  };
}

/** The stored result of a request with its trades (oldest first), or undefined. */
export function getResult(store: Store, requestId: string): OosResultRecord | undefined {
  const s = statements(store);
  const row = s.get.get({ requestId });
  return row ? toResult(row, s.trades.all({ requestId })) : undefined;
}
