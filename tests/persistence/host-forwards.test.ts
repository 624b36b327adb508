/**
 * Bridge mode in the store (migration 7): requests of the host under its own ids, a newer one
 * superseding the older live one, and the forward of each result written with it.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { auditStore, formatAudit } from '../../persistence/audit.ts';
import { applyOne } from '../../persistence/batch.ts';
import { MIGRATIONS, readSchemaVersion } from '../../persistence/migrations.ts';
import { countForwardsByState, getForward, listPendingForwards } from '../../persistence/host-forwards.ts';
import { getRequest } from '../../persistence/outbox.ts';
import { getResult } from '../../persistence/results.ts';
import { listDeadLetters } from '../../persistence/dead-letters.ts';
import type { Store } from '../../persistence/connection.ts';
import { applyOk, count, metrics, seedRequests, strategy, T0, useTempStores } from './helpers.ts';

const temp = useTempStores();
const FRAME = '((type . "BACKTEST_RESULT") (result . ((strategy_name . "S-OOS") (sharpe . 0.52) (request_id . "h1"))))';

function hostEnqueue(store: Store, requestId: string, now: number, name = 'S') {
  return applyOne(store, { type: 'enqueueRequest', strategyName: name, payload: { strategy: { name: `${name}-OOS` } }, requestId, origin: 'host', supersedeLive: true }, now);
}

function hostStore() {
  const store = temp.open();
  applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('S') }], T0);
  return store;
}

describe('migration 7 (bridge)', () => {
  it('a version-6 database with requests, results and trades is rebuilt to version 7 with every row and foreign key kept, local origin, and superseded allowed', () => {
    const old = temp.open({ migrations: MIGRATIONS.slice(0, 6) });
    applyOk(old, [{ type: 'upsertStrategy', strategy: strategy('a') }], T0);
    // Written with raw SQL as a version-6 build would (this build's statements expect version 7).
    old.sqlite
      .prepare(`insert into oos_requests (request_id, strategy_name, payload, state, attempts, next_attempt_at, enqueued_at, history, sends, completed_at) values ('r1', 'a', '{}', 'done', 1, ${T0}, ${T0}, '[]', 1, ${T0 + 5})`)
      .run();
    old.sqlite.prepare(`insert into oos_results (request_id, strategy_name, trades, received_at) values ('r1', 'a', 3, ${T0 + 5})`).run();
    old.sqlite.prepare(`insert into oos_trades (request_id, timestamp, pnl) values ('r1', ${T0}, 0.1)`).run();
    expect(readSchemaVersion(old.sqlite)).toBe(6);
    const path = old.path;
    old.close();
    // Up to this migration only: later ones (alerts, 8) are another test's.
    const store = temp.open({ path, migrations: MIGRATIONS.slice(0, 7) });
    expect(readSchemaVersion(store.sqlite)).toBe(7);
    expect(getRequest(store, 'r1')).toMatchObject({ state: 'done', origin: 'local', supersededBy: null });
    expect(getResult(store, 'r1')?.tradeList).toHaveLength(1);
    expect(store.sqlite.pragma('foreign_key_check')).toEqual([]);
    expect(store.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    const indexes = (store.sqlite.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'oos_requests' and sql is not null order by name").all() as { name: string }[]).map((r) => r.name);
    expect(indexes).toEqual(['oos_requests_completed', 'oos_requests_due', 'oos_requests_lease', 'oos_requests_one_live']);
    // The child tables still reference the rebuilt table.
    const fk = store.sqlite.prepare("select \"table\" from pragma_foreign_key_list('oos_results')").all() as { table: string }[];
    expect(fk.map((f) => f.table)).toEqual(['oos_requests']);
  });

  it('the rebuild refuses to commit a foreign key it would break, leaving the file at version 6', () => {
    const old = temp.open({ migrations: MIGRATIONS.slice(0, 6) });
    const path = old.path;
    old.close();
    // A result whose request does not exist, written behind the store's back.
    const raw = new Database(path);
    raw.pragma('foreign_keys = OFF');
    raw.prepare(`insert into oos_results (request_id, strategy_name, trades, received_at) values ('ghost', 'x', 1, ${T0})`).run();
    raw.close();
    expect(() => temp.open({ path })).toThrow(/migration 7 .* would break 1 foreign key/);
    const check = new Database(path, { readonly: true });
    expect(readSchemaVersion(check)).toBe(6);
    check.close();
  });
});

describe('host requests: origin and supersede', () => {
  it("a host request is kept under the host's own id with origin host; sending the same id again changes nothing", () => {
    const store = hostStore();
    expect(hostEnqueue(store, 'h1', T0)).toEqual({ type: 'enqueueRequest', status: 'enqueued', requestId: 'h1' });
    expect(hostEnqueue(store, 'h1', T0 + 1)).toEqual({ type: 'enqueueRequest', status: 'exists', requestId: 'h1', state: 'pending' });
    expect(getRequest(store, 'h1')).toMatchObject({ origin: 'host', state: 'pending' });
  });

  it('a newer host request for the same strategy supersedes the older live one, which is never claimed again', () => {
    const store = hostStore();
    hostEnqueue(store, 'h1', T0);
    applyOk(store, [{ type: 'claimDue', limit: 10, leaseMs: 60_000 }], T0 + 1);
    expect(hostEnqueue(store, 'h2', T0 + 2)).toEqual({ type: 'enqueueRequest', status: 'enqueued', requestId: 'h2', superseded: { requestId: 'h1', state: 'in_flight' } });
    expect(getRequest(store, 'h1')).toMatchObject({ state: 'superseded', supersededBy: 'h2', leaseUntil: null, completedAt: T0 + 2 });
    const claimed = applyOk(store, [{ type: 'claimDue', limit: 10, leaseMs: 60_000 }], T0 + 3)[0];
    expect(claimed).toMatchObject({ requests: [{ requestId: 'h2' }] });
    // Nor does a lease or a retry touch it.
    expect(applyOne(store, { type: 'retryRequest', requestId: 'h1', nextAttemptAt: T0, error: 'x', failureKind: 'timeout' }, T0 + 4)).toMatchObject({ status: 'not_live', state: 'superseded' });
  });

  it("a local request's strategy still refuses a second live request (no supersede outside the host's intake)", () => {
    const store = hostStore();
    seedRequests(store, ['L'], T0);
    expect(applyOne(store, { type: 'enqueueRequest', strategyName: 'L', payload: {} }, T0 + 1)).toMatchObject({ status: 'duplicate_live' });
  });
});

describe('host forwards', () => {
  it("the result of a host request is written with its forward (the frame as sent), in the same commit; a local request's result has none", () => {
    const store = hostStore();
    hostEnqueue(store, 'h1', T0);
    const [local] = seedRequests(store, ['L'], T0);
    const [a, b] = applyOk(
      store,
      [
        { type: 'applyResult', requestId: 'h1', result: metrics(), frame: FRAME },
        { type: 'applyResult', requestId: local, result: metrics(), frame: FRAME },
      ],
      T0 + 5,
    );
    expect(a).toMatchObject({ status: 'applied', forward: true });
    expect(b).toMatchObject({ status: 'applied', forward: false });
    expect(getForward(store, 'h1')).toEqual({ requestId: 'h1', state: 'pending', frame: FRAME, attempts: 0, firstAt: T0 + 5, lastAt: null, forwardedAt: null, lastError: null });
    expect(count(store, 'host_forwards')).toBe(1);
    // A second copy of the result is a duplicate: no second forward.
    expect(applyOne(store, { type: 'applyResult', requestId: 'h1', result: metrics(), frame: FRAME }, T0 + 6)).toMatchObject({ status: 'duplicate' });
    expect(count(store, 'host_forwards')).toBe(1);
  });

  it("a superseded request's result is stored but not forwarded, and it stays superseded", () => {
    const store = hostStore();
    hostEnqueue(store, 'h1', T0);
    hostEnqueue(store, 'h2', T0 + 1);
    expect(applyOne(store, { type: 'applyResult', requestId: 'h1', result: metrics(), frame: FRAME }, T0 + 2)).toMatchObject({ status: 'applied', previousState: 'superseded', forward: false });
    expect(getResult(store, 'h1')).toBeDefined();
    expect(getRequest(store, 'h1')?.state).toBe('superseded');
    expect(getForward(store, 'h1')).toBeUndefined();
    expect(auditStore(store)).toMatchObject({ superseded: 1, results: 1, resultWithoutDone: 0, lost: 0, appliedTwice: 0 });
  });

  it('forwards move pending -> forwarded, count failed hand-offs, and a dead one leaves a dead letter with the frame; the audit accounts for each', () => {
    const store = hostStore();
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('T') }], T0);
    hostEnqueue(store, 'h1', T0);
    hostEnqueue(store, 'h2', T0, 'T');
    applyOk(store, [{ type: 'applyResult', requestId: 'h1', result: metrics(), frame: FRAME }], T0 + 1);
    applyOk(store, [{ type: 'applyResult', requestId: 'h2', result: metrics(), frame: `${FRAME} ` }], T0 + 2);
    expect(listPendingForwards(store).map((f) => f.requestId)).toEqual(['h1', 'h2']);
    applyOk(store, [{ type: 'forwardFailed', requestId: 'h2', error: 'EAGAIN' }], T0 + 3);
    applyOk(store, [{ type: 'forwardsHandedOff', requestIds: ['h1'] }], T0 + 4);
    expect(getForward(store, 'h1')).toMatchObject({ state: 'forwarded', attempts: 1, forwardedAt: T0 + 4 });
    expect(getForward(store, 'h2')).toMatchObject({ state: 'pending', attempts: 1, lastError: 'EAGAIN' });
    expect(applyOne(store, { type: 'deadForward', requestId: 'h2', error: 'older than maxAgeMs', source: '/shoal/forwarder' }, T0 + 5)).toMatchObject({ status: 'dead_lettered' });
    expect(applyOne(store, { type: 'deadForward', requestId: 'h2', error: 'again', source: '/shoal/forwarder' }, T0 + 6)).toMatchObject({ status: 'not_pending' });
    const letter = listDeadLetters(store, { requestId: 'h2', state: undefined, limit: 10 })[0];
    expect(letter.message).toMatchObject({ kind: 'host_forward', requestId: 'h2', frameText: `${FRAME} ` });
    expect(count(store, 'failure_events', "kind = 'forward_dead'")).toBe(1);
    expect(countForwardsByState(store)).toEqual({ pending: 0, forwarded: 1, dead: 1 });
    const audit = auditStore(store);
    expect(audit).toMatchObject({ forwards: { pending: 0, forwarded: 1, dead: 1 }, doneWithoutForward: 0, deadForwardWithoutLetter: 0, lost: 0, appliedTwice: 0 });
    expect(formatAudit(audit)).toContain('0 superseded; forwards to the host: 1 forwarded, 0 pending, 1 dead');
  });

  it('a done host request without its forward is counted lost', () => {
    const store = hostStore();
    hostEnqueue(store, 'h1', T0);
    applyOk(store, [{ type: 'applyResult', requestId: 'h1', result: metrics() }], T0 + 1);
    expect(auditStore(store)).toMatchObject({ doneWithoutForward: 1, lost: 1 });
  });

  it('a dead forward revived is pending again with no attempts and its age counted from the revival; anything else is not_dead', () => {
    const store = hostStore();
    hostEnqueue(store, 'h1', T0);
    applyOk(store, [{ type: 'applyResult', requestId: 'h1', result: metrics(), frame: FRAME }], T0 + 1);
    expect(applyOne(store, { type: 'reviveForward', requestId: 'h1' }, T0 + 2)).toEqual({ type: 'reviveForward', status: 'not_dead', requestId: 'h1', state: 'pending' });
    applyOk(store, [{ type: 'forwardFailed', requestId: 'h1', error: 'EAGAIN' }, { type: 'deadForward', requestId: 'h1', error: 'gave up', source: 's' }], T0 + 3);
    expect(applyOne(store, { type: 'reviveForward', requestId: 'h1' }, T0 + 10)).toMatchObject({ status: 'revived' });
    expect(getForward(store, 'h1')).toMatchObject({ state: 'pending', attempts: 0, firstAt: T0 + 10, lastError: null });
  });

  it('a reopened hand-off is pending again with no attempts used: it went through, so reopening it again and again never gives it up', () => {
    const store = hostStore();
    hostEnqueue(store, 'h1', T0);
    applyOk(store, [{ type: 'applyResult', requestId: 'h1', result: metrics(), frame: FRAME }], T0 + 1);
    for (let i = 0; i < 3; i++) {
      applyOk(store, [{ type: 'forwardsHandedOff', requestIds: ['h1'] }], T0 + 2 + i);
      expect(applyOne(store, { type: 'forwardsReopened', since: T0, until: T0 + 10 }, T0 + 2 + i)).toEqual({ type: 'forwardsReopened', status: 'reopened', reopened: 1 });
    }
    expect(getForward(store, 'h1')).toMatchObject({ state: 'pending', attempts: 0, forwardedAt: null });
  });
});
