/**
 * Failure and supervisor events: append-only logs that survive restarts, so the daily failure
 * summary and the restart history come from the database, not from process memory.
 */
import type { CommandSpec } from './command.ts';
import type { Store } from './connection.ts';
import { perConnection, prepared } from './prepared.ts';
import { toFailureEvent, toSupervisorEvent, type FailureEvent, type SupervisorEvent } from './records.ts';
import type { FailureKind, SupervisorEventKind } from './schema.ts';
import { requireInteger, requireText } from './sql-helpers.ts';

export const DAY_MS = 86_400_000;

export interface FailureEventInput {
  kind: FailureKind;
  source: string;
  requestId?: string | null;
  detail?: string | null;
}

export interface SupervisorEventInput {
  kind: SupervisorEventKind;
  path: string;
  childId?: string | null;
  detail?: string | null;
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

export type RecordFailureOutcome = { type: 'recordFailure'; status: 'recorded'; id: number };

export type RecordSupervisorEventOutcome = { type: 'recordSupervisorEvent'; status: 'recorded'; id: number };

const statements = perConnection(({ sqlite, db }: Store) => ({
  insertFailure: prepared(sqlite, ($: { at: number; kind: FailureKind; source: string; requestId: string | null; detail: string | null }) =>
    db.insertInto('failure_events').values({ at: $.at, kind: $.kind, source: $.source, request_id: $.requestId, detail: $.detail }),
  ),
  insertSupervisor: prepared(
    sqlite,
    ($: { at: number; kind: SupervisorEventKind; path: string; childId: string | null; detail: string | null }) =>
      db.insertInto('supervisor_events').values({ at: $.at, kind: $.kind, path: $.path, child_id: $.childId, detail: $.detail }),
  ),
  // Integer division by the literal day length gives the UTC day; grouping on that expression
  // keeps the roll-up inside SQLite over the `at` index range.
  countsByDay: prepared(sqlite, ($: { from: number; to: number }) =>
    db
      .selectFrom('failure_events')
      .select((eb) => [
        eb(eb('at', '/', eb.lit(DAY_MS)), '*', eb.lit(DAY_MS)).as('day_start'),
        'kind',
        eb.fn.countAll<number>().as('count'),
      ])
      .where('at', '>=', $.from)
      .where('at', '<', $.to)
      .groupBy(['day_start', 'kind'])
      .orderBy('day_start')
      .orderBy('kind'),
  ),
  failuresSince: prepared(sqlite, ($: { since: number; limit: number }) =>
    db.selectFrom('failure_events').selectAll().where('at', '>=', $.since).orderBy('at').orderBy('id').limit($.limit),
  ),
  supervisorSince: prepared(sqlite, ($: { since: number; limit: number }) =>
    db.selectFrom('supervisor_events').selectAll().where('at', '>=', $.since).orderBy('at').orderBy('id').limit($.limit),
  ),
}));

/** Appends a failure event; returns its id. Runs inside the caller's transaction. */
export function insertFailureEvent(store: Store, input: FailureEventInput, now: number): number {
  const context = `failure_events insert (${input.kind})`;
  requireText(context, 'kind', input.kind);
  requireText(context, 'source', input.source);
  const r = statements(store).insertFailure.run({
    at: now,
    kind: input.kind,
    source: input.source,
    requestId: input.requestId ?? null,
    detail: input.detail ?? null,
  });
  return Number(r.lastInsertRowid);
}

export function insertSupervisorEvent(store: Store, input: SupervisorEventInput, now: number): number {
  const context = `supervisor_events insert (${input.kind})`;
  requireText(context, 'kind', input.kind);
  requireText(context, 'path', input.path);
  const r = statements(store).insertSupervisor.run({
    at: now,
    kind: input.kind,
    path: input.path,
    childId: input.childId ?? null,
    detail: input.detail ?? null,
  });
  return Number(r.lastInsertRowid);
}

export const recordFailureSpec: CommandSpec<RecordFailureCommand, RecordFailureOutcome> = {
  type: 'recordFailure',
  apply: (store, c, now) => ({ type: 'recordFailure', status: 'recorded', id: insertFailureEvent(store, c, now) }),
  describe: (c) => `recordFailure (failure_events) kind=${c.kind}${c.requestId ? ` request=${c.requestId}` : ''}`,
};
export const recordSupervisorEventSpec: CommandSpec<RecordSupervisorEventCommand, RecordSupervisorEventOutcome> = {
  type: 'recordSupervisorEvent',
  apply: (store, c, now) => ({ type: 'recordSupervisorEvent', status: 'recorded', id: insertSupervisorEvent(store, c, now) }),
  describe: (c) => `recordSupervisorEvent (supervisor_events) kind=${c.kind} path=${c.path}`,
};

export interface FailureDayCount {
  /** UTC date, YYYY-MM-DD. */
  day: string;
  dayStartMs: number;
  kind: FailureKind;
  count: number;
}

/** Failure counts per UTC day and kind for events with fromMs <= at < toMs, oldest day first. */
export function failureCountsByDay(store: Store, fromMs: number, toMs: number): FailureDayCount[] {
  requireInteger('failureCountsByDay', 'fromMs', fromMs);
  requireInteger('failureCountsByDay', 'toMs', toMs);
  return statements(store)
    .countsByDay.all({ from: fromMs, to: toMs })
    .map((r) => ({
      day: new Date(r.day_start).toISOString().slice(0, 10),
      dayStartMs: r.day_start,
      kind: r.kind,
      count: r.count,
    }));
}

/** Failure events at or after sinceMs, oldest first. */
export function failureEventsSince(store: Store, sinceMs: number, limit = 1000): FailureEvent[] {
  return statements(store).failuresSince.all({ since: sinceMs, limit }).map(toFailureEvent);
}

/** Supervisor events at or after sinceMs, oldest first. */
export function supervisorEventsSince(store: Store, sinceMs: number, limit = 1000): SupervisorEvent[] {
  return statements(store).supervisorSince.all({ since: sinceMs, limit }).map(toSupervisorEvent);
}
