/**
 * Dead letters: messages an actor could not process, kept with their error and history instead of
 * being dropped. States:
 *
 *   dead --claim--> replaying --replayed--> replayed
 *     ^                 |
 *     +----returned-----+        (replay_count + 1)       dead|replaying --discard--> discarded
 *     +----released-----+        (replay postponed; no count)
 *
 * A dead request (message kind 'oos_request') has one letter for its whole life: replaying it
 * puts the request back in the outbox, and the letter stays `replaying` until the request ends.
 * Completing the request marks it `replayed`; dying again returns it (replay_count + 1), so the
 * replay count and the cap hold per request across deaths.
 *
 * Every dead letter also counts as a `dead_letter` failure event.
 */
import { sql } from 'kysely';
import { countLettersByState } from './operator-reads.ts';
import type { Store } from './connection.ts';
import type { CommandSpec } from './command.ts';
import { insertFailureEvent } from './events.ts';
import { perConnection, prepared } from './prepared.ts';
import { toDeadLetter, type DeadLetter } from './records.ts';
import type { DeadLetterState } from './schema.ts';
import { IN_FLIGHT, letterState, PENDING, requireInteger, requirePositiveInteger, requireText, text } from './sql-helpers.ts';

const DEAD = letterState('dead');
const REPLAYING = letterState('replaying');

/** The message kind of a dead request's letter (written by the outbox's deadLetterRequest). */
export const REQUEST_LETTER_KIND = 'oos_request';

/**
 * A request letter whose request is live again: its replay is under way and only the request's
 * end settles it, so claims and scans leave it alone.
 */
const REPLAY_IN_PROGRESS = sql<boolean>`(json_extract(dead_letters.message, '$.kind') = ${text(REQUEST_LETTER_KIND)} and exists (select 1 from oos_requests r where r.request_id = dead_letters.request_id and r.state in (${PENDING}, ${IN_FLIGHT})))`;

// Commands ---------------------------------------------------------------------------------------

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

export type InsertDeadLetterOutcome = { type: 'insertDeadLetter'; status: 'inserted'; id: number };

/** `wrong_state`: the letter is not in a state the transition starts from (null: no such id). */
export type WrongLetterState<T extends string> = { type: T; status: 'wrong_state'; id: number; state: DeadLetterState | null };

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

// Applying -------------------------------------------------------------------------------------

export interface DeadLetterInput {
  source: string;
  message: unknown;
  error: string;
  stack?: string | null;
  attempts: number;
  traceparent?: string | null;
  requestId?: string | null;
  firstFailedAt?: number;
}

type InsertArgs = {
  source: string;
  message: string;
  error: string;
  stack: string | null;
  attempts: number;
  firstFailedAt: number;
  now: number;
  traceparent: string | null;
  requestId: string | null;
};

const statements = perConnection(({ sqlite, db }: Store) => {
  // Letters a claim may take: dead ones replayed fewer than `max` times, and ones already
  // replaying (re-set to the same state), which makes a repeated claim return the same set and
  // lets a replayer that crashed pick its letters up again.
  const claimable = (max: number) =>
    db
      .selectFrom('dead_letters')
      .select('id')
      .where((eb) => eb.or([eb.and([eb('state', '=', DEAD), eb('replay_count', '<', max)]), eb.and([eb('state', '=', REPLAYING), eb.not(REPLAY_IN_PROGRESS)])]));
  const claim = (select: ReturnType<typeof claimable>) =>
    db.updateTable('dead_letters').set({ state: REPLAYING }).where('id', 'in', select.orderBy('id')).returningAll();
  return {
    insert: prepared(sqlite, ($: InsertArgs) =>
      db
        .insertInto('dead_letters')
        .values({
          source: $.source,
          message: $.message,
          error: $.error,
          stack: $.stack,
          attempts: $.attempts,
          first_failed_at: $.firstFailedAt,
          last_failed_at: $.now,
          traceparent: $.traceparent,
          replay_count: 0,
          state: DEAD,
          request_id: $.requestId,
        })
        .returning('id'),
    ),
    get: prepared(sqlite, ($: { id: number }) => db.selectFrom('dead_letters').selectAll().where('id', '=', $.id)),
    replayed: prepared(sqlite, ($: { id: number; now: number }) =>
      db
        .updateTable('dead_letters')
        .set({ state: letterState('replayed'), resolved_at: $.now })
        .where('id', '=', $.id)
        .where('state', '=', REPLAYING),
    ),
    returned: prepared(sqlite, ($: { id: number; now: number; error: string; stack: string | null }) =>
      db
        .updateTable('dead_letters')
        .set((eb) => ({
          state: DEAD,
          replay_count: eb('replay_count', '+', eb.lit(1)),
          last_failed_at: $.now,
          error: $.error,
          stack: eb.fn.coalesce(eb.val($.stack), 'stack'),
        }))
        .where('id', '=', $.id)
        .where('state', '=', REPLAYING)
        .returning(['replay_count', 'source', 'request_id']),
    ),
    released: prepared(sqlite, ($: { id: number; note: string }) =>
      db.updateTable('dead_letters').set({ state: DEAD, note: $.note }).where('id', '=', $.id).where('state', '=', REPLAYING),
    ),
    openRequestLetter: prepared(sqlite, ($: { requestId: string }) =>
      db
        .selectFrom('dead_letters')
        .select(['id', 'state'])
        .where('request_id', '=', $.requestId)
        .where('state', 'in', [DEAD, REPLAYING])
        .where(sql`json_extract(message, '$.kind')`, '=', text(REQUEST_LETTER_KIND))
        .orderBy('id', 'desc')
        .limit(1),
    ),
    requestDiedAgain: prepared(sqlite, ($: { id: number; message: string; error: string; attempts: number; now: number; wasReplaying: number }) =>
      db
        .updateTable('dead_letters')
        .set((eb) => ({
          state: DEAD,
          message: $.message,
          error: $.error,
          stack: null,
          attempts: $.attempts,
          last_failed_at: $.now,
          replay_count: eb('replay_count', '+', eb.val($.wasReplaying)),
        }))
        .where('id', '=', $.id),
    ),
    resolveRequestLetters: prepared(sqlite, ($: { requestId: string; now: number }) =>
      db
        .updateTable('dead_letters')
        .set({ state: letterState('replayed'), resolved_at: $.now, note: 'the request completed' })
        .where('request_id', '=', $.requestId)
        .where('state', 'in', [DEAD, REPLAYING])
        .where(sql`json_extract(message, '$.kind')`, '=', text(REQUEST_LETTER_KIND)),
    ),
    stalled: prepared(sqlite, ($: { limit: number }) =>
      db.selectFrom('dead_letters').selectAll().where('state', '=', REPLAYING).where((eb) => eb.not(REPLAY_IN_PROGRESS)).orderBy('id').limit($.limit),
    ),
    discard: prepared(sqlite, ($: { id: number; now: number; note: string | null }) =>
      db
        .updateTable('dead_letters')
        .set({ state: letterState('discarded'), resolved_at: $.now, note: $.note })
        .where('id', '=', $.id)
        .where('state', 'in', [DEAD, REPLAYING]),
    ),
    // json_each lets one prepared statement take any number of ids (as a JSON array) instead of
    // one statement per list length; kysely has no table-valued functions, hence the fragment.
    claimIds: prepared(sqlite, ($: { ids: string; max: number; limit: number }) =>
      claim(
        claimable($.max)
          .where('id', 'in', sql<number>`(select value from json_each(${$.ids}))`)
          .limit($.limit),
      ),
    ),
    claimSource: prepared(sqlite, ($: { source: string; max: number; limit: number }) =>
      claim(
        claimable($.max)
          .where('source', '=', $.source)
          .limit($.limit),
      ),
    ),
    claimAll: prepared(sqlite, ($: { max: number; limit: number }) =>
      claim(claimable($.max).limit($.limit)),
    ),
  };
});

/** Inserts a dead letter row and returns its id; recording the failure event is the caller's job. */
export function insertDeadLetterRow(store: Store, input: DeadLetterInput, now: number): number {
  const context = `dead_letters insert source=${input.source}`;
  requireText(context, 'source', input.source);
  const message = JSON.stringify(input.message ?? null);
  const row = statements(store).insert.get({
    source: input.source,
    message,
    error: String(input.error),
    stack: input.stack ?? null,
    attempts: requireInteger(context, 'attempts', input.attempts),
    firstFailedAt: input.firstFailedAt === undefined ? now : requireInteger(context, 'firstFailedAt', input.firstFailedAt),
    now,
    traceparent: input.traceparent ?? null,
    requestId: input.requestId ?? null,
  });
  if (!row) throw new Error(`${context}: insert returned no id`);
  return row.id;
}

function insertDeadLetter(store: Store, c: InsertDeadLetterCommand, now: number): InsertDeadLetterOutcome {
  const id = insertDeadLetterRow(store, c, now);
  insertFailureEvent(store, { kind: 'dead_letter', source: c.source, requestId: c.requestId ?? null, detail: c.error }, now);
  return { type: 'insertDeadLetter', status: 'inserted', id };
}

function wrongState<T extends 'deadLetterReplayed' | 'deadLetterReturned' | 'deadLetterReleased' | 'discardDeadLetter'>(
  store: Store,
  type: T,
  id: number,
): WrongLetterState<T> {
  const state: DeadLetterState | null = statements(store).get.get({ id })?.state ?? null;
  return { type, status: 'wrong_state', id, state };
}

function deadLetterReplayed(store: Store, c: DeadLetterReplayedCommand, now: number): DeadLetterReplayedOutcome {
  requireInteger('deadLetterReplayed', 'id', c.id);
  if (statements(store).replayed.run({ id: c.id, now }).changes === 1) return { type: 'deadLetterReplayed', status: 'replayed', id: c.id };
  return wrongState(store, 'deadLetterReplayed', c.id);
}

/**
 * A request went dead. Its open letter, if it has one, takes the new history: back to `dead`,
 * and replay_count + 1 when it was being replayed (the replay failed). Otherwise a new letter.
 * Returns the letter's id and whether a replay just failed.
 */
export function recordDeadRequest(store: Store, input: DeadLetterInput & { requestId: string }, now: number): { id: number; replayFailed: boolean } {
  const s = statements(store);
  const open = s.openRequestLetter.get({ requestId: input.requestId });
  if (!open) return { id: insertDeadLetterRow(store, input, now), replayFailed: false };
  const wasReplaying = open.state === 'replaying';
  s.requestDiedAgain.run({ id: open.id, message: JSON.stringify(input.message ?? null), error: String(input.error), attempts: input.attempts, now, wasReplaying: wasReplaying ? 1 : 0 });
  return { id: open.id, replayFailed: wasReplaying };
}

/** The request completed: its letter (being replayed, or dead and overtaken by a late result) is settled as replayed. */
export function resolveRequestLetters(store: Store, requestId: string, now: number): number {
  return statements(store).resolveRequestLetters.run({ requestId, now }).changes;
}

/** replaying -> dead without counting a replay: the replay was postponed, not tried. */
function deadLetterReleased(store: Store, c: DeadLetterReleasedCommand, _now: number): DeadLetterReleasedOutcome {
  requireInteger('deadLetterReleased', 'id', c.id);
  if (statements(store).released.run({ id: c.id, note: String(c.reason) }).changes === 1) return { type: 'deadLetterReleased', status: 'released', id: c.id };
  return wrongState(store, 'deadLetterReleased', c.id);
}

function deadLetterReturned(store: Store, c: DeadLetterReturnedCommand, now: number): DeadLetterReturnedOutcome {
  requireInteger('deadLetterReturned', 'id', c.id);
  const row = statements(store).returned.get({ id: c.id, now, error: String(c.error), stack: c.stack ?? null });
  if (!row) return wrongState(store, 'deadLetterReturned', c.id);
  insertFailureEvent(store, { kind: 'replay_failed', source: row.source, requestId: row.request_id, detail: `dead letter ${c.id}: ${c.error}` }, now);
  return { type: 'deadLetterReturned', status: 'returned', id: c.id, replayCount: row.replay_count };
}

function discardDeadLetter(store: Store, c: DiscardDeadLetterCommand, now: number): DiscardDeadLetterOutcome {
  requireInteger('discardDeadLetter', 'id', c.id);
  if (statements(store).discard.run({ id: c.id, now, note: c.reason ?? null }).changes === 1) {
    return { type: 'discardDeadLetter', status: 'discarded', id: c.id };
  }
  return wrongState(store, 'discardDeadLetter', c.id);
}

function claimDeadLettersForReplay(store: Store, c: ClaimDeadLettersForReplayCommand, _now: number): ClaimDeadLettersOutcome {
  const limit = requirePositiveInteger('claimDeadLettersForReplay', 'limit', c.limit);
  const max = requireInteger('claimDeadLettersForReplay', 'maxReplays', c.maxReplays);
  const s = statements(store);
  let rows;
  if (c.ids !== undefined) {
    for (const id of c.ids) requireInteger('claimDeadLettersForReplay', 'ids[]', id);
    rows = s.claimIds.all({ ids: JSON.stringify(c.ids), max, limit });
  } else if (c.source !== undefined) {
    rows = s.claimSource.all({ source: c.source, max, limit });
  } else {
    rows = s.claimAll.all({ max, limit });
  }
  const letters = rows.map(toDeadLetter).sort((a, b) => a.id - b.id);
  return { type: 'claimDeadLettersForReplay', status: 'claimed', letters };
}

const describeTransition = (c: { type: string; id: number }) => `${c.type} (dead_letters) id=${c.id}`;

export const insertDeadLetterSpec: CommandSpec<InsertDeadLetterCommand, InsertDeadLetterOutcome> = {
  type: 'insertDeadLetter',
  apply: insertDeadLetter,
  describe: (c) => `insertDeadLetter (dead_letters) source=${c.source}${c.requestId ? ` request=${c.requestId}` : ''}`,
};
export const deadLetterReplayedSpec: CommandSpec<DeadLetterReplayedCommand, DeadLetterReplayedOutcome> = {
  type: 'deadLetterReplayed',
  apply: deadLetterReplayed,
  describe: describeTransition,
};
export const deadLetterReturnedSpec: CommandSpec<DeadLetterReturnedCommand, DeadLetterReturnedOutcome> = {
  type: 'deadLetterReturned',
  apply: deadLetterReturned,
  describe: describeTransition,
};
export const deadLetterReleasedSpec: CommandSpec<DeadLetterReleasedCommand, DeadLetterReleasedOutcome> = {
  type: 'deadLetterReleased',
  apply: deadLetterReleased,
  describe: describeTransition,
};
export const discardDeadLetterSpec: CommandSpec<DiscardDeadLetterCommand, DiscardDeadLetterOutcome> = {
  type: 'discardDeadLetter',
  apply: discardDeadLetter,
  describe: describeTransition,
};
export const claimDeadLettersForReplaySpec: CommandSpec<ClaimDeadLettersForReplayCommand, ClaimDeadLettersOutcome> = {
  type: 'claimDeadLettersForReplay',
  apply: claimDeadLettersForReplay,
  describe: (c) => `claimDeadLettersForReplay (dead_letters)${c.source ? ` source=${c.source}` : ''}${c.ids ? ` ids=${c.ids.length}` : ''}`,
};

// Reads ------------------------------------------------------------------------------------------

/** Dead letters by state (every state present, 0 when none). */
export function countDeadLettersByState(store: Store): Record<DeadLetterState, number> {
  return countLettersByState(store);
}

/** Letters left `replaying` with nothing under way for them (a claim whose replayer died, a CLI claim), oldest first. */
export function listStalledReplays(store: Store, limit = 100): DeadLetter[] {
  return statements(store).stalled.all({ limit }).map(toDeadLetter);
}

export function getDeadLetter(store: Store, id: number): DeadLetter | undefined {
  const row = statements(store).get.get({ id });
  return row ? toDeadLetter(row) : undefined;
}

export interface DeadLetterFilter {
  state?: DeadLetterState;
  source?: string;
  requestId?: string;
  /** Keyset paging: letters with a larger id. */
  afterId?: number;
  /** Default 100. */
  limit?: number;
}

/** Dead letters oldest first. Not a hot path: the query is built and prepared per call. */
export function listDeadLetters(store: Store, filter: DeadLetterFilter = {}): DeadLetter[] {
  let q = store.db.selectFrom('dead_letters').selectAll();
  if (filter.state !== undefined) q = q.where('state', '=', letterState(filter.state));
  if (filter.source !== undefined) q = q.where('source', '=', filter.source);
  if (filter.requestId !== undefined) q = q.where('request_id', '=', filter.requestId);
  if (filter.afterId !== undefined) q = q.where('id', '>', filter.afterId);
  const compiled = q.orderBy('id').limit(filter.limit ?? 100).compile();
  return prepared(store.sqlite, compiled).all({}).map(toDeadLetter);
}
