/**
 * Bridge mode's forwards: each result of a host request waits here, as the frame the service
 * sent, until it has been handed to the host's result socket. States:
 *
 *   pending --forwardsHandedOff--> forwarded
 *      |  <--forwardFailed (attempts + 1, last error)
 *      |  <--forwardsReopened------- (handed off just before the host's connection dropped)
 *      +------deadForward--------> dead (a dead letter with the frame, a forward_dead failure event)
 *      <------reviveForward------- (its dead letter replayed: a fresh budget, its age from now)
 *
 * A forward is written in the same commit as its result (results.ts, `insertForward`), so a
 * stored result of a host request always has one; a superseded request's result has none.
 */
import type { CommandSpec } from './command.ts';
import type { Store } from './connection.ts';
import { insertDeadLetterRow } from './dead-letters.ts';
import { insertFailureEvent } from './events.ts';
import { perConnection, prepared } from './prepared.ts';
import type { HostForwardState, HostForwardsTable } from './schema.ts';
import { requireInteger, requirePositiveInteger, requireText } from './sql-helpers.ts';

/** The message kind of a forward's dead letter. */
export const FORWARD_LETTER_KIND = 'host_forward';

// Commands ---------------------------------------------------------------------------------------

/** These pending forwards were handed to the host's socket: forwarded (attempts + 1). */
export interface ForwardsHandedOffCommand {
  type: 'forwardsHandedOff';
  requestIds: readonly string[];
}

/** A hand-off failed: still pending, attempts + 1, the error kept. */
export interface ForwardFailedCommand {
  type: 'forwardFailed';
  requestId: string;
  error: string;
}

/** Gives a pending forward up: dead, with a dead letter holding the frame and why. */
export interface DeadForwardCommand {
  type: 'deadForward';
  requestId: string;
  error: string;
  source: string;
}

/**
 * The host's connection dropped: forwards marked handed off from `since` to `until` may have died
 * with it in transit (the host's protocol has no acknowledgement), so they are pending again. The
 * forwarder's span (reopenSpan) runs past the drop to when the loss is handled.
 */
export interface ForwardsReopenedCommand {
  type: 'forwardsReopened';
  since: number;
  until: number;
}

/** A dead forward is pending again (its dead letter is being replayed): attempts 0, its age counted from now. */
export interface ReviveForwardCommand {
  type: 'reviveForward';
  requestId: string;
}

export type ReviveForwardOutcome =
  | { type: 'reviveForward'; status: 'revived'; requestId: string }
  | { type: 'reviveForward'; status: 'not_dead'; requestId: string; state: HostForwardState | null };
export type ForwardsReopenedOutcome = { type: 'forwardsReopened'; status: 'reopened'; reopened: number };
export type ForwardsHandedOffOutcome = { type: 'forwardsHandedOff'; status: 'marked'; forwarded: number };
export type ForwardFailedOutcome = { type: 'forwardFailed'; status: 'recorded' | 'not_pending'; requestId: string };
export type DeadForwardOutcome =
  | { type: 'deadForward'; status: 'dead_lettered'; requestId: string; deadLetterId: number }
  | { type: 'deadForward'; status: 'not_pending'; requestId: string };

// Applying -------------------------------------------------------------------------------------

const statements = perConnection(({ sqlite, db }: Store) => ({
  insert: prepared(sqlite, ($: { requestId: string; frame: string; now: number }) =>
    db
      .insertInto('host_forwards')
      .values({ request_id: $.requestId, state: 'pending', frame: $.frame, attempts: 0, first_at: $.now })
      .onConflict((oc) => oc.doNothing()),
  ),
  handedOff: prepared(sqlite, ($: { requestId: string; now: number }) =>
    db
      .updateTable('host_forwards')
      .set((eb) => ({ state: 'forwarded', attempts: eb('attempts', '+', eb.lit(1)), last_at: $.now, forwarded_at: $.now }))
      .where('request_id', '=', $.requestId)
      .where('state', '=', 'pending'),
  ),
  failed: prepared(sqlite, ($: { requestId: string; error: string; now: number }) =>
    db
      .updateTable('host_forwards')
      .set((eb) => ({ attempts: eb('attempts', '+', eb.lit(1)), last_at: $.now, last_error: $.error }))
      .where('request_id', '=', $.requestId)
      .where('state', '=', 'pending'),
  ),
  // Attempts back to 0: the hand-off went through and is no failure; a forward reopened at every start of a crash loop must not run out of them.
  reopen: prepared(sqlite, ($: { since: number; until: number }) =>
    db
      .updateTable('host_forwards')
      .set({ state: 'pending', forwarded_at: null, attempts: 0 })
      .where('state', '=', 'forwarded')
      .where('forwarded_at', '>=', $.since)
      .where('forwarded_at', '<=', $.until),
  ),
  revive: prepared(sqlite, ($: { requestId: string; now: number }) =>
    db
      .updateTable('host_forwards')
      .set({ state: 'pending', attempts: 0, first_at: $.now, last_error: null })
      .where('request_id', '=', $.requestId)
      .where('state', '=', 'dead'),
  ),
  markDead: prepared(sqlite, ($: { requestId: string; error: string; now: number }) =>
    db
      .updateTable('host_forwards')
      .set({ state: 'dead', last_at: $.now, last_error: $.error })
      .where('request_id', '=', $.requestId)
      .where('state', '=', 'pending')
      .returningAll(),
  ),
  // Through the partial index of pending forwards, oldest first.
  pending: prepared(sqlite, ($: { limit: number }) =>
    db.selectFrom('host_forwards').selectAll().where('state', '=', 'pending').orderBy('first_at').orderBy('request_id').limit($.limit),
  ),
  get: prepared(sqlite, ($: { requestId: string }) => db.selectFrom('host_forwards').selectAll().where('request_id', '=', $.requestId)),
  count: prepared(sqlite, () => db.selectFrom('host_forwards').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state')),
  latestHandOff: prepared(sqlite, () => db.selectFrom('host_forwards').select((eb) => eb.fn.max('forwarded_at').as('at')).where('state', '=', 'forwarded')),
}));

/** A result of a host request, to be forwarded: called by applyResult in the result's own commit. */
export function insertForward(store: Store, requestId: string, frame: string, now: number): void {
  statements(store).insert.run({ requestId, frame, now });
}

function forwardsHandedOff(store: Store, c: ForwardsHandedOffCommand, now: number): ForwardsHandedOffOutcome {
  const s = statements(store);
  let forwarded = 0;
  for (const id of c.requestIds) forwarded += s.handedOff.run({ requestId: requireText('forwardsHandedOff', 'requestId', id), now }).changes;
  return { type: 'forwardsHandedOff', status: 'marked', forwarded };
}

function forwardFailed(store: Store, c: ForwardFailedCommand, now: number): ForwardFailedOutcome {
  requireText(`forwardFailed request=${c.requestId}`, 'requestId', c.requestId);
  const changed = statements(store).failed.run({ requestId: c.requestId, error: String(c.error), now }).changes;
  return { type: 'forwardFailed', status: changed === 1 ? 'recorded' : 'not_pending', requestId: c.requestId };
}

function deadForward(store: Store, c: DeadForwardCommand, now: number): DeadForwardOutcome {
  const context = `deadForward request=${c.requestId}`;
  requireText(context, 'requestId', c.requestId);
  requireText(context, 'source', c.source);
  const row = statements(store).markDead.get({ requestId: c.requestId, error: String(c.error), now });
  if (!row) return { type: 'deadForward', status: 'not_pending', requestId: c.requestId };
  const deadLetterId = insertDeadLetterRow(
    store,
    {
      source: c.source,
      message: { kind: FORWARD_LETTER_KIND, requestId: c.requestId, frameText: row.frame, attempts: row.attempts, firstAt: row.first_at },
      error: String(c.error),
      attempts: row.attempts,
      requestId: c.requestId,
      firstFailedAt: row.first_at,
    },
    now,
  );
  insertFailureEvent(store, { kind: 'forward_dead', source: c.source, requestId: c.requestId, detail: String(c.error) }, now);
  insertFailureEvent(store, { kind: 'dead_letter', source: c.source, requestId: c.requestId, detail: `dead letter ${deadLetterId}` }, now);
  return { type: 'deadForward', status: 'dead_lettered', requestId: c.requestId, deadLetterId };
}

function forwardsReopened(store: Store, c: ForwardsReopenedCommand, _now: number): ForwardsReopenedOutcome {
  const since = requireInteger('forwardsReopened', 'since', c.since);
  const until = requireInteger('forwardsReopened', 'until', c.until);
  return { type: 'forwardsReopened', status: 'reopened', reopened: statements(store).reopen.run({ since, until }).changes };
}

function reviveForward(store: Store, c: ReviveForwardCommand, now: number): ReviveForwardOutcome {
  requireText(`reviveForward request=${c.requestId}`, 'requestId', c.requestId);
  const s = statements(store);
  if (s.revive.run({ requestId: c.requestId, now }).changes === 1) return { type: 'reviveForward', status: 'revived', requestId: c.requestId };
  return { type: 'reviveForward', status: 'not_dead', requestId: c.requestId, state: s.get.get({ requestId: c.requestId })?.state ?? null };
}

export const reviveForwardSpec: CommandSpec<ReviveForwardCommand, ReviveForwardOutcome> = {
  type: 'reviveForward',
  apply: reviveForward,
  describe: (c) => `reviveForward (host_forwards) request=${c.requestId}`,
};
export const forwardsReopenedSpec: CommandSpec<ForwardsReopenedCommand, ForwardsReopenedOutcome> = {
  type: 'forwardsReopened',
  apply: forwardsReopened,
  describe: (c) => `forwardsReopened (host_forwards) since=${c.since} until=${c.until}`,
};
export const forwardsHandedOffSpec: CommandSpec<ForwardsHandedOffCommand, ForwardsHandedOffOutcome> = {
  type: 'forwardsHandedOff',
  apply: forwardsHandedOff,
  describe: (c) => `forwardsHandedOff (host_forwards) requests=${c.requestIds.length}`,
};
export const forwardFailedSpec: CommandSpec<ForwardFailedCommand, ForwardFailedOutcome> = {
  type: 'forwardFailed',
  apply: forwardFailed,
  describe: (c) => `forwardFailed (host_forwards) request=${c.requestId}`,
};
export const deadForwardSpec: CommandSpec<DeadForwardCommand, DeadForwardOutcome> = {
  type: 'deadForward',
  apply: deadForward,
  describe: (c) => `deadForward (host_forwards, dead_letters) request=${c.requestId}`,
};

// Reads ------------------------------------------------------------------------------------------

export interface HostForward {
  requestId: string;
  state: HostForwardState;
  frame: string;
  attempts: number;
  firstAt: number;
  lastAt: number | null;
  forwardedAt: number | null;
  lastError: string | null;
}

function toForward(row: HostForwardsTable): HostForward {
  return {
    requestId: row.request_id,
    state: row.state,
    frame: row.frame,
    attempts: row.attempts,
    firstAt: row.first_at,
    lastAt: row.last_at,
    forwardedAt: row.forwarded_at,
    lastError: row.last_error,
  };
}

/** Pending forwards, oldest first, at most `limit`. */
export function listPendingForwards(store: Store, limit = 256): HostForward[] {
  return statements(store).pending.all({ limit: requirePositiveInteger('listPendingForwards', 'limit', limit) }).map(toForward);
}

export function getForward(store: Store, requestId: string): HostForward | undefined {
  const row = statements(store).get.get({ requestId });
  return row ? toForward(row) : undefined;
}

/** When the latest forward still marked forwarded was handed off; undefined when none is. */
export function latestHandOff(store: Store): number | undefined {
  const at = statements(store).latestHandOff.get({})?.at;
  return at === null || at === undefined ? undefined : requireInteger('latestHandOff', 'at', Number(at));
}

export function countForwardsByState(store: Store): Record<HostForwardState, number> {
  const out: Record<HostForwardState, number> = { pending: 0, forwarded: 0, dead: 0 };
  for (const r of statements(store).count.all({})) out[r.state] = requireInteger('countForwardsByState', 'n', Number(r.n));
  return out;
}
