import { describe, expect, it } from 'vitest';
import { auditStore, formatAudit } from '../../persistence/audit.ts';
import { applyOne } from '../../persistence/batch.ts';
import { applyOk, metrics, seedRequests, strategy, T0, useTempStores } from './helpers.ts';

const temp = useTempStores();

/** A store with one request done, one dead, one pending, and a duplicate result refused. */
function scripted() {
  const store = temp.open();
  applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('a') }, { type: 'upsertStrategy', strategy: strategy('b') }, { type: 'upsertStrategy', strategy: strategy('c') }], T0);
  const [a, b] = seedRequests(store, ['a', 'b', 'c'], T0);
  applyOk(store, [{ type: 'claimDue', limit: 2, leaseMs: 60_000 }], T0 + 1);
  applyOk(store, [{ type: 'applyResult', requestId: a, result: metrics() }], T0 + 2);
  expect(applyOne(store, { type: 'applyResult', requestId: a, result: metrics() }, T0 + 3)).toMatchObject({ status: 'duplicate' });
  applyOk(store, [{ type: 'deadLetterRequest', requestId: b, error: 'gave up', failureKind: 'timeout', source: 's' }], T0 + 4);
  return { store, a, b };
}

describe('store audit', () => {
  it('counts every request as live, done with its one result, or dead with its letter; duplicates refused are counted, not applied', () => {
    const { store } = scripted();
    expect(auditStore(store)).toEqual({
      requests: 3,
      live: 1,
      done: 1,
      dead: 1,
      superseded: 0,
      results: 1,
      forwards: { pending: 0, forwarded: 0, dead: 0 },
      doneWithoutForward: 0,
      forwardWithoutDone: 0,
      deadForwardWithoutLetter: 0,
      doneWithoutResult: 0,
      deadWithoutLetter: 0,
      resultWithoutDone: 0,
      resultsTwice: 0,
      duplicatesIgnored: 1,
      lost: 0,
      appliedTwice: 0,
    });
    expect(formatAudit(auditStore(store))).toBe('3 requests: 1 done with 1 results, 1 dead each with its dead letter, 1 live; duplicates received and ignored 1; lost 0, applied twice 0');
  });

  it('a done request without its result, or a dead one without its letter, is counted lost', () => {
    const { store, a, b } = scripted();
    store.sqlite.prepare('delete from oos_trades where request_id = ?').run(a);
    store.sqlite.prepare('delete from oos_results where request_id = ?').run(a);
    store.sqlite.prepare('delete from dead_letters where request_id = ?').run(b);
    expect(auditStore(store)).toMatchObject({ doneWithoutResult: 1, deadWithoutLetter: 1, lost: 2 });
  });

  it('a result whose request is not done counts as applied twice', () => {
    const { store, a } = scripted();
    store.sqlite.prepare("update oos_requests set state = 'pending' where request_id = ?").run(a);
    expect(auditStore(store)).toMatchObject({ resultWithoutDone: 1, appliedTwice: 1 });
  });
});
