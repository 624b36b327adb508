/**
 * The write protocol of the store: every write is a WriteCommand, and writes are applied in
 * batches (group commit). `applyBatch` runs ALL commands of a batch in ONE `BEGIN IMMEDIATE`
 * transaction, so the batch costs one commit (one fsync with synchronous=FULL) whatever its size.
 *
 * A command that fails on its own data (a constraint, a bad value) is rolled back alone and
 * yields an `error` outcome while the others commit (see BatchIsolation for how, cheaply). A
 * failure of the database itself (busy, full, I/O, corrupt, read-only) rolls back the whole batch
 * and throws a StoreError; nothing of the batch is committed then.
 *
 * Outcomes come back in command order. Commands see the effects of the commands before them in
 * the same batch. `now` (Unix ms) is the batch's time for every timestamp it writes.
 */
import type { Store } from './connection.ts';
import {
  claimDeadLettersForReplay,
  deadLetterReplayed,
  deadLetterReleased,
  deadLetterReturned,
  discardDeadLetter,
  insertDeadLetter,
} from './dead-letters.ts';
import { classifySqliteCode, hintFor, isBatchFatal, messageOf, sqliteCodeOf, StoreError } from './errors.ts';
import { insertFailureEvent, insertSupervisorEvent } from './events.ts';
import { claimDue, deadLetterRequest, enqueueRequest, expiredLeases, releaseClaim, requeueRequest, retryRequest } from './outbox.ts';
import { perConnection } from './prepared.ts';
import type { DeadLetter, OutboxRequest } from './records.ts';
import { applyResult } from './results.ts';
import type { DeadLetterState, FailureKind, Rank, RequestState, SupervisorEventKind } from './schema.ts';
import { setCursor } from './cursors.ts';
import { beginStrategyWrites, changeRank, endStrategyWrites, upsertStrategy } from './strategies.ts';

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/**
 * Puts an OOS request in the outbox (state pending, due at `nextAttemptAt`, default now).
 * A strategy has at most one live (pending/in_flight) request: a second one is refused with
 * `duplicate_live`. With a caller-chosen `requestId` that already exists, the command is an
 * idempotent no-op (`exists`).
 */
export interface EnqueueRequestCommand {
  type: 'enqueueRequest';
  strategyName: string;
  /** The BACKTEST request fields, stored as JSON. */
  payload: Readonly<Record<string, unknown>>;
  traceparent?: string;
  requestId?: string;
  nextAttemptAt?: number;
}

/** Marks up to `limit` due pending requests in flight (oldest first) and returns them. */
export interface ClaimDueCommand {
  type: 'claimDue';
  limit: number;
  leaseMs: number;
}

/**
 * Undoes a claim whose request was never sent (e.g. the rest of a claim after a send failed):
 * back to pending as if it had not been claimed; the attempt is not counted.
 */
export interface ReleaseClaimCommand {
  type: 'releaseClaim';
  requestId: string;
}

/**
 * Revives a dead request (its dead letter being replayed): pending again, due now, with a fresh
 * attempt budget (attempts 0; the history keeps the earlier sends). Refused while the strategy
 * has another live request. The letter stays `replaying` until the request ends (dead-letters.ts).
 */
export interface RequeueRequestCommand {
  type: 'requeueRequest';
  requestId: string;
}

/** Lists in-flight requests whose lease has run out; changes nothing. */
export interface ExpiredLeasesCommand {
  type: 'expiredLeases';
  limit: number;
}

/** Sends a live request back to pending for another attempt and records the failure. */
export interface RetryRequestCommand {
  type: 'retryRequest';
  requestId: string;
  nextAttemptAt: number;
  error: string;
  failureKind: FailureKind;
  /** Who saw the failure (actor path); default 'outbox'. */
  source?: string;
}

/** Gives up on a live request: state dead, a dead letter carrying its history, failure events. */
export interface DeadLetterRequestCommand {
  type: 'deadLetterRequest';
  requestId: string;
  error: string;
  failureKind: FailureKind;
  source: string;
  /** False when the failure that ended it was not retryable (the request itself was refused); default true. */
  retryable?: boolean;
  /** The result frame that failed the request, kept in the letter as evidence (bytes and a text preview). */
  frame?: Buffer;
}

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
}

export interface RecordFailureCommand {
  type: 'recordFailure';
  kind: FailureKind;
  source: string;
  requestId?: string;
  detail?: string;
}

export interface RecordSupervisorEventCommand {
  type: 'recordSupervisorEvent';
  kind: SupervisorEventKind;
  path: string;
  childId?: string;
  detail?: string;
}

/** A message any actor could not process, kept for inspection and replay. */
export interface InsertDeadLetterCommand {
  type: 'insertDeadLetter';
  source: string;
  /** Serialised as JSON. */
  message: unknown;
  error: string;
  stack?: string;
  attempts: number;
  traceparent?: string;
  requestId?: string;
  /** Default: now. */
  firstFailedAt?: number;
}

/** replaying -> replayed. */
export interface DeadLetterReplayedCommand {
  type: 'deadLetterReplayed';
  id: number;
}

/** replaying -> dead: the replay failed again; replay_count + 1. */
export interface DeadLetterReturnedCommand {
  type: 'deadLetterReturned';
  id: number;
  error: string;
  stack?: string;
}

/** replaying -> dead without a replay counted: the replay was postponed (its actor is failing), not tried. */
export interface DeadLetterReleasedCommand {
  type: 'deadLetterReleased';
  id: number;
  reason: string;
}

/** dead|replaying -> discarded. The row is kept. */
export interface DiscardDeadLetterCommand {
  type: 'discardDeadLetter';
  id: number;
  reason?: string;
}

/**
 * dead -> replaying for the given ids, or for a source, or for all; oldest first; only letters
 * replayed fewer than `maxReplays` times. Letters already replaying are returned again (a
 * replayer that crashed picks them up), so claiming twice changes nothing the second time.
 */
export interface ClaimDeadLettersForReplayCommand {
  type: 'claimDeadLettersForReplay';
  ids?: readonly number[];
  source?: string;
  limit: number;
  maxReplays: number;
}

export interface StrategyInput {
  name: string;
  symbol: string;
  /** Minutes. */
  timeframe: number;
  direction: string;
  indicatorType: string;
  params: Readonly<Record<string, unknown>>;
  volume: number;
  sl?: number | null;
  tp?: number | null;
  sharpe?: number | null;
  profitFactor?: number | null;
  /** Fraction 0..1. */
  winRate?: number | null;
  trades?: number | null;
  maxDd?: number | null;
  cpcvPassRate?: number | null;
  cpcvMedianDd?: number | null;
  /** Rank of a new strategy (default INCUBATOR). Ignored for an existing one unless forced: ranks move by changeRank. */
  rank?: Rank;
}

/**
 * Inserts or updates a strategy's definition and in-sample metrics (an absent optional field
 * keeps its stored value on update). Never touches OOS metrics. An archived strategy
 * (GRAVEYARD/RETIRED) is left alone unless `force`; a forced upsert may also set its rank.
 */
export interface UpsertStrategyCommand {
  type: 'upsertStrategy';
  strategy: StrategyInput;
  force?: boolean;
}

/** Moves a strategy from `expectedFrom` to `to`; does nothing if its rank is not `expectedFrom`. */
export interface ChangeRankCommand {
  type: 'changeRank';
  name: string;
  expectedFrom: Rank;
  to: Rank;
  reason: string;
  metrics: Readonly<Record<string, unknown>>;
}

export interface SetCursorCommand {
  type: 'setCursor';
  name: string;
  value: number;
}

export type WriteCommand =
  | EnqueueRequestCommand
  | ClaimDueCommand
  | ReleaseClaimCommand
  | RequeueRequestCommand
  | ExpiredLeasesCommand
  | RetryRequestCommand
  | DeadLetterRequestCommand
  | ApplyResultCommand
  | RecordFailureCommand
  | RecordSupervisorEventCommand
  | InsertDeadLetterCommand
  | DeadLetterReplayedCommand
  | DeadLetterReturnedCommand
  | DeadLetterReleasedCommand
  | DiscardDeadLetterCommand
  | ClaimDeadLettersForReplayCommand
  | UpsertStrategyCommand
  | ChangeRankCommand
  | SetCursorCommand;

export type CommandType = WriteCommand['type'];

// ---------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------

export type EnqueueOutcome =
  | { type: 'enqueueRequest'; status: 'enqueued'; requestId: string }
  | { type: 'enqueueRequest'; status: 'exists'; requestId: string; state: RequestState }
  | { type: 'enqueueRequest'; status: 'duplicate_live'; existingRequestId: string };

/**
 * `nextDueAt`: when the earliest pending request the claim left comes due (at or before `now`
 * when the limit stopped the claim), or null when none is left pending. A claimer can sleep
 * until then instead of polling.
 */
export type ClaimDueOutcome = { type: 'claimDue'; status: 'claimed'; requests: OutboxRequest[]; nextDueAt: number | null };

export type ReleaseClaimOutcome =
  | { type: 'releaseClaim'; status: 'released'; requestId: string }
  | { type: 'releaseClaim'; status: 'not_in_flight'; requestId: string; state: RequestState | null };

export type RequeueOutcome =
  | { type: 'requeueRequest'; status: 'requeued'; requestId: string }
  | { type: 'requeueRequest'; status: 'not_dead'; requestId: string; state: RequestState | null }
  | { type: 'requeueRequest'; status: 'duplicate_live'; requestId: string; existingRequestId: string };

export type ExpiredLeasesOutcome = { type: 'expiredLeases'; status: 'listed'; requests: OutboxRequest[] };

/** `not_live`: the request is done, dead or unknown (state null); nothing was written. */
export type RetryOutcome =
  | { type: 'retryRequest'; status: 'retried'; requestId: string; attempts: number; nextAttemptAt: number }
  | { type: 'retryRequest'; status: 'not_live'; requestId: string; state: RequestState | null };

export type DeadLetterRequestOutcome =
  | { type: 'deadLetterRequest'; status: 'dead_lettered'; requestId: string; strategyName: string; deadLetterId: number; replayFailed: boolean }
  | { type: 'deadLetterRequest'; status: 'not_live'; requestId: string; state: RequestState | null };

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
    }
  | { type: 'applyResult'; status: 'duplicate'; requestId: string }
  | { type: 'applyResult'; status: 'orphan'; requestId: string };

export type RecordFailureOutcome = { type: 'recordFailure'; status: 'recorded'; id: number };
export type RecordSupervisorEventOutcome = { type: 'recordSupervisorEvent'; status: 'recorded'; id: number };
export type InsertDeadLetterOutcome = { type: 'insertDeadLetter'; status: 'inserted'; id: number };

/** `wrong_state`: the letter is not in a state the transition starts from (null: no such id). */
export type WrongLetterState<T extends CommandType> = { type: T; status: 'wrong_state'; id: number; state: DeadLetterState | null };

export type DeadLetterReplayedOutcome =
  | { type: 'deadLetterReplayed'; status: 'replayed'; id: number }
  | WrongLetterState<'deadLetterReplayed'>;
export type DeadLetterReturnedOutcome =
  | { type: 'deadLetterReturned'; status: 'returned'; id: number; replayCount: number }
  | WrongLetterState<'deadLetterReturned'>;
export type DeadLetterReleasedOutcome =
  | { type: 'deadLetterReleased'; status: 'released'; id: number }
  | WrongLetterState<'deadLetterReleased'>;
export type DiscardDeadLetterOutcome =
  | { type: 'discardDeadLetter'; status: 'discarded'; id: number }
  | WrongLetterState<'discardDeadLetter'>;
export type ClaimDeadLettersOutcome = { type: 'claimDeadLettersForReplay'; status: 'claimed'; letters: DeadLetter[] };

export type UpsertStrategyOutcome =
  | { type: 'upsertStrategy'; status: 'inserted' | 'updated'; name: string; changeSeq: number }
  | { type: 'upsertStrategy'; status: 'archived'; name: string; rank: Rank };

export type ChangeRankOutcome =
  | { type: 'changeRank'; status: 'changed'; name: string; from: Rank; to: Rank; changeSeq: number }
  | { type: 'changeRank'; status: 'conflict'; name: string; actual: Rank | null };

export type SetCursorOutcome = { type: 'setCursor'; status: 'set'; name: string; value: number };

export interface OutcomeMap {
  enqueueRequest: EnqueueOutcome;
  claimDue: ClaimDueOutcome;
  releaseClaim: ReleaseClaimOutcome;
  requeueRequest: RequeueOutcome;
  expiredLeases: ExpiredLeasesOutcome;
  retryRequest: RetryOutcome;
  deadLetterRequest: DeadLetterRequestOutcome;
  applyResult: ApplyResultOutcome;
  recordFailure: RecordFailureOutcome;
  recordSupervisorEvent: RecordSupervisorEventOutcome;
  insertDeadLetter: InsertDeadLetterOutcome;
  deadLetterReplayed: DeadLetterReplayedOutcome;
  deadLetterReturned: DeadLetterReturnedOutcome;
  deadLetterReleased: DeadLetterReleasedOutcome;
  discardDeadLetter: DiscardDeadLetterOutcome;
  claimDeadLettersForReplay: ClaimDeadLettersOutcome;
  upsertStrategy: UpsertStrategyOutcome;
  changeRank: ChangeRankOutcome;
  setCursor: SetCursorOutcome;
}

/** A command that failed on its own; it was rolled back to its savepoint, the batch went on. */
export interface CommandFailed {
  type: CommandType;
  status: 'error';
  /** Names the command and its key (request id, strategy, table) and the cause. */
  error: string;
  sqliteCode?: string;
}

export type OutcomeOf<C extends WriteCommand> = OutcomeMap[C['type']] | CommandFailed;
export type CommandOutcome = OutcomeMap[CommandType] | CommandFailed;

// ---------------------------------------------------------------------------------------------
// Applying
// ---------------------------------------------------------------------------------------------

/** One line naming a command, its main table and key, for error messages. */
export function describeCommand(c: WriteCommand): string {
  switch (c.type) {
    case 'enqueueRequest':
      return `enqueueRequest (oos_requests) strategy=${c.strategyName}${c.requestId ? ` request=${c.requestId}` : ''}`;
    case 'claimDue':
      return `claimDue (oos_requests) limit=${c.limit}`;
    case 'releaseClaim':
      return `releaseClaim (oos_requests) request=${c.requestId}`;
    case 'requeueRequest':
      return `requeueRequest (oos_requests) request=${c.requestId}`;
    case 'expiredLeases':
      return `expiredLeases (oos_requests) limit=${c.limit}`;
    case 'retryRequest':
      return `retryRequest (oos_requests) request=${c.requestId}`;
    case 'deadLetterRequest':
      return `deadLetterRequest (oos_requests, dead_letters) request=${c.requestId}`;
    case 'applyResult':
      return `applyResult (oos_results) request=${c.requestId}`;
    case 'recordFailure':
      return `recordFailure (failure_events) kind=${c.kind}${c.requestId ? ` request=${c.requestId}` : ''}`;
    case 'recordSupervisorEvent':
      return `recordSupervisorEvent (supervisor_events) kind=${c.kind} path=${c.path}`;
    case 'insertDeadLetter':
      return `insertDeadLetter (dead_letters) source=${c.source}${c.requestId ? ` request=${c.requestId}` : ''}`;
    case 'deadLetterReplayed':
    case 'deadLetterReturned':
    case 'deadLetterReleased':
    case 'discardDeadLetter':
      return `${c.type} (dead_letters) id=${c.id}`;
    case 'claimDeadLettersForReplay':
      return `claimDeadLettersForReplay (dead_letters)${c.source ? ` source=${c.source}` : ''}${c.ids ? ` ids=${c.ids.length}` : ''}`;
    case 'upsertStrategy':
      return `upsertStrategy (strategies) name=${c.strategy?.name}`;
    case 'changeRank':
      return `changeRank (strategies) name=${c.name} ${c.expectedFrom}->${c.to}`;
    case 'setCursor':
      return `setCursor (cursors) name=${c.name}`;
  }
}

function execute(store: Store, c: WriteCommand, now: number): CommandOutcome {
  switch (c.type) {
    case 'enqueueRequest':
      return enqueueRequest(store, c, now);
    case 'claimDue':
      return claimDue(store, c, now);
    case 'releaseClaim':
      return releaseClaim(store, c, now);
    case 'requeueRequest':
      return requeueRequest(store, c, now);
    case 'expiredLeases':
      return expiredLeases(store, c, now);
    case 'retryRequest':
      return retryRequest(store, c, now);
    case 'deadLetterRequest':
      return deadLetterRequest(store, c, now);
    case 'applyResult':
      return applyResult(store, c, now);
    case 'recordFailure':
      return { type: c.type, status: 'recorded', id: insertFailureEvent(store, c, now) };
    case 'recordSupervisorEvent':
      return { type: c.type, status: 'recorded', id: insertSupervisorEvent(store, c, now) };
    case 'insertDeadLetter':
      return insertDeadLetter(store, c, now);
    case 'deadLetterReplayed':
      return deadLetterReplayed(store, c, now);
    case 'deadLetterReturned':
      return deadLetterReturned(store, c, now);
    case 'deadLetterReleased':
      return deadLetterReleased(store, c, now);
    case 'discardDeadLetter':
      return discardDeadLetter(store, c, now);
    case 'claimDeadLettersForReplay':
      return claimDeadLettersForReplay(store, c, now);
    case 'upsertStrategy':
      return upsertStrategy(store, c, now);
    case 'changeRank':
      return changeRank(store, c, now);
    case 'setCursor':
      return setCursor(store, c, now);
    default: {
      const unknown: { type?: unknown } = c;
      throw new TypeError(`unknown write command type ${String(unknown.type)}`);
    }
  }
}

function failed(c: WriteCommand, err: unknown): CommandFailed {
  const sqliteCode = sqliteCodeOf(err);
  const out: CommandFailed = {
    type: c.type,
    status: 'error',
    error: `${describeCommand(c)} failed: ${messageOf(err)}${sqliteCode ? ` [${sqliteCode}]` : ''}`,
  };
  if (sqliteCode !== undefined) out.sqliteCode = sqliteCode;
  return out;
}

/** Carries the failing command's index out of the transaction function. */
class BatchAbort extends Error {
  constructor(
    readonly index: number,
    readonly failure: unknown,
  ) {
    super(messageOf(failure));
  }
}

/**
 * How a command that fails on its own data is kept from failing its batch:
 * - 'retry' (default): the batch first runs without savepoints; if a command fails on its own
 *   data, the whole transaction is rolled back and the batch runs again with a savepoint per
 *   command. Same outcomes as 'savepoint', without paying for savepoints in the common case.
 * - 'savepoint': a savepoint around every command, always.
 * - 'none': no isolation; any failing command rolls back the whole batch (StoreError).
 */
export type BatchIsolation = 'retry' | 'savepoint' | 'none';

export interface BatchOptions {
  isolation?: BatchIsolation;
}

const transactions = perConnection((store: Store) => {
  const { sqlite } = store;
  // One wrapper each, made once: called inside the batch, better-sqlite3 turns it into a savepoint.
  const isolated = sqlite.transaction((c: WriteCommand, now: number) => execute(store, c, now));
  const batch = sqlite.transaction((commands: readonly WriteCommand[], now: number, savepoints: boolean) => {
    beginStrategyWrites(store);
    const outcomes = new Array<CommandOutcome>(commands.length);
    for (let i = 0; i < commands.length; i++) {
      const c = commands[i];
      try {
        outcomes[i] = savepoints ? isolated(c, now) : execute(store, c, now);
      } catch (err) {
        // SQLite may already have rolled the whole transaction back (e.g. after SQLITE_FULL).
        if (!savepoints || isBatchFatal(err) || !sqlite.inTransaction) throw new BatchAbort(i, err);
        outcomes[i] = failed(c, err);
      }
    }
    endStrategyWrites(store);
    return outcomes;
  });
  return { batch };
});

function toStoreError(err: unknown, commands: readonly WriteCommand[]): StoreError {
  const cause = err instanceof BatchAbort ? err.failure : err;
  const sqliteCode = sqliteCodeOf(cause);
  const code = classifySqliteCode(sqliteCode);
  const where = err instanceof BatchAbort ? ` at command #${err.index} (${describeCommand(commands[err.index])})` : '';
  const message =
    `write batch of ${commands.length} command(s) rolled back, nothing of it committed${where}: ` +
    `${messageOf(cause)}${sqliteCode ? ` [${sqliteCode}]` : ''}; ${code}: ${hintFor(code)}`;
  return new StoreError(code, message, sqliteCode, commands.length, { cause });
}

/**
 * Applies a batch in one BEGIN IMMEDIATE transaction (see the top of this file). Returns one
 * outcome per command, in order; throws StoreError when the batch as a whole failed.
 */
export function applyBatch(store: Store, commands: readonly WriteCommand[], now: number, options: BatchOptions = {}): CommandOutcome[] {
  if (commands.length === 0) return [];
  if (!Number.isInteger(now)) throw new TypeError(`applyBatch: now must be integer Unix ms, got ${now}`);
  if (store.sqlite.inTransaction) throw new Error('applyBatch: a transaction is already open on this connection');
  const isolation = options.isolation ?? 'retry';
  const { batch } = transactions(store);
  try {
    if (isolation === 'savepoint') return batch.immediate(commands, now, true);
    try {
      return batch.immediate(commands, now, false);
    } catch (err) {
      // The first run was rolled back as a whole, so running the batch again starts clean.
      const retryable = isolation === 'retry' && err instanceof BatchAbort && !isBatchFatal(err.failure);
      if (!retryable) throw err;
      return batch.immediate(commands, now, true);
    }
  } catch (err) {
    throw toStoreError(err, commands);
  }
}

/** One command in its own transaction, with its outcome typed. */
export function applyOne<C extends WriteCommand>(store: Store, command: C, now: number): OutcomeOf<C> {
  return applyBatch(store, [command], now)[0] as OutcomeOf<C>;
}
