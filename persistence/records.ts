/**
 * What the store hands out: camelCase records with JSON columns parsed, mapped from the rows of
 * schema.ts. Callers never see column names.
 */
import type { Selectable } from 'kysely';
import type {
  DeadLetterState,
  DeadLettersTable,
  FailureEventsTable,
  FailureKind,
  OosRequestsTable,
  Rank,
  RequestOrigin,
  RequestState,
  StrategiesTable,
  SupervisorEventKind,
  SupervisorEventsTable,
} from './schema.ts';

/** One send of a request; `outcome`/`at`/`error` are filled in when that attempt ends. */
export interface AttemptEntry {
  attempt: number;
  sentAt: number;
  outcome?: string;
  at?: number;
  error?: string;
}

export interface OutboxRequest {
  requestId: string;
  strategyName: string;
  payload: Record<string, unknown>;
  state: RequestState;
  attempts: number;
  nextAttemptAt: number;
  leaseUntil: number | null;
  traceparent: string | null;
  enqueuedAt: number;
  firstSentAt: number | null;
  lastSentAt: number | null;
  completedAt: number | null;
  lastError: string | null;
  history: AttemptEntry[];
  /** local, or host (taken in by the bridge). */
  origin: RequestOrigin;
  /** The newer host request that superseded this one, else null. */
  supersededBy: string | null;
}

export interface StrategyRecord {
  name: string;
  symbol: string;
  timeframe: number;
  direction: string;
  indicatorType: string;
  params: Record<string, unknown>;
  sl: number | null;
  tp: number | null;
  volume: number;
  sharpe: number | null;
  profitFactor: number | null;
  winRate: number | null;
  trades: number | null;
  maxDd: number | null;
  oosSharpe: number | null;
  oosProfitFactor: number | null;
  oosWinRate: number | null;
  oosMaxDd: number | null;
  oosTrades: number | null;
  oosRequestId: string | null;
  oosCompletedAt: number | null;
  rank: Rank;
  cpcvPassRate: number | null;
  cpcvMedianDd: number | null;
  createdAt: number;
  updatedAt: number;
  changeSeq: number;
}

export interface DeadLetter {
  id: number;
  source: string;
  message: unknown;
  error: string;
  stack: string | null;
  attempts: number;
  firstFailedAt: number;
  lastFailedAt: number;
  traceparent: string | null;
  replayCount: number;
  state: DeadLetterState;
  requestId: string | null;
  resolvedAt: number | null;
  note: string | null;
}

export interface FailureEvent {
  id: number;
  at: number;
  kind: FailureKind;
  source: string;
  requestId: string | null;
  detail: string | null;
}

export interface SupervisorEvent {
  id: number;
  at: number;
  kind: SupervisorEventKind;
  path: string;
  childId: string | null;
  detail: string | null;
}

interface HistoryJson {
  attempt: number;
  sent_at: number;
  outcome?: string;
  at?: number;
  error?: string;
}

export function toAttempts(history: string): AttemptEntry[] {
  if (history === '[]') return []; // most rows: no attempt has failed
  return (JSON.parse(history) as HistoryJson[]).map((h) => {
    const entry: AttemptEntry = { attempt: h.attempt, sentAt: h.sent_at };
    if (h.outcome !== undefined) entry.outcome = h.outcome;
    if (h.at !== undefined) entry.at = h.at;
    if (h.error !== undefined) entry.error = h.error;
    return entry;
  });
}

/**
 * The attempts of a request: the finished ones from its history, then the last send when the
 * history does not hold it (see OosRequestsTable.sends).
 */
export function requestAttempts(row: Pick<Selectable<OosRequestsTable>, 'history' | 'sends' | 'state' | 'last_sent_at' | 'completed_at'>): AttemptEntry[] {
  const attempts = toAttempts(row.history);
  if (row.sends > attempts.length && row.last_sent_at !== null) {
    const last: AttemptEntry = { attempt: row.sends, sentAt: row.last_sent_at };
    if (row.state === 'done' && row.completed_at !== null) {
      last.outcome = 'result';
      last.at = row.completed_at;
    }
    attempts.push(last);
  }
  return attempts;
}

export function toOutboxRequest(row: Selectable<OosRequestsTable>): OutboxRequest {
  return {
    requestId: row.request_id,
    strategyName: row.strategy_name,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    leaseUntil: row.lease_until,
    traceparent: row.traceparent,
    enqueuedAt: row.enqueued_at,
    firstSentAt: row.first_sent_at,
    lastSentAt: row.last_sent_at,
    completedAt: row.completed_at,
    lastError: row.last_error,
    history: requestAttempts(row),
    // A row read from a version-6 file through a plain SQL read before migration has neither.
    origin: row.origin ?? 'local',
    supersededBy: row.superseded_by ?? null,
  };
}

export function toStrategy(row: Selectable<StrategiesTable>): StrategyRecord {
  return {
    name: row.name,
    symbol: row.symbol,
    timeframe: row.timeframe,
    direction: row.direction,
    indicatorType: row.indicator_type,
    params: JSON.parse(row.params) as Record<string, unknown>,
    sl: row.sl,
    tp: row.tp,
    volume: row.volume,
    sharpe: row.sharpe,
    profitFactor: row.profit_factor,
    winRate: row.win_rate,
    trades: row.trades,
    maxDd: row.max_dd,
    oosSharpe: row.oos_sharpe,
    oosProfitFactor: row.oos_profit_factor,
    oosWinRate: row.oos_win_rate,
    oosMaxDd: row.oos_max_dd,
    oosTrades: row.oos_trades,
    oosRequestId: row.oos_request_id,
    oosCompletedAt: row.oos_completed_at,
    rank: row.rank,
    cpcvPassRate: row.cpcv_pass_rate,
    cpcvMedianDd: row.cpcv_median_dd,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    changeSeq: row.change_seq,
  };
}

export function toDeadLetter(row: Selectable<DeadLettersTable>): DeadLetter {
  return {
    id: row.id,
    source: row.source,
    message: JSON.parse(row.message) as unknown,
    error: row.error,
    stack: row.stack,
    attempts: row.attempts,
    firstFailedAt: row.first_failed_at,
    lastFailedAt: row.last_failed_at,
    traceparent: row.traceparent,
    replayCount: row.replay_count,
    state: row.state,
    requestId: row.request_id,
    resolvedAt: row.resolved_at,
    note: row.note,
  };
}

export function toFailureEvent(row: Selectable<FailureEventsTable>): FailureEvent {
  return { id: row.id, at: row.at, kind: row.kind, source: row.source, requestId: row.request_id, detail: row.detail };
}

export function toSupervisorEvent(row: Selectable<SupervisorEventsTable>): SupervisorEvent {
  return { id: row.id, at: row.at, kind: row.kind, path: row.path, childId: row.child_id, detail: row.detail };
}
