import { describe, expect, it } from 'vitest';
import { applyBatch } from '../../persistence/batch.ts';
import { countAlertDeliveries, deleteFinishedAlertsBefore, dueAlertDeliveries, getAlert, nextAlertDeliveryAt, type RaiseAlertCommand } from '../../persistence/alerts.ts';
import { T0, useTempStores } from './helpers.ts';

const temp = useTempStores();

function raise(id: string, overrides: Partial<RaiseAlertCommand> = {}): RaiseAlertCommand {
  return { type: 'raiseAlert', id, kind: 'gate_rejected', key: 'USDJPY_M1.csv', severity: 'critical', title: 'data rejected', body: 'gaps', dedupWindowMs: 60_000, targets: ['discord', 'ops'], ...overrides };
}

describe('alerts in the store', () => {
  it('a raised alert is stored with one pending delivery per webhook, due at once', () => {
    const store = temp.open();
    const [o] = applyBatch(store, [raise('a1', { fields: [{ name: 'file', value: 'x' }] })], T0);
    expect(o).toEqual({ type: 'raiseAlert', status: 'raised', id: 'a1', targets: 2 });
    const due = dueAlertDeliveries(store, T0);
    expect(due.map((d) => d.target)).toEqual(['discord', 'ops']);
    expect(due[0].alert).toEqual({ id: 'a1', kind: 'gate_rejected', key: 'USDJPY_M1.csv', severity: 'critical', title: 'data rejected', body: 'gaps', fields: [{ name: 'file', value: 'x' }], createdAt: T0 });
    expect(countAlertDeliveries(store)).toEqual({ pending: 2, sent: 0, dead: 0 });
  });

  it('the same kind and key within the window is absorbed by the first alert (counted, nothing new to send); after the window it is a new alert', () => {
    const store = temp.open();
    applyBatch(store, [raise('a1')], T0);
    const [again] = applyBatch(store, [raise('a2')], T0 + 59_999);
    expect(again).toEqual({ type: 'raiseAlert', status: 'deduplicated', id: 'a1', createdAt: T0, repeats: 1 });
    expect(getAlert(store, 'a2')).toBeUndefined();
    expect(getAlert(store, 'a1')?.repeats).toBe(1);
    const [other] = applyBatch(store, [raise('a3', { key: 'EURUSD_M1.csv' })], T0 + 1);
    expect(other).toMatchObject({ status: 'raised', id: 'a3' });
    const [later] = applyBatch(store, [raise('a4')], T0 + 60_001);
    expect(later).toMatchObject({ status: 'raised', id: 'a4' });
  });

  it('a claim counts an attempt and leases the delivery: it is not due again until the lease ends', () => {
    const store = temp.open();
    applyBatch(store, [raise('a1', { targets: ['discord'] })], T0);
    const [c] = applyBatch(store, [{ type: 'claimAlertDelivery', alertId: 'a1', target: 'discord', leaseUntil: T0 + 10_000 }], T0);
    expect(c).toEqual({ type: 'claimAlertDelivery', status: 'claimed', attempts: 1 });
    expect(dueAlertDeliveries(store, T0 + 9_999)).toEqual([]);
    expect(nextAlertDeliveryAt(store)).toBe(T0 + 10_000);
    // A process that died mid-try: the delivery comes due again when the lease ends.
    expect(dueAlertDeliveries(store, T0 + 10_000).map((d) => d.attempts)).toEqual([1]);
  });

  it('finishing a delivery: sent and dead end it (a later claim finds nothing), retry makes it due at the time given', () => {
    const store = temp.open();
    applyBatch(store, [raise('a1', { targets: ['a', 'b', 'c'] })], T0);
    const claims = ['a', 'b', 'c'].map((target) => ({ type: 'claimAlertDelivery' as const, alertId: 'a1', target, leaseUntil: T0 + 5_000 }));
    applyBatch(store, claims, T0);
    applyBatch(
      store,
      [
        { type: 'finishAlertDelivery', alertId: 'a1', target: 'a', outcome: 'sent', httpStatus: 204 },
        { type: 'finishAlertDelivery', alertId: 'a1', target: 'b', outcome: 'dead', error: 'HTTP 404', httpStatus: 404 },
        { type: 'finishAlertDelivery', alertId: 'a1', target: 'c', outcome: 'retry', nextAttemptAt: T0 + 2_000, error: 'HTTP 500', httpStatus: 500 },
      ],
      T0 + 100,
    );
    expect(countAlertDeliveries(store)).toEqual({ pending: 1, sent: 1, dead: 1 });
    expect(getAlert(store, 'a1')?.deliveries).toEqual([
      { target: 'a', state: 'sent', attempts: 1, nextAttemptAt: T0 + 5_000, lastError: null, lastStatus: 204, finishedAt: T0 + 100 },
      { target: 'b', state: 'dead', attempts: 1, nextAttemptAt: T0 + 5_000, lastError: 'HTTP 404', lastStatus: 404, finishedAt: T0 + 100 },
      { target: 'c', state: 'pending', attempts: 1, nextAttemptAt: T0 + 2_000, lastError: 'HTTP 500', lastStatus: 500, finishedAt: null },
    ]);
    const [again] = applyBatch(store, [{ type: 'claimAlertDelivery', alertId: 'a1', target: 'a', leaseUntil: T0 + 9_000 }], T0 + 200);
    expect(again).toEqual({ type: 'claimAlertDelivery', status: 'not_pending' });
    const [late] = applyBatch(store, [{ type: 'finishAlertDelivery', alertId: 'a1', target: 'a', outcome: 'dead', error: 'late' }], T0 + 200);
    expect(late).toEqual({ type: 'finishAlertDelivery', status: 'not_pending' });
  });

  it('an unknown alert kind is refused with the alert named, and only that command fails', () => {
    const store = temp.open();
    const [bad, good] = applyBatch(store, [raise('x', { kind: 'nope' as never }), raise('a1')], T0);
    expect(bad).toMatchObject({ status: 'error', error: expect.stringContaining('raiseAlert (alerts) kind=nope') });
    expect(good).toMatchObject({ status: 'raised' });
  });

  it('retention deletes old alerts whose deliveries all ended, with their deliveries; an alert still to be sent is kept', () => {
    const store = temp.open();
    applyBatch(store, [raise('done', { key: 'a', targets: ['x'] }), raise('waiting', { key: 'b', targets: ['x'] }), raise('none', { key: 'c', targets: [] })], T0);
    applyBatch(store, [raise('new', { key: 'd', targets: [] })], T0 + 10_000);
    applyBatch(store, [{ type: 'claimAlertDelivery', alertId: 'done', target: 'x', leaseUntil: T0 + 1 }], T0);
    applyBatch(store, [{ type: 'finishAlertDelivery', alertId: 'done', target: 'x', outcome: 'dead', error: 'HTTP 404' }], T0);
    expect(deleteFinishedAlertsBefore(store, T0 + 5_000, 100)).toBe(2);
    expect(['done', 'waiting', 'none', 'new'].map((id) => getAlert(store, id) !== undefined)).toEqual([false, true, false, true]);
    expect(countAlertDeliveries(store)).toEqual({ pending: 1, sent: 0, dead: 0 });
  });
});
