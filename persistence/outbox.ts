/**
 * The OOS request outbox: a request is written here in the same commit that decides to send it,
 * and leaves it only by completing (done) or by being given up (dead). States:
 *
 *                  claimDue
 *   pending  ------------------>  in_flight  --applyResult-->  done
 *      ^    <--releaseClaim-----      |
 *      |    <--retryRequest-----------+
 *      |                              +--deadLetterRequest-->  dead
 *      +-------------requeueRequest---------------------------+
 *
 * A late result still completes a pending or dead request (once).
 *
 * Every write runs inside the caller's transaction (its command, applied by batch.ts); reads run anywhere.
 */
import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import type { Store } from './connection.ts';
import type { CommandSpec } from './command.ts';
import { recordDeadRequest, REQUEST_LETTER_KIND } from './dead-letters.ts';
import { insertFailureEvent } from './events.ts';
import { perConnection, prepared } from './prepared.ts';
import { requestAttempts, toOutboxRequest, type OutboxRequest } from './records.ts';
import { type FailureKind, type OosRequestsTable, type RequestOrigin, type RequestState, type Schema } from './schema.ts';
import { DEAD, DONE, IN_FLIGHT, jsonPath, LIVE, PENDING, requireInteger, requirePositiveInteger, requireText, SUPERSEDED, text } from './sql-helpers.ts';

// Commands ---------------------------------------------------------------------------------------

/**
 * Puts an OOS request in the outbox (state pending, due at `nextAttemptAt`, default now).
 * A strategy has at most one live (pending/in_flight) request: a second one is refused with
 * `duplicate_live`, unless `supersedeLive`, when the live one becomes `superseded` (by this one)
 * in the same step (the host honours only its latest request id). With a caller-chosen
 * `requestId` that already exists, the command is an idempotent no-op (`exists`).
 */
export interface EnqueueRequestCommand {
  type: 'enqueueRequest';
  strategyName: string;
  /** The BACKTEST request fields, stored as JSON. */
  payload: Readonly<Record<string, unknown>>;
  traceparent?: string;
  requestId?: string;
  nextAttemptAt?: number;
  /** Default local; host for a request the bridge took in under the host's own id. */
  origin?: RequestOrigin;
  supersedeLive?: boolean;
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

/**
 * Pulls deadlines a previous process stored back within what this one could set (docs/adr/0014):
 * a lease at most `leaseMs` and a retry's due time at most `maxBackoffMs` from now. Run at start:
 * a wall clock that stepped back across the restart would otherwise make them look hours away.
 * A deadline already within bounds is kept; a request scheduled on enqueue (no attempt yet) is not
 * a retry and keeps its time.
 */
export interface RebaseDeadlinesCommand {
  type: 'rebaseDeadlines';
  leaseMs: number;
  maxBackoffMs: number;
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

export type EnqueueOutcome =
  | { type: 'enqueueRequest'; status: 'enqueued'; requestId: string; superseded?: { requestId: string; state: RequestState } }
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

/** How many leases and retry due times were pulled in. */
export type RebaseDeadlinesOutcome = { type: 'rebaseDeadlines'; status: 'rebased'; leases: number; retries: number };

/** `not_live`: the request is done, dead or unknown (state null); nothing was written. */
export type RetryOutcome =
  | { type: 'retryRequest'; status: 'retried'; requestId: string; attempts: number; nextAttemptAt: number }
  | { type: 'retryRequest'; status: 'not_live'; requestId: string; state: RequestState | null };

export type DeadLetterRequestOutcome =
  | { type: 'deadLetterRequest'; status: 'dead_lettered'; requestId: string; strategyName: string; deadLetterId: number; replayFailed: boolean }
  | { type: 'deadLetterRequest'; status: 'not_live'; requestId: string; state: RequestState | null };

// Applying -------------------------------------------------------------------------------------

type OutboxEb = ExpressionBuilder<Schema, 'oos_requests'>;

/**
 * The history after an attempt failed: the send in progress (`sends`, sent at last_sent_at) is
 * appended with its outcome. Only an in-flight request has one; otherwise the history stays.
 * A successful attempt is not written here: the row's columns describe it (see schema.ts).
 */
function endFailedAttempt(eb: OutboxEb, outcome: string, at: number, error: string) {
  const entry = eb.fn('json_object', [
    text('attempt'),
    eb.ref('sends'),
    text('sent_at'),
    eb.ref('last_sent_at'),
    text('outcome'),
    eb.val(outcome),
    text('at'),
    eb.val(at),
    text('error'),
    eb.val(error),
  ]);
  return eb
    .case()
    .when('state', '=', IN_FLIGHT)
    .then(eb.fn<string>('json_insert', ['history', jsonPath('$[#]'), entry]))
    .else(eb.ref('history'))
    .end();
}

/** Pending requests in the order they come due, at most `limit`: walks the due index, no sort. */
function pendingInDueOrder(db: Kysely<Schema>, limit: number) {
  return db.selectFrom('oos_requests').where('state', '=', PENDING).orderBy('next_attempt_at').orderBy('request_id').limit(limit);
}

/** Pending requests due at `now`, oldest first, at most `limit`. */
function dueRequests(db: Kysely<Schema>, now: number, limit: number) {
  return pendingInDueOrder(db, limit).where('next_attempt_at', '<=', now);
}

const statements = perConnection(({ sqlite, db }: Store) => ({
  // DO NOTHING without a target covers both the primary key (a caller's request id used twice)
  // and the one-live-request-per-strategy index; the caller tells the two apart afterwards.
  insert: prepared(
    sqlite,
    ($: { requestId: string; strategyName: string; payload: string; nextAttemptAt: number; traceparent: string | null; now: number; origin: RequestOrigin }) =>
      db
        .insertInto('oos_requests')
        .values({
          request_id: $.requestId,
          strategy_name: $.strategyName,
          payload: $.payload,
          state: PENDING,
          attempts: 0,
          sends: 0,
          next_attempt_at: $.nextAttemptAt,
          traceparent: $.traceparent,
          enqueued_at: $.now,
          history: text('[]'),
          origin: $.origin,
        })
        .onConflict((oc) => oc.doNothing()),
  ),
  get: prepared(sqlite, ($: { requestId: string }) => db.selectFrom('oos_requests').selectAll().where('request_id', '=', $.requestId)),
  // Just what completing a request needs: no payload or history strings to copy out.
  brief: prepared(sqlite, ($: { requestId: string }) =>
    db.selectFrom('oos_requests').select(['strategy_name', 'state', 'enqueued_at', 'sends', 'attempts', 'origin', 'last_sent_at', 'traceparent']).where('request_id', '=', $.requestId),
  ),
  live: prepared(sqlite, ($: { strategyName: string }) =>
    db.selectFrom('oos_requests').select('request_id').where('strategy_name', '=', $.strategyName).where('state', 'in', LIVE),
  ),
  liveRow: prepared(sqlite, ($: { strategyName: string }) =>
    db.selectFrom('oos_requests').select(['request_id', 'state']).where('strategy_name', '=', $.strategyName).where('state', 'in', LIVE),
  ),
  // The live request of a strategy ends, replaced by a newer one; RETURNING tells which and from what state.
  supersede: prepared(sqlite, ($: { strategyName: string; by: string; now: number }) =>
    db
      .updateTable('oos_requests')
      .set({ state: SUPERSEDED, superseded_by: $.by, lease_until: null, completed_at: $.now, last_error: text('superseded by a newer request of the host') })
      .where('strategy_name', '=', $.strategyName)
      .where('state', 'in', LIVE)
      .returning('request_id'),
  ),
  // Set-based: one statement claims the whole due set (oldest first) through the due index.
  claim: prepared(sqlite, ($: { now: number; leaseUntil: number; limit: number }) =>
    db
      .updateTable('oos_requests')
      .set((eb) => ({
        state: IN_FLIGHT,
        attempts: eb('attempts', '+', eb.lit(1)),
        lease_until: $.leaseUntil,
        first_sent_at: eb.fn.coalesce('first_sent_at', eb.val($.now)),
        last_sent_at: $.now,
        sends: eb('sends', '+', eb.lit(1)),
      }))
      .where('request_id', 'in', dueRequests(db, $.now, $.limit).select('request_id')),
  ),
  // The same rows, read before the claim changes them (RETURNING would buffer every row in a
  // temporary table first, which cost more than reading them here), and one row more: the
  // pending request that comes due next, if any. Due rows come first in this order, so the
  // claim's own selection is exactly the leading due rows.
  pendingHead: prepared(sqlite, ($: { limit: number }) => pendingInDueOrder(db, $.limit).selectAll()),
  // Exactly undoes claim: one send fewer, and the send times it set restored (the previous
  // attempt's sent_at, or NULL when there was none).
  release: prepared(sqlite, ($: { requestId: string }) =>
    db
      .updateTable('oos_requests')
      .set((eb) => ({
        state: PENDING,
        attempts: eb('attempts', '-', eb.lit(1)),
        lease_until: null,
        sends: eb('sends', '-', eb.lit(1)),
        first_sent_at: eb.case().when('sends', '=', eb.lit(1)).then(eb.lit(null)).else(eb.ref('first_sent_at')).end(),
        // Every earlier send is finished, so the history's last entry is the previous send.
        last_sent_at: eb.fn<number | null>('json_extract', ['history', jsonPath('$[#-1].sent_at')]),
      }))
      .where('request_id', '=', $.requestId)
      .where('state', '=', IN_FLIGHT),
  ),
  requeue: prepared(sqlite, ($: { requestId: string; now: number }) =>
    db
      .updateTable('oos_requests')
      .set({ state: PENDING, attempts: 0, next_attempt_at: $.now, lease_until: null })
      .where('request_id', '=', $.requestId)
      .where('state', '=', DEAD),
  ),
  expired: prepared(sqlite, ($: { now: number; limit: number }) =>
    db
      .selectFrom('oos_requests')
      .selectAll()
      .where('state', '=', IN_FLIGHT)
      .where('lease_until', '<=', $.now)
      .orderBy('lease_until')
      .orderBy('request_id')
      .limit($.limit),
  ),
  rebaseLeases: prepared(sqlite, ($: { latest: number }) => db.updateTable('oos_requests').set({ lease_until: $.latest }).where('state', '=', IN_FLIGHT).where('lease_until', '>', $.latest)),
  rebaseRetries: prepared(sqlite, ($: { latest: number }) =>
    db.updateTable('oos_requests').set({ next_attempt_at: $.latest }).where('state', '=', PENDING).where('next_attempt_at', '>', $.latest).where('attempts', '>', 0),
  ),
  retry: prepared(sqlite, ($: { requestId: string; nextAttemptAt: number; error: string; kind: string; now: number }) =>
    db
      .updateTable('oos_requests')
      .set((eb) => ({
        state: PENDING,
        next_attempt_at: $.nextAttemptAt,
        lease_until: null,
        last_error: $.error,
        history: endFailedAttempt(eb, $.kind, $.now, $.error),
      }))
      .where('request_id', '=', $.requestId)
      .where('state', 'in', LIVE)
      .returning('attempts'),
  ),
  markDead: prepared(sqlite, ($: { requestId: string; error: string; kind: string; now: number }) =>
    db
      .updateTable('oos_requests')
      .set((eb) => ({
        state: DEAD,
        lease_until: null,
        last_error: $.error,
        history: endFailedAttempt(eb, $.kind, $.now, $.error),
      }))
      .where('request_id', '=', $.requestId)
      .where('state', 'in', LIVE)
      .returningAll(),
  ),
  complete: prepared(sqlite, ($: { requestId: string; now: number }) =>
    db
      .updateTable('oos_requests')
      .set({ state: DONE, completed_at: $.now, lease_until: null })
      .where('request_id', '=', $.requestId)
      // A superseded request keeps its state: its result is stored, it stays replaced.
      .where('state', 'not in', [DONE, SUPERSEDED]),
  ),
}));

/** A row as the claim statement leaves it (keep the two in step), for rows read just before it. */
function afterSend(row: Selectable<OosRequestsTable>, now: number, leaseUntil: number): Selectable<OosRequestsTable> {
  return { ...row, state: 'in_flight', attempts: row.attempts + 1, sends: row.sends + 1, lease_until: leaseUntil, first_sent_at: row.first_sent_at ?? now, last_sent_at: now };
}

function enqueueRequest(store: Store, c: EnqueueRequestCommand, now: number): EnqueueOutcome {
  const context = `enqueueRequest strategy=${c.strategyName}`;
  requireText(context, 'strategyName', c.strategyName);
  if (typeof c.payload !== 'object' || c.payload === null || Array.isArray(c.payload)) throw new TypeError(`${context}: payload must be an object`);
  const nextAttemptAt = c.nextAttemptAt === undefined ? now : requireInteger(context, 'nextAttemptAt', c.nextAttemptAt);
  const requestId = c.requestId === undefined ? store.ids.next(now) : requireText(context, 'requestId', c.requestId);
  const s = statements(store);
  let superseded: { requestId: string; state: RequestState } | undefined;
  if (c.supersedeLive === true && c.requestId !== undefined) {
    const existing = s.get.get({ requestId });
    if (existing) return { type: 'enqueueRequest', status: 'exists', requestId, state: existing.state };
    const live = s.liveRow.get({ strategyName: c.strategyName });
    if (live) {
      s.supersede.run({ strategyName: c.strategyName, by: requestId, now });
      superseded = { requestId: live.request_id, state: live.state };
    }
  }
  const r = s.insert.run({
    requestId,
    strategyName: c.strategyName,
    payload: JSON.stringify(c.payload),
    nextAttemptAt,
    traceparent: c.traceparent ?? null,
    now,
    origin: c.origin ?? 'local',
  });
  if (r.changes === 1) return { type: 'enqueueRequest', status: 'enqueued', requestId, ...(superseded ? { superseded } : {}) };
  if (c.requestId !== undefined) {
    const existing = s.get.get({ requestId });
    if (existing) return { type: 'enqueueRequest', status: 'exists', requestId, state: existing.state };
  }
  const live = s.live.get({ strategyName: c.strategyName });
  if (!live) throw new Error(`${context}: insert ignored but neither request ${requestId} nor a live request exists`);
  return { type: 'enqueueRequest', status: 'duplicate_live', existingRequestId: live.request_id };
}

function claimDue(store: Store, c: ClaimDueCommand, now: number): ClaimDueOutcome {
  const limit = requirePositiveInteger('claimDue', 'limit', c.limit);
  const leaseMs = requirePositiveInteger('claimDue', 'leaseMs', c.leaseMs);
  const s = statements(store);
  const leaseUntil = now + leaseMs;
  const head = s.pendingHead.all({ limit: limit + 1 });
  let due = 0;
  while (due < head.length && due < limit && head[due].next_attempt_at <= now) due++;
  const nextDueAt = due < head.length ? head[due].next_attempt_at : null;
  if (due === 0) return { type: 'claimDue', status: 'claimed', requests: [], nextDueAt };
  s.claim.run({ now, leaseUntil, limit });
  const requests = new Array<OutboxRequest>(due);
  for (let i = 0; i < due; i++) requests[i] = toOutboxRequest(afterSend(head[i], now, leaseUntil));
  return { type: 'claimDue', status: 'claimed', requests, nextDueAt };
}

function releaseClaim(store: Store, c: ReleaseClaimCommand, _now: number): ReleaseClaimOutcome {
  requireText(`releaseClaim request=${c.requestId}`, 'requestId', c.requestId);
  const s = statements(store);
  if (s.release.run({ requestId: c.requestId }).changes === 1) return { type: 'releaseClaim', status: 'released', requestId: c.requestId };
  return { type: 'releaseClaim', status: 'not_in_flight', requestId: c.requestId, state: s.get.get({ requestId: c.requestId })?.state ?? null };
}

function requeueRequest(store: Store, c: RequeueRequestCommand, now: number): RequeueOutcome {
  const context = `requeueRequest request=${c.requestId}`;
  requireText(context, 'requestId', c.requestId);
  const s = statements(store);
  const row = s.get.get({ requestId: c.requestId });
  if (!row || row.state !== 'dead') return { type: 'requeueRequest', status: 'not_dead', requestId: c.requestId, state: row?.state ?? null };
  const live = s.live.get({ strategyName: row.strategy_name });
  if (live) return { type: 'requeueRequest', status: 'duplicate_live', requestId: c.requestId, existingRequestId: live.request_id };
  s.requeue.run({ requestId: c.requestId, now });
  return { type: 'requeueRequest', status: 'requeued', requestId: c.requestId };
}

function expiredLeases(store: Store, c: ExpiredLeasesCommand, now: number): ExpiredLeasesOutcome {
  const limit = requirePositiveInteger('expiredLeases', 'limit', c.limit);
  return { type: 'expiredLeases', status: 'listed', requests: listExpiredLeases(store, now, limit) };
}

function rebaseDeadlines(store: Store, c: RebaseDeadlinesCommand, now: number): RebaseDeadlinesOutcome {
  const leaseMs = requirePositiveInteger('rebaseDeadlines', 'leaseMs', c.leaseMs);
  const maxBackoffMs = requireInteger('rebaseDeadlines', 'maxBackoffMs', c.maxBackoffMs);
  const s = statements(store);
  const leases = Number(s.rebaseLeases.run({ latest: now + leaseMs }).changes);
  const retries = Number(s.rebaseRetries.run({ latest: now + Math.max(0, maxBackoffMs) }).changes);
  return { type: 'rebaseDeadlines', status: 'rebased', leases, retries };
}

function retryRequest(store: Store, c: RetryRequestCommand, now: number): RetryOutcome {
  const context = `retryRequest request=${c.requestId}`;
  requireText(context, 'requestId', c.requestId);
  const nextAttemptAt = requireInteger(context, 'nextAttemptAt', c.nextAttemptAt);
  const s = statements(store);
  const row = s.retry.get({ requestId: c.requestId, nextAttemptAt, error: String(c.error), kind: c.failureKind, now });
  if (!row) return { type: 'retryRequest', status: 'not_live', requestId: c.requestId, state: s.get.get({ requestId: c.requestId })?.state ?? null };
  insertFailureEvent(store, { kind: c.failureKind, source: c.source ?? 'outbox', requestId: c.requestId, detail: String(c.error) }, now);
  return { type: 'retryRequest', status: 'retried', requestId: c.requestId, attempts: row.attempts, nextAttemptAt };
}

function firstFailureAt(row: Selectable<OosRequestsTable>, now: number): number {
  let first = now;
  for (const a of requestAttempts(row)) if (a.at !== undefined && a.at < first) first = a.at;
  return first;
}

function deadLetterRequest(store: Store, c: DeadLetterRequestCommand, now: number): DeadLetterRequestOutcome {
  const context = `deadLetterRequest request=${c.requestId}`;
  requireText(context, 'requestId', c.requestId);
  requireText(context, 'source', c.source);
  const s = statements(store);
  const row = s.markDead.get({ requestId: c.requestId, error: String(c.error), kind: c.failureKind, now });
  if (!row) {
    return { type: 'deadLetterRequest', status: 'not_live', requestId: c.requestId, state: s.get.get({ requestId: c.requestId })?.state ?? null };
  }
  const request = toOutboxRequest(row);
  const { id: deadLetterId, replayFailed } = recordDeadRequest(
    store,
    {
      source: c.source,
      message: {
        kind: REQUEST_LETTER_KIND,
        requestId: request.requestId,
        strategyName: request.strategyName,
        payload: request.payload,
        enqueuedAt: request.enqueuedAt,
        history: request.history,
        retryable: c.retryable ?? true,
        ...(c.frame === undefined ? {} : { frame: { $bytes: c.frame.toString('base64') }, frameText: c.frame.toString('utf8').slice(0, 2_000) }),
      },
      error: String(c.error),
      attempts: request.attempts,
      traceparent: request.traceparent,
      requestId: request.requestId,
      firstFailedAt: firstFailureAt(row, now),
    },
    now,
  );
  insertFailureEvent(store, { kind: c.failureKind, source: c.source, requestId: c.requestId, detail: String(c.error) }, now);
  insertFailureEvent(store, { kind: 'dead_letter', source: c.source, requestId: c.requestId, detail: `dead letter ${deadLetterId}` }, now);
  if (replayFailed) insertFailureEvent(store, { kind: 'replay_failed', source: c.source, requestId: c.requestId, detail: `dead letter ${deadLetterId}: the replayed request died again` }, now);
  return { type: 'deadLetterRequest', status: 'dead_lettered', requestId: c.requestId, strategyName: request.strategyName, deadLetterId, replayFailed };
}

export const enqueueRequestSpec: CommandSpec<EnqueueRequestCommand, EnqueueOutcome> = {
  type: 'enqueueRequest',
  apply: enqueueRequest,
  describe: (c) => `enqueueRequest (oos_requests) strategy=${c.strategyName}${c.requestId ? ` request=${c.requestId}` : ''}`,
};
export const claimDueSpec: CommandSpec<ClaimDueCommand, ClaimDueOutcome> = {
  type: 'claimDue',
  apply: claimDue,
  describe: (c) => `claimDue (oos_requests) limit=${c.limit}`,
};
export const releaseClaimSpec: CommandSpec<ReleaseClaimCommand, ReleaseClaimOutcome> = {
  type: 'releaseClaim',
  apply: releaseClaim,
  describe: (c) => `releaseClaim (oos_requests) request=${c.requestId}`,
};
export const requeueRequestSpec: CommandSpec<RequeueRequestCommand, RequeueOutcome> = {
  type: 'requeueRequest',
  apply: requeueRequest,
  describe: (c) => `requeueRequest (oos_requests) request=${c.requestId}`,
};
export const expiredLeasesSpec: CommandSpec<ExpiredLeasesCommand, ExpiredLeasesOutcome> = {
  type: 'expiredLeases',
  apply: expiredLeases,
  describe: (c) => `expiredLeases (oos_requests) limit=${c.limit}`,
};
export const rebaseDeadlinesSpec: CommandSpec<RebaseDeadlinesCommand, RebaseDeadlinesOutcome> = {
  type: 'rebaseDeadlines',
  apply: rebaseDeadlines,
  describe: (c) => `rebaseDeadlines (oos_requests) leaseMs=${c.leaseMs} maxBackoffMs=${c.maxBackoffMs}`,
};
export const retryRequestSpec: CommandSpec<RetryRequestCommand, RetryOutcome> = {
  type: 'retryRequest',
  apply: retryRequest,
  describe: (c) => `retryRequest (oos_requests) request=${c.requestId}`,
};
export const deadLetterRequestSpec: CommandSpec<DeadLetterRequestCommand, DeadLetterRequestOutcome> = {
  type: 'deadLetterRequest',
  apply: deadLetterRequest,
  describe: (c) => `deadLetterRequest (oos_requests, dead_letters) request=${c.requestId}`,
};

/** Strategy, state, enqueue and last send time, trace context of a request (for results.ts, which completes requests). */
export function requestBrief(
  store: Store,
  requestId: string,
): Pick<Selectable<OosRequestsTable>, 'strategy_name' | 'state' | 'enqueued_at' | 'sends' | 'attempts' | 'origin' | 'last_sent_at' | 'traceparent'> | undefined {
  return statements(store).brief.get({ requestId });
}

/** Marks a request done unless it already is; true when this call completed it. */
export function completeRequest(store: Store, requestId: string, now: number): boolean {
  return statements(store).complete.run({ requestId, now }).changes === 1;
}

// Reads ------------------------------------------------------------------------------------------

export function getRequest(store: Store, requestId: string): OutboxRequest | undefined {
  const row = statements(store).get.get({ requestId });
  return row ? toOutboxRequest(row) : undefined;
}

/** Requests oldest first (request ids are time-ordered), optionally in one state. */
export { countByState, countInFlight, listInFlightSentBy, listRequests, oldestLiveEnqueuedAt } from './outbox-reads.ts';

/** In-flight requests whose lease ended at or before `now`, earliest lease first. */
export function listExpiredLeases(store: Store, now: number, limit = 100): OutboxRequest[] {
  return statements(store).expired.all({ now, limit }).map(toOutboxRequest);
}
