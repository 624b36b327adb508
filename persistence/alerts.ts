/**
 * Alerts and their deliveries (migration 8). An alert is raised in a write batch before anything
 * is sent: `raiseAlert` stores it with one pending delivery per configured webhook, unless an
 * alert of the same kind and key was raised within the deduplication window (then that one's
 * `repeats` goes up and nothing new is sent). A delivery is claimed before each try (attempts + 1,
 * its next try moved to the end of a lease, so a process that dies mid-POST tries again once the
 * lease ends) and finished after it: sent, retried later, or dead with the error.
 *
 *   pending --claim--> pending (leased) --finish--> sent | pending (later) | dead
 */
import { sql, type RawBuilder } from 'kysely';
import type { CommandSpec } from './command.ts';
import type { Store } from './connection.ts';
import { perConnection, prepared } from './prepared.ts';
import { requireInteger, requireText } from './sql-helpers.ts';
import { isAlertKind, SEVERITIES, type Alert, type AlertField, type AlertKind, type Severity } from '../domain/alerts.ts';
import type { DeliveryState } from '../domain/alert-delivery.ts';

const PENDING = sql.lit('pending') as RawBuilder<DeliveryState>;

// Commands ---------------------------------------------------------------------------------------

export interface RaiseAlertCommand {
  type: 'raiseAlert';
  /** UUIDv7 made by the raiser: the idempotency id receivers see. */
  id: string;
  kind: AlertKind;
  key: string;
  severity: Severity;
  title: string;
  body: string;
  fields?: readonly AlertField[];
  /** An alert of the same kind and key raised within this many ms absorbs this one. */
  dedupWindowMs: number;
  /** The webhooks (by name) it is delivered to. */
  targets: readonly string[];
}

export type RaiseAlertOutcome =
  | { type: 'raiseAlert'; status: 'raised'; id: string; targets: number }
  /** Absorbed by `id`, raised at `createdAt`; `repeats` counts the absorbed ones. */
  | { type: 'raiseAlert'; status: 'deduplicated'; id: string; createdAt: number; repeats: number };

export interface ClaimAlertDeliveryCommand {
  type: 'claimAlertDelivery';
  alertId: string;
  target: string;
  /** While the try runs, its next try is this (the lease's end). */
  leaseUntil: number;
}

export type ClaimAlertDeliveryOutcome =
  | { type: 'claimAlertDelivery'; status: 'claimed'; attempts: number }
  /** Not pending any more (sent or dead), or gone: nothing to send. */
  | { type: 'claimAlertDelivery'; status: 'not_pending' };

export interface FinishAlertDeliveryCommand {
  type: 'finishAlertDelivery';
  alertId: string;
  target: string;
  outcome: 'sent' | 'retry' | 'dead';
  /** For 'retry'. */
  nextAttemptAt?: number;
  error?: string;
  httpStatus?: number;
}

export type FinishAlertDeliveryOutcome = { type: 'finishAlertDelivery'; status: 'sent' | 'retry' | 'dead' | 'not_pending' };

const statements = perConnection(({ sqlite, db }: Store) => ({
  recent: prepared(sqlite, ($: { kind: AlertKind; key: string; since: number }) =>
    db
      .selectFrom('alerts')
      .select(['id', 'created_at', 'repeats'])
      .where('kind', '=', $.kind)
      .where('dedup_key', '=', $.key)
      .where('created_at', '>=', $.since)
      .orderBy('created_at', 'desc')
      .limit(1),
  ),
  repeat: prepared(sqlite, ($: { id: string; now: number }) =>
    db
      .updateTable('alerts')
      .set((eb) => ({ repeats: eb('repeats', '+', 1), last_repeat_at: $.now }))
      .where('id', '=', $.id),
  ),
  insert: prepared(sqlite, ($: { id: string; kind: AlertKind; key: string; severity: Severity; payload: string; now: number }) =>
    db.insertInto('alerts').values({ id: $.id, kind: $.kind, dedup_key: $.key, severity: $.severity, payload: $.payload, created_at: $.now, repeats: 0 }),
  ),
  insertDelivery: prepared(sqlite, ($: { id: string; target: string; now: number }) =>
    db.insertInto('alert_deliveries').values({ alert_id: $.id, target: $.target, state: 'pending', attempts: 0, next_attempt_at: $.now }),
  ),
  claim: prepared(sqlite, ($: { id: string; target: string; leaseUntil: number }) =>
    db
      .updateTable('alert_deliveries')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: $.leaseUntil }))
      .where('alert_id', '=', $.id)
      .where('target', '=', $.target)
      .where('state', '=', PENDING)
      .returning('attempts'),
  ),
  finish: prepared(
    sqlite,
    ($: { id: string; target: string; state: DeliveryState; next: number | null; error: string | null; status: number | null; finishedAt: number | null }) =>
      db
        .updateTable('alert_deliveries')
        .set((eb) => ({
          state: $.state,
          next_attempt_at: eb.fn.coalesce(eb.val($.next), eb.ref('next_attempt_at')),
          last_error: $.error,
          last_status: $.status,
          finished_at: $.finishedAt,
        }))
        .where('alert_id', '=', $.id)
        .where('target', '=', $.target)
        .where('state', '=', PENDING),
  ),
  due: prepared(sqlite, ($: { now: number; limit: number }) =>
    db
      .selectFrom('alert_deliveries as d')
      .innerJoin('alerts as a', 'a.id', 'd.alert_id')
      .select(['d.alert_id', 'd.target', 'd.attempts', 'd.next_attempt_at', 'a.kind', 'a.dedup_key', 'a.severity', 'a.payload', 'a.created_at'])
      .where('d.state', '=', PENDING)
      .where('d.next_attempt_at', '<=', $.now)
      .orderBy('d.next_attempt_at')
      .orderBy('d.alert_id')
      .limit($.limit),
  ),
  nextDue: prepared(sqlite, (_: object) =>
    db
      .selectFrom('alert_deliveries')
      .select((eb) => eb.fn.min<number | null>('next_attempt_at').as('at'))
      .where('state', '=', PENDING),
  ),
  byState: prepared(sqlite, (_: object) =>
    db
      .selectFrom('alert_deliveries')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('state'),
  ),
  deliveriesOf: prepared(sqlite, ($: { id: string }) => db.selectFrom('alert_deliveries').selectAll().where('alert_id', '=', $.id).orderBy('target')),
  alert: prepared(sqlite, ($: { id: string }) => db.selectFrom('alerts').selectAll().where('id', '=', $.id)),
  // Their deliveries go with them (ON DELETE CASCADE).
  deleteFinished: prepared(sqlite, ($: { before: number; limit: number }) =>
    db.deleteFrom('alerts').where('id', 'in', (eb) =>
      eb
        .selectFrom('alerts as a')
        .select('a.id')
        .where('a.created_at', '<', $.before)
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('alert_deliveries as d').select('d.alert_id').whereRef('d.alert_id', '=', 'a.id').where('d.state', '=', PENDING))))
        .orderBy('a.created_at')
        .limit($.limit),
    ),
  ),
}));

/**
 * Retention (retention.ts pruneBefore): deletes up to `limit` alerts raised before `before` whose
 * deliveries have all ended, with their deliveries. An alert still to be sent is kept.
 */
export function deleteFinishedAlertsBefore(store: Store, before: number, limit: number): number {
  return statements(store).deleteFinished.run({ before, limit }).changes;
}

function raiseAlert(store: Store, c: RaiseAlertCommand, now: number): RaiseAlertOutcome {
  const what = `raiseAlert id=${c.id}`;
  requireText(what, 'id', c.id);
  if (!isAlertKind(c.kind)) throw new TypeError(`${what}: unknown alert kind ${JSON.stringify(c.kind)}`);
  if (!SEVERITIES.includes(c.severity)) throw new TypeError(`${what}: severity must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(c.severity)}`);
  requireText(what, 'key', c.key);
  requireInteger(what, 'dedupWindowMs', c.dedupWindowMs);
  const s = statements(store);
  if (c.dedupWindowMs > 0) {
    const earlier = s.recent.get({ kind: c.kind, key: c.key, since: now - c.dedupWindowMs });
    if (earlier) {
      s.repeat.run({ id: earlier.id, now });
      return { type: 'raiseAlert', status: 'deduplicated', id: earlier.id, createdAt: earlier.created_at, repeats: earlier.repeats + 1 };
    }
  }
  s.insert.run({ id: c.id, kind: c.kind, key: c.key, severity: c.severity, payload: JSON.stringify({ title: c.title, body: c.body, fields: c.fields ?? [] }), now });
  for (const target of new Set(c.targets)) s.insertDelivery.run({ id: c.id, target, now });
  return { type: 'raiseAlert', status: 'raised', id: c.id, targets: new Set(c.targets).size };
}

function claimAlertDelivery(store: Store, c: ClaimAlertDeliveryCommand): ClaimAlertDeliveryOutcome {
  requireInteger(`claimAlertDelivery alert=${c.alertId}`, 'leaseUntil', c.leaseUntil);
  const row = statements(store).claim.get({ id: c.alertId, target: c.target, leaseUntil: c.leaseUntil });
  return row ? { type: 'claimAlertDelivery', status: 'claimed', attempts: row.attempts } : { type: 'claimAlertDelivery', status: 'not_pending' };
}

function finishAlertDelivery(store: Store, c: FinishAlertDeliveryCommand, now: number): FinishAlertDeliveryOutcome {
  const what = `finishAlertDelivery alert=${c.alertId} target=${c.target}`;
  if (c.outcome === 'retry') requireInteger(what, 'nextAttemptAt', c.nextAttemptAt);
  const state: DeliveryState = c.outcome === 'retry' ? 'pending' : c.outcome;
  const r = statements(store).finish.run({
    id: c.alertId,
    target: c.target,
    state,
    next: c.outcome === 'retry' ? c.nextAttemptAt! : null,
    error: c.error?.slice(0, 2_000) ?? null,
    status: c.httpStatus ?? null,
    finishedAt: c.outcome === 'retry' ? null : now,
  });
  return { type: 'finishAlertDelivery', status: r.changes === 0 ? 'not_pending' : c.outcome };
}

export const raiseAlertSpec: CommandSpec<RaiseAlertCommand, RaiseAlertOutcome> = {
  type: 'raiseAlert',
  apply: raiseAlert,
  describe: (c) => `raiseAlert (alerts) kind=${c.kind} key=${c.key}`,
};

export const claimAlertDeliverySpec: CommandSpec<ClaimAlertDeliveryCommand, ClaimAlertDeliveryOutcome> = {
  type: 'claimAlertDelivery',
  apply: claimAlertDelivery,
  describe: (c) => `claimAlertDelivery (alert_deliveries) alert=${c.alertId} target=${c.target}`,
};

export const finishAlertDeliverySpec: CommandSpec<FinishAlertDeliveryCommand, FinishAlertDeliveryOutcome> = {
  type: 'finishAlertDelivery',
  apply: finishAlertDelivery,
  describe: (c) => `finishAlertDelivery (alert_deliveries) alert=${c.alertId} target=${c.target}`,
};

// Reads ------------------------------------------------------------------------------------------

export interface DueDelivery {
  readonly alert: Alert;
  readonly target: string;
  readonly attempts: number;
  readonly nextAttemptAt: number;
}

function toAlert(row: { id: string; kind: AlertKind; dedup_key: string; severity: Severity; payload: string; created_at: number }): Alert {
  const p = JSON.parse(row.payload) as { title: string; body: string; fields?: AlertField[] };
  return { id: row.id, kind: row.kind, key: row.dedup_key, severity: row.severity, title: p.title, body: p.body, fields: p.fields ?? [], createdAt: row.created_at };
}

/** Pending deliveries due at `now`, the longest waiting first. */
export function dueAlertDeliveries(store: Store, now: number, limit = 100): DueDelivery[] {
  return statements(store)
    .due.all({ now, limit })
    .map((r) => ({ alert: toAlert({ ...r, id: r.alert_id }), target: r.target, attempts: r.attempts, nextAttemptAt: r.next_attempt_at }));
}

/** When the next pending delivery comes due (a lease's end counts), or undefined when none is pending. */
export function nextAlertDeliveryAt(store: Store): number | undefined {
  return statements(store).nextDue.get({})?.at ?? undefined;
}

export function countAlertDeliveries(store: Store): Record<DeliveryState, number> {
  const out: Record<DeliveryState, number> = { pending: 0, sent: 0, dead: 0 };
  for (const r of statements(store).byState.all({})) out[r.state] = r.n;
  return out;
}

export interface AlertDeliveryRecord {
  readonly target: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  readonly lastStatus: number | null;
  readonly finishedAt: number | null;
}

export function getAlert(store: Store, id: string): (Alert & { repeats: number; deliveries: AlertDeliveryRecord[] }) | undefined {
  const s = statements(store);
  const row = s.alert.get({ id });
  if (!row) return undefined;
  const deliveries = s.deliveriesOf.all({ id }).map((d) => ({
    target: d.target,
    state: d.state,
    attempts: d.attempts,
    nextAttemptAt: d.next_attempt_at,
    lastError: d.last_error,
    lastStatus: d.last_status,
    finishedAt: d.finished_at,
  }));
  return { ...toAlert(row), repeats: row.repeats, deliveries };
}
