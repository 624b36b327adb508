/**
 * Retention: finished requests (with their results and trades), failure events, supervisor
 * events and delivered alerts older than a configured age are deleted, so the file stops growing under a steady load.
 *
 * The retention horizon (cursor 'retention-horizon', a UTC day start) is the line rows are deleted
 * before. It moves one day at a time, and only by `storeDailySummary`, which stores that day's
 * summary in the same commit: the daily figures of a day whose rows are gone are read from
 * `daily_summaries` (report.ts `dailySummaryFor`). `pruneBefore` never deletes past the horizon,
 * whatever it is asked, so no row can go before its day's figures are kept.
 *
 * Never deleted: a live request (pending, in flight); a request with a dead letter still dead or
 * being replayed (it may come back); dead letters themselves (the operator's record, kept with
 * the request they hold); strategies and their rank history.
 */
import type { CommandSpec } from './command.ts';
import type { Store } from './connection.ts';
import { getCursor } from './cursors.ts';
import { perConnection, prepared } from './prepared.ts';
import { DAY_MS, type DailySummary } from '../domain/daily-summary.ts';
import { sql } from 'kysely';
import { DEAD, DONE, letterState, requireInteger, requirePositiveInteger } from './sql-helpers.ts';
import { deleteFinishedAlertsBefore } from './alerts.ts';

/** The cursor holding the retention horizon: rows before it may be deleted, their days are stored. */
export const RETENTION_HORIZON = 'retention-horizon';

/** A request with a letter in these states may still come back: it is kept. */
const UNDISCHARGED = [letterState('dead'), letterState('replaying')];

// Commands ---------------------------------------------------------------------------------------

/**
 * Keeps a finished day's summary and moves the retention horizon past the day. The day must be
 * the one at the horizon (or any day while there is no horizon yet): days are kept in order, so
 * the horizon never passes a day whose summary is missing.
 */
export interface StoreDailySummaryCommand {
  type: 'storeDailySummary';
  dayStart: number;
  summary: DailySummary;
}

/** Deletes up to `limit` rows of each kind older than `before` (and never past the horizon). */
export interface PruneBeforeCommand {
  type: 'pruneBefore';
  before: number;
  limit: number;
}

export type StoreDailySummaryOutcome =
  | { type: 'storeDailySummary'; status: 'stored'; dayStart: number; horizon: number }
  /** The day is not the one at the horizon (already kept, or a gap); nothing changed. */
  | { type: 'storeDailySummary'; status: 'out_of_order'; dayStart: number; horizon: number };

export interface PrunedCounts {
  requests: number;
  results: number;
  trades: number;
  failureEvents: number;
  supervisorEvents: number;
  /** Alerts whose deliveries have all ended (persistence/alerts.ts), with their deliveries. */
  alerts: number;
}

export type PruneBeforeOutcome = {
  type: 'pruneBefore';
  status: 'pruned';
  /** What was deleted before: min(before, horizon). */
  before: number;
  pruned: PrunedCounts;
  /** Some kind hit the limit: more may be left before `before`. */
  more: boolean;
};

const statements = perConnection(({ sqlite, db }: Store) => ({
  insertSummary: prepared(sqlite, ($: { dayStart: number; day: string; summary: string; now: number }) =>
    db.insertInto('daily_summaries').values({ day_start: $.dayStart, day: $.day, summary: $.summary, made_at: $.now }).onConflict((oc) => oc.column('day_start').doNothing()),
  ),
  setHorizon: prepared(sqlite, ($: { value: number; now: number }) =>
    db
      .insertInto('cursors')
      .values({ name: RETENTION_HORIZON, value: $.value, updated_at: $.now })
      .onConflict((oc) => oc.column('name').doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), updated_at: eb.ref('excluded.updated_at') }))),
  ),
  getSummary: prepared(sqlite, ($: { dayStart: number }) => db.selectFrom('daily_summaries').select(['summary', 'made_at']).where('day_start', '=', $.dayStart)),
  // Done requests by completion time (the partial index on completed_at), unless a letter of
  // theirs may still bring them back.
  doneBefore: prepared(sqlite, ($: { before: number; limit: number }) =>
    db
      .selectFrom('oos_requests as r')
      .select('r.request_id')
      .where('r.completed_at', '<', $.before)
      .where('r.state', '=', DONE)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('dead_letters as l').select('l.id').whereRef('l.request_id', '=', 'r.request_id').where('l.state', 'in', UNDISCHARGED))),
      )
      .orderBy('r.completed_at')
      .limit($.limit),
  ),
  // Dead requests whose letter was discarded before the line (the operator closed them), and
  // none of whose letters is still dead or replaying.
  discardedBefore: prepared(sqlite, ($: { before: number; limit: number }) =>
    db
      .selectFrom('dead_letters as d')
      .innerJoin('oos_requests as r', 'r.request_id', 'd.request_id')
      .select('r.request_id')
      .distinct()
      .where('d.state', '=', letterState('discarded'))
      .where('d.resolved_at', '<', $.before)
      .where('r.state', '=', DEAD)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('dead_letters as l').select('l.id').whereRef('l.request_id', '=', 'r.request_id').where('l.state', 'in', UNDISCHARGED))),
      )
      .limit($.limit),
  ),
  countTrades: prepared(sqlite, ($: { ids: string }) =>
    db
      .selectFrom('oos_trades')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('request_id', 'in', idsIn($.ids)),
  ),
  // Trades go with their result (ON DELETE CASCADE).
  deleteResults: prepared(sqlite, ($: { ids: string }) => db.deleteFrom('oos_results').where('request_id', 'in', idsIn($.ids))),
  deleteRequests: prepared(sqlite, ($: { ids: string }) => db.deleteFrom('oos_requests').where('request_id', 'in', idsIn($.ids))),
  // Oldest first through the `at` index.
  deleteFailures: prepared(sqlite, ($: { before: number; limit: number }) =>
    db.deleteFrom('failure_events').where('id', 'in', (eb) => eb.selectFrom('failure_events').select('id').where('at', '<', $.before).orderBy('at').limit($.limit)),
  ),
  deleteSupervisorEvents: prepared(sqlite, ($: { before: number; limit: number }) =>
    db.deleteFrom('supervisor_events').where('id', 'in', (eb) => eb.selectFrom('supervisor_events').select('id').where('at', '<', $.before).orderBy('at').limit($.limit)),
  ),
  earliestRequest: prepared(sqlite, () => db.selectFrom('oos_requests').select((eb) => eb.fn.min<number | null>('enqueued_at').as('at'))),
  earliestFailure: prepared(sqlite, () => db.selectFrom('failure_events').select((eb) => eb.fn.min<number | null>('at').as('at'))),
  earliestSupervisorEvent: prepared(sqlite, () => db.selectFrom('supervisor_events').select((eb) => eb.fn.min<number | null>('at').as('at'))),
}));

/** The rows of a JSON array of request ids, for `request_id in (...)`. */
function idsIn(ids: string) {
  return sql<string>`(select value from json_each(${ids}))`;
}

function storeDailySummary(store: Store, c: StoreDailySummaryCommand, now: number): StoreDailySummaryOutcome {
  requireInteger('storeDailySummary', 'dayStart', c.dayStart);
  if (c.dayStart % DAY_MS !== 0) throw new RangeError(`storeDailySummary: dayStart ${c.dayStart} is not a UTC day start`);
  const horizon = getCursor(store, RETENTION_HORIZON);
  if (horizon !== undefined && horizon !== c.dayStart) return { type: 'storeDailySummary', status: 'out_of_order', dayStart: c.dayStart, horizon };
  const s = statements(store);
  s.insertSummary.run({ dayStart: c.dayStart, day: new Date(c.dayStart).toISOString().slice(0, 10), summary: JSON.stringify(c.summary), now });
  s.setHorizon.run({ value: c.dayStart + DAY_MS, now });
  return { type: 'storeDailySummary', status: 'stored', dayStart: c.dayStart, horizon: c.dayStart + DAY_MS };
}

function pruneBefore(store: Store, c: PruneBeforeCommand, _now: number): PruneBeforeOutcome {
  requireInteger('pruneBefore', 'before', c.before);
  const limit = requirePositiveInteger('pruneBefore', 'limit', c.limit);
  const before = Math.min(c.before, getCursor(store, RETENTION_HORIZON) ?? Number.MIN_SAFE_INTEGER);
  const s = statements(store);
  const done = s.doneBefore.all({ before, limit }).map((r) => r.request_id);
  const discarded = done.length < limit ? s.discardedBefore.all({ before, limit: limit - done.length }).map((r) => r.request_id) : [];
  const ids = JSON.stringify([...done, ...discarded]);
  const trades = s.countTrades.get({ ids })?.n ?? 0;
  const results = s.deleteResults.run({ ids }).changes;
  const requests = s.deleteRequests.run({ ids }).changes;
  const failureEvents = s.deleteFailures.run({ before, limit }).changes;
  const supervisorEvents = s.deleteSupervisorEvents.run({ before, limit }).changes;
  const alerts = deleteFinishedAlertsBefore(store, before, limit);
  return {
    type: 'pruneBefore',
    status: 'pruned',
    before,
    pruned: { requests, results, trades, failureEvents, supervisorEvents, alerts },
    more: done.length + discarded.length >= limit || failureEvents >= limit || supervisorEvents >= limit || alerts >= limit,
  };
}

export const storeDailySummarySpec: CommandSpec<StoreDailySummaryCommand, StoreDailySummaryOutcome> = {
  type: 'storeDailySummary',
  apply: storeDailySummary,
  describe: (c) => `storeDailySummary (daily_summaries) day=${new Date(c.dayStart).toISOString().slice(0, 10)}`,
};

export const pruneBeforeSpec: CommandSpec<PruneBeforeCommand, PruneBeforeOutcome> = {
  type: 'pruneBefore',
  apply: pruneBefore,
  describe: (c) => `pruneBefore (oos_requests, oos_results, oos_trades, failure_events, supervisor_events, alerts) before=${c.before}`,
};

// Reads ------------------------------------------------------------------------------------------

/** The retention horizon: rows before it may have been deleted. Undefined until retention first ran. */
export function retentionHorizon(store: Store): number | undefined {
  return getCursor(store, RETENTION_HORIZON);
}

/** The stored summary of the day starting at `dayStart`, with when it was stored, if any. */
export function storedDailySummary(store: Store, dayStart: number): { summary: DailySummary; storedAt: number } | undefined {
  const row = statements(store).getSummary.get({ dayStart });
  return row ? { summary: JSON.parse(row.summary) as DailySummary, storedAt: row.made_at } : undefined;
}

/** The earliest time any row retention deletes was written, or undefined on an empty store. */
export function earliestActivity(store: Store): number | undefined {
  const s = statements(store);
  const times = [s.earliestRequest.get({})?.at, s.earliestFailure.get({})?.at, s.earliestSupervisorEvent.get({})?.at].filter((t): t is number => typeof t === 'number');
  return times.length === 0 ? undefined : Math.min(...times);
}
