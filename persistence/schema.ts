/**
 * Table types for kysely (`Kysely<Schema>`). Column names are the database's (snake_case); the
 * DDL lives in migrations.ts and must agree with these types. All times are INTEGER Unix epoch
 * milliseconds. JSON columns hold text written by JSON.stringify.
 */
import type { Generated } from 'kysely';
import { ARCHIVED_RANKS, RANKS, type Rank } from '../domain/ranks.ts';
import { REQUEST_ORIGINS, REQUEST_STATES, type RequestOrigin, type RequestState } from '../domain/request.ts';
import type { FailureKind } from '../domain/failures.ts';
import type { AlertKind, Severity } from '../domain/alerts.ts';
import type { DeliveryState } from '../domain/alert-delivery.ts';

// The domain's vocabulary, stored as these columns' values.
export { ARCHIVED_RANKS, RANKS, REQUEST_ORIGINS, REQUEST_STATES, type FailureKind, type Rank, type RequestOrigin, type RequestState };

export const HOST_FORWARD_STATES = ['pending', 'forwarded', 'dead'] as const;
export type HostForwardState = (typeof HOST_FORWARD_STATES)[number];



export const DEAD_LETTER_STATES = ['dead', 'replaying', 'replayed', 'discarded'] as const;
export type DeadLetterState = (typeof DEAD_LETTER_STATES)[number];

export type SupervisorEventKind = 'start' | 'crash' | 'restart' | 'give_up' | 'escalate' | 'stop' | 'shutdown';

export interface StrategiesTable {
  name: string;
  symbol: string;
  /** Minutes. */
  timeframe: number;
  direction: string;
  indicator_type: string;
  /** JSON object: sma_short, sma_long, optional filter_* keys. */
  params: string;
  sl: number | null;
  tp: number | null;
  volume: number;
  sharpe: number | null;
  profit_factor: number | null;
  /** Fraction 0..1. */
  win_rate: number | null;
  trades: number | null;
  max_dd: number | null;
  /** NULL = not validated yet; never 0 for "unknown". */
  oos_sharpe: number | null;
  oos_profit_factor: number | null;
  oos_win_rate: number | null;
  oos_max_dd: number | null;
  oos_trades: number | null;
  oos_request_id: string | null;
  oos_completed_at: number | null;
  rank: Rank;
  cpcv_pass_rate: number | null;
  cpcv_median_dd: number | null;
  created_at: number;
  updated_at: number;
  /** Global counter, bumped on every write to the row; readers keep a watermark of it. */
  change_seq: number;
}

/** Named monotonic counters (the strategies change_seq source). */
export interface SequencesTable {
  name: string;
  value: number;
}

export interface RankHistoryTable {
  id: Generated<number>;
  strategy_name: string;
  at: number;
  from_rank: Rank | null;
  to_rank: Rank;
  reason: string;
  /** JSON object of the metrics the decision used. */
  metrics: string;
}

export interface CursorsTable {
  name: string;
  value: number;
  updated_at: number;
}

export interface OosRequestsTable {
  /** UUIDv7 (time-ordered). */
  request_id: string;
  strategy_name: string;
  /** JSON object: the BACKTEST request fields. */
  payload: string;
  state: RequestState;
  attempts: number;
  next_attempt_at: number;
  lease_until: number | null;
  traceparent: string | null;
  enqueued_at: number;
  first_sent_at: number | null;
  last_sent_at: number | null;
  completed_at: number | null;
  last_error: string | null;
  /** JSON array of the FINISHED attempts (each with outcome); see `sends`. */
  history: string;
  /**
   * Sends ever made (a requeue resets `attempts`, not this). When it exceeds the history's
   * length, the last send is not in the history: it is open (in_flight), or the result completed
   * it (done, at completed_at).
   */
  sends: number;
  /** local, or host (taken in by the bridge's intake under the host's own request id). */
  origin: RequestOrigin;
  /** The newer host request that superseded this one (state superseded), else NULL. */
  superseded_by: string | null;
}

/**
 * REAL columns may hold +/-Infinity. SQLite cannot store NaN (it becomes NULL): a NaN metric is
 * NULL in its column and named in `nan_metrics` (see results.ts).
 */
export interface OosResultsTable {
  request_id: string;
  strategy_name: string;
  trades: number;
  wins: number | null;
  losses: number | null;
  pnl: number | null;
  sharpe: number | null;
  sortino: number | null;
  max_dd: number | null;
  /** Fraction 0..1 (the wire's percent is converted by the decoder). */
  win_rate: number | null;
  profit_factor: number | null;
  adjusted_sharpe: number | null;
  sharpe_ci_lower: number | null;
  received_at: number;
  /** Comma-separated names of the metric columns whose value was NaN (stored as NULL); NULL when none. */
  nan_metrics: string | null;
}

export interface OosTradesTable {
  request_id: string;
  /** Unix ms of the trade. */
  timestamp: number;
  pnl: number;
}

export interface DeadLettersTable {
  id: Generated<number>;
  /** Actor path or channel the message failed in. */
  source: string;
  /** JSON text of the failed message. */
  message: string;
  error: string;
  stack: string | null;
  attempts: number;
  first_failed_at: number;
  last_failed_at: number;
  traceparent: string | null;
  replay_count: number;
  state: DeadLetterState;
  request_id: string | null;
  /** When it was replayed or discarded. */
  resolved_at: number | null;
  note: string | null;
}

export interface FailureEventsTable {
  id: Generated<number>;
  at: number;
  kind: FailureKind;
  source: string;
  request_id: string | null;
  detail: string | null;
}

export interface SupervisorEventsTable {
  id: Generated<number>;
  at: number;
  kind: SupervisorEventKind;
  path: string;
  child_id: string | null;
  detail: string | null;
}

/**
 * The summary of a finished UTC day, stored before retention deletes the rows it was computed
 * from (persistence/retention.ts): a day past the retention horizon is reported from here.
 */
export interface DailySummariesTable {
  /** Unix ms of the day's 00:00 UTC. */
  day_start: number;
  /** YYYY-MM-DD. */
  day: string;
  /** JSON of the DailySummary (domain/daily-summary.ts) as it was when the day was rolled up. */
  summary: string;
  made_at: number;
}

/**
 * Bridge mode: a result to hand to the host's result socket, written in the same commit as the
 * result of a host request. `frame` is the result frame as the service sent it, forwarded unchanged.
 */
export interface HostForwardsTable {
  request_id: string;
  state: HostForwardState;
  frame: string;
  /** Hand-offs tried (the successful one included). */
  attempts: number;
  /** When the result was stored (the forward's age counts from here). */
  first_at: number;
  last_at: number | null;
  forwarded_at: number | null;
  last_error: string | null;
}

/**
 * An alert, stored before it is sent (actors/notifier.ts). Its id is the idempotency id webhooks
 * receive; a later alert of the same kind and key within the deduplication window only bumps
 * `repeats` here.
 */
export interface AlertsTable {
  /** UUIDv7. */
  id: string;
  kind: AlertKind;
  dedup_key: string;
  severity: Severity;
  /** JSON object: title, body, fields. */
  payload: string;
  created_at: number;
  /** Occurrences deduplicated onto this alert. */
  repeats: number;
  last_repeat_at: number | null;
}

/** One alert's delivery to one configured webhook (by its name; the URL, a secret, is never stored). */
export interface AlertDeliveriesTable {
  alert_id: string;
  target: string;
  state: DeliveryState;
  /** Tries started (a claim counts one before the POST). */
  attempts: number;
  /** Pending: when it may be tried next; while a try runs, the end of its lease. */
  next_attempt_at: number;
  last_error: string | null;
  /** HTTP status of the last answer, if any. */
  last_status: number | null;
  finished_at: number | null;
}

export interface Schema {
  strategies: StrategiesTable;
  sequences: SequencesTable;
  rank_history: RankHistoryTable;
  cursors: CursorsTable;
  oos_requests: OosRequestsTable;
  oos_results: OosResultsTable;
  oos_trades: OosTradesTable;
  dead_letters: DeadLettersTable;
  failure_events: FailureEventsTable;
  supervisor_events: SupervisorEventsTable;
  daily_summaries: DailySummariesTable;
  host_forwards: HostForwardsTable;
  alerts: AlertsTable;
  alert_deliveries: AlertDeliveriesTable;
}
