/**
 * Retention in the store: what may be deleted, when, and that the daily figures outlive the rows
 * they were computed from.
 */
import { describe, expect, it } from 'vitest';
import { applyOne } from '../../persistence/batch.ts';
import type { Store } from '../../persistence/connection.ts';
import { dailySummaryFor, readDailyFacts } from '../../persistence/report.ts';
import { retentionHorizon, storedDailySummary } from '../../persistence/retention.ts';
import { linesToKeep } from '../../actors/notifier.ts';
import { assembleDailySummary, DAY_MS, formatDailySummary, utcDayOf } from '../../domain/daily-summary.ts';
import { applyOk, count, metrics, strategy, T0, useTempStores } from './helpers.ts';

const temp = useTempStores();
const D0 = utcDayOf(T0).from;
const H = 3_600_000;

/** One request per name on day `day`: enqueued, sent and answered (two trades), plus a failure and a supervisor event. */
function dayOfWork(store: Store, day: number, names: string[]): string[] {
  applyOk(store, names.map((n) => ({ type: 'upsertStrategy' as const, strategy: strategy(n) })), day + H);
  const ids = applyOk(store, names.map((n) => ({ type: 'enqueueRequest' as const, strategyName: n, payload: { action: 'BACKTEST' } })), day + H).map((o) => (o as { requestId: string }).requestId);
  claim(store, day + H, names.length);
  applyOk(store, ids.map((id) => ({ type: 'applyResult' as const, requestId: id, result: metrics() })), day + 2 * H);
  applyOk(store, [{ type: 'recordFailure', kind: 'timeout', source: 'test' }, { type: 'recordSupervisorEvent', kind: 'restart', path: '/shoal/x' }], day + 3 * H);
  return ids;
}

function claim(store: Store, now: number, limit: number) {
  const o = applyOne(store, { type: 'claimDue', limit, leaseMs: 60_000 }, now);
  if (o.type !== 'claimDue' || o.status !== 'claimed') throw new Error(JSON.stringify(o));
  return o.requests;
}

function storeDay(store: Store, dayStart: number, now: number) {
  const summary = assembleDailySummary(readDailyFacts(store, dayStart, dayStart + DAY_MS), now);
  return applyOne(store, { type: 'storeDailySummary', dayStart, summary }, now);
}

function prune(store: Store, before: number, limit = 1_000) {
  const o = applyOne(store, { type: 'pruneBefore', before, limit }, before);
  if (o.type !== 'pruneBefore' || o.status !== 'pruned') throw new Error(JSON.stringify(o));
  return o;
}

describe('retention in the store', () => {
  // Rule: no row goes before its day's summary is kept; the horizon moves a day at a time, in order.
  it('deletes nothing past the retention horizon, and the horizon moves only by storing the next day', () => {
    const store = temp.open();
    dayOfWork(store, D0, ['a', 'b']);
    dayOfWork(store, D0 + DAY_MS, ['a', 'b']);
    const now = D0 + 10 * DAY_MS;
    // No day stored yet: nothing may go, whatever `before` says.
    expect(prune(store, now).pruned).toEqual({ requests: 0, results: 0, trades: 0, failureEvents: 0, supervisorEvents: 0, alerts: 0 });
    expect(storeDay(store, D0, now)).toMatchObject({ status: 'stored', horizon: D0 + DAY_MS });
    // A day out of order is refused, and changes nothing.
    expect(storeDay(store, D0 + 5 * DAY_MS, now)).toMatchObject({ status: 'out_of_order', horizon: D0 + DAY_MS });
    expect(retentionHorizon(store)).toBe(D0 + DAY_MS);
    const first = prune(store, now);
    expect(first).toMatchObject({ before: D0 + DAY_MS, more: false, pruned: { requests: 2, results: 2, trades: 4, failureEvents: 1, supervisorEvents: 1 } });
    expect(count(store, 'oos_requests')).toBe(2);
    expect(storeDay(store, D0 + DAY_MS, now)).toMatchObject({ status: 'stored' });
    expect(prune(store, now).pruned.requests).toBe(2);
    expect([count(store, 'oos_requests'), count(store, 'oos_results'), count(store, 'oos_trades'), count(store, 'failure_events'), count(store, 'supervisor_events')]).toEqual([0, 0, 0, 0, 0]);
    // Strategies are kept.
    expect(count(store, 'strategies')).toBe(2);
  });

  // Rule: an alert goes with the old work once none of its deliveries is pending; a pending one stays.
  it('deletes alerts before the horizon whose deliveries all finished, with their deliveries, and keeps one still pending', () => {
    const store = temp.open();
    const raise = (id: string, at: number) =>
      applyOne(store, { type: 'raiseAlert', id, kind: 'daily_summary', key: id, severity: 'info', title: id, body: '', dedupWindowMs: 0, targets: ['a', 'b'] }, at);
    raise('sent', D0);
    raise('waiting', D0);
    raise('recent', D0 + 3 * DAY_MS);
    for (const target of ['a', 'b']) applyOne(store, { type: 'finishAlertDelivery', alertId: 'sent', target, outcome: target === 'a' ? 'sent' : 'dead' }, D0 + 1);
    applyOne(store, { type: 'finishAlertDelivery', alertId: 'waiting', target: 'a', outcome: 'sent' }, D0 + 1);
    const now = D0 + 10 * DAY_MS;
    storeDay(store, D0, now);
    expect(prune(store, now).pruned.alerts).toBe(1);
    expect(store.sqlite.prepare('select id from alerts order by id').all()).toEqual([{ id: 'recent' }, { id: 'waiting' }]);
    expect(count(store, 'alert_deliveries', "alert_id = 'sent'")).toBe(0);
  });

  // Rule: the daily figures a day's rows fed stay after the rows are deleted.
  it("reports a pruned day with the figures it had before its rows went, marked as stored", () => {
    const store = temp.open();
    dayOfWork(store, D0, ['a', 'b', 'c']);
    const now = D0 + 100 * DAY_MS;
    const before = dailySummaryFor(store, D0, now);
    expect(before.oos).toMatchObject({ requested: 3, completed: 3 });
    expect(before.storedAt).toBeUndefined();
    storeDay(store, D0, now);
    prune(store, now);
    expect(count(store, 'oos_requests')).toBe(0);
    const after = dailySummaryFor(store, D0, now + 1);
    const { storedAt, generatedAt, ...figures } = after;
    expect(storedAt).toBe(now);
    expect(generatedAt).toBe(now + 1);
    const { storedAt: _s, generatedAt: _g, ...original } = before;
    expect(figures).toEqual(original);
    expect(storedDailySummary(store, D0)?.summary.oos.completed).toBe(3);
    expect(formatDailySummary(after)).toMatch(/past retention: its figures were stored/);
  });

  // Rule: never a live request, never one whose dead letter may still bring it back; dead letters themselves stay.
  it('keeps live requests, requests with a dead or replaying letter, and every dead letter; a request whose letter was discarded goes', () => {
    const store = temp.open();
    const day = D0 + H;
    applyOk(store, ['pending', 'flying', 'dead', 'discarded', 'done'].map((n) => ({ type: 'upsertStrategy' as const, strategy: strategy(n) })), day);
    const enq = (n: string) => (applyOne(store, { type: 'enqueueRequest', strategyName: n, payload: {} }, day) as { requestId: string }).requestId;
    const [flying, dead, discarded, done] = [enq('flying'), enq('dead'), enq('discarded'), enq('done')];
    claim(store, day, 4);
    const pending = enq('pending');
    applyOk(store, [{ type: 'applyResult', requestId: done, result: metrics() }], day + 1);
    const letters = applyOk(
      store,
      [dead, discarded].map((id) => ({ type: 'deadLetterRequest' as const, requestId: id, error: 'gave up', failureKind: 'timeout' as const, source: 'test' })),
      day + 2,
    ).map((o) => (o as { deadLetterId: number }).deadLetterId);
    applyOk(store, [{ type: 'discardDeadLetter', id: letters[1], reason: 'retired' }], day + 3);
    const now = D0 + 200 * DAY_MS;
    for (let d = D0; d < D0 + 5 * DAY_MS; d += DAY_MS) storeDay(store, d, now);
    prune(store, D0 + 5 * DAY_MS);
    const left = (store.sqlite.prepare('select request_id from oos_requests order by request_id').all() as { request_id: string }[]).map((r) => r.request_id);
    expect(left.sort()).toEqual([pending, flying, dead].sort());
    expect(count(store, 'dead_letters')).toBe(2);
  });

  // Rule: deletion runs in small batches, each a short commit; `more` says whether to go on.
  it('deletes at most `limit` rows of each kind per command and says when more are left', () => {
    const store = temp.open();
    dayOfWork(store, D0, ['a', 'b', 'c', 'd', 'e']);
    storeDay(store, D0, D0 + 9 * DAY_MS);
    const first = prune(store, D0 + 9 * DAY_MS, 2);
    expect(first.pruned.requests).toBe(2);
    expect(first.more).toBe(true);
    expect(prune(store, D0 + 9 * DAY_MS, 2).pruned.requests).toBe(2);
    const last = prune(store, D0 + 9 * DAY_MS, 2);
    expect(last.pruned.requests).toBe(1);
    expect(last.more).toBe(false);
  });
});

describe('notifications file retention', () => {
  // Rule: lines older than the line go; a line retention cannot date is kept, never dropped.
  it('keeps the lines at or after the line and any line it cannot read', () => {
    const lines = [JSON.stringify({ at: 1, title: 'old' }), 'not json', JSON.stringify({ at: 5, title: 'new' }), JSON.stringify({ title: 'no time' })];
    expect(linesToKeep(`${lines.join('\n')}\n`, 5)).toEqual({ kept: `${lines.slice(1).join('\n')}\n`, removed: 1 });
    expect(linesToKeep('', 5)).toEqual({ kept: '', removed: 0 });
    expect(linesToKeep(`${lines[0]}\n`, 5)).toEqual({ kept: '', removed: 1 });
  });
});
