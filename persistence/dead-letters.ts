/**
 * Dead letters: messages an actor could not process, kept with their error and history instead of
 * being dropped. States:
 *
 *   dead --claim--> replaying --replayed--> replayed
 *     ^                 |
 *     +----returned-----+        (replay_count + 1)       dead|replaying --discard--> discarded
 *
 * Every dead letter also counts as a `dead_letter` failure event.
 */
import { sql } from 'kysely';
import type { Store } from './connection.ts';
import type {
  ClaimDeadLettersForReplayCommand,
  ClaimDeadLettersOutcome,
  DeadLetterReplayedCommand,
  DeadLetterReplayedOutcome,
  DeadLetterReturnedCommand,
  DeadLetterReturnedOutcome,
  DiscardDeadLetterCommand,
  DiscardDeadLetterOutcome,
  InsertDeadLetterCommand,
  InsertDeadLetterOutcome,
  WrongLetterState,
} from './commands.ts';
import { insertFailureEvent } from './events.ts';
import { perConnection, prepared } from './prepared.ts';
import { toDeadLetter, type DeadLetter } from './records.ts';
import type { DeadLetterState } from './schema.ts';
import { letterState, requireInteger, requirePositiveInteger, requireText } from './sql-helpers.ts';

const DEAD = letterState('dead');
const REPLAYING = letterState('replaying');

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
      .where((eb) => eb.or([eb.and([eb('state', '=', DEAD), eb('replay_count', '<', max)]), eb('state', '=', REPLAYING)]));
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
    resolveReplayed: prepared(sqlite, ($: { id: number; now: number }) =>
      db
        .updateTable('dead_letters')
        .set({ state: letterState('replayed'), resolved_at: $.now })
        .where('id', '=', $.id)
        .where('state', 'in', [DEAD, REPLAYING]),
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

export function insertDeadLetter(store: Store, c: InsertDeadLetterCommand, now: number): InsertDeadLetterOutcome {
  const id = insertDeadLetterRow(store, c, now);
  insertFailureEvent(store, { kind: 'dead_letter', source: c.source, requestId: c.requestId ?? null, detail: c.error }, now);
  return { type: 'insertDeadLetter', status: 'inserted', id };
}

function wrongState<T extends 'deadLetterReplayed' | 'deadLetterReturned' | 'discardDeadLetter'>(
  store: Store,
  type: T,
  id: number,
): WrongLetterState<T> {
  const state: DeadLetterState | null = statements(store).get.get({ id })?.state ?? null;
  return { type, status: 'wrong_state', id, state };
}

export function deadLetterReplayed(store: Store, c: DeadLetterReplayedCommand, now: number): DeadLetterReplayedOutcome {
  requireInteger('deadLetterReplayed', 'id', c.id);
  if (statements(store).replayed.run({ id: c.id, now }).changes === 1) return { type: 'deadLetterReplayed', status: 'replayed', id: c.id };
  return wrongState(store, 'deadLetterReplayed', c.id);
}

/** Marks a letter replayed from dead or replaying, for a replay done by another command; true if it changed. */
export function resolveReplayed(store: Store, id: number, now: number): boolean {
  return statements(store).resolveReplayed.run({ id, now }).changes === 1;
}

export function deadLetterReturned(store: Store, c: DeadLetterReturnedCommand, now: number): DeadLetterReturnedOutcome {
  requireInteger('deadLetterReturned', 'id', c.id);
  const row = statements(store).returned.get({ id: c.id, now, error: String(c.error), stack: c.stack ?? null });
  if (!row) return wrongState(store, 'deadLetterReturned', c.id);
  insertFailureEvent(store, { kind: 'replay_failed', source: row.source, requestId: row.request_id, detail: `dead letter ${c.id}: ${c.error}` }, now);
  return { type: 'deadLetterReturned', status: 'returned', id: c.id, replayCount: row.replay_count };
}

export function discardDeadLetter(store: Store, c: DiscardDeadLetterCommand, now: number): DiscardDeadLetterOutcome {
  requireInteger('discardDeadLetter', 'id', c.id);
  if (statements(store).discard.run({ id: c.id, now, note: c.reason ?? null }).changes === 1) {
    return { type: 'discardDeadLetter', status: 'discarded', id: c.id };
  }
  return wrongState(store, 'discardDeadLetter', c.id);
}

export function claimDeadLettersForReplay(store: Store, c: ClaimDeadLettersForReplayCommand, _now: number): ClaimDeadLettersOutcome {
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

// Reads ------------------------------------------------------------------------------------------

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
