import { describe, expect, it } from 'vitest';
import { applyOne } from '../../persistence/batch.ts';
import { getDeadLetter, listDeadLetters, listStalledReplays } from '../../persistence/dead-letters.ts';
import { failureEventsSince } from '../../persistence/events.ts';
import { countByState, countInFlight, getRequest, listExpiredLeases, listRequests } from '../../persistence/outbox.ts';
import { uuidv7Time } from '../../persistence/uuidv7.ts';
import { applyOk, count, metrics, seedRequests, strategy, T0, useTempStores } from './helpers.ts';

const temp = useTempStores();

function claim(store: ReturnType<typeof temp.open>, now: number, limit = 10, leaseMs = 30_000) {
  const o = applyOne(store, { type: 'claimDue', limit, leaseMs }, now);
  if (o.status !== 'claimed') throw new Error(JSON.stringify(o));
  return o.requests;
}

describe('outbox: enqueue', () => {
  it('an enqueued request is pending, due now, with a time-ordered id and an empty history', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['s1'], T0);
    expect(uuidv7Time(id)).toBe(T0);
    const r = getRequest(store, id)!;
    expect(r).toMatchObject({ state: 'pending', attempts: 0, nextAttemptAt: T0, enqueuedAt: T0, leaseUntil: null, history: [] });
    expect(r.payload).toEqual({ action: 'BACKTEST', strategy: { name: 's1-OOS' } });
  });

  it('at most one live request per strategy: a second enqueue returns the live one', () => {
    const store = temp.open();
    const [first] = seedRequests(store, ['s1'], T0);
    const second = applyOne(store, { type: 'enqueueRequest', strategyName: 's1', payload: {} }, T0 + 1);
    expect(second).toEqual({ type: 'enqueueRequest', status: 'duplicate_live', existingRequestId: first });
    claim(store, T0 + 2);
    const third = applyOne(store, { type: 'enqueueRequest', strategyName: 's1', payload: {} }, T0 + 3);
    expect(third).toMatchObject({ status: 'duplicate_live', existingRequestId: first });
    expect(count(store, 'oos_requests')).toBe(1);
  });

  it('the database itself refuses a second live request for a strategy (partial unique index)', () => {
    const store = temp.open();
    seedRequests(store, ['s1'], T0);
    const insert = () =>
      store.sqlite
        .prepare("insert into oos_requests (request_id, strategy_name, payload, state, next_attempt_at, enqueued_at) values ('x', 's1', '{}', 'in_flight', 0, 0)")
        .run();
    expect(insert).toThrow(/UNIQUE constraint failed/);
  });

  it('a strategy may be enqueued again once its request is done or dead', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['s1'], T0);
    claim(store, T0);
    applyOk(store, [{ type: 'deadLetterRequest', requestId: id, error: 'gave up', failureKind: 'timeout', source: 'oos/sender' }], T0 + 1);
    const again = applyOne(store, { type: 'enqueueRequest', strategyName: 's1', payload: {} }, T0 + 2);
    expect(again.status).toBe('enqueued');
  });

  it('enqueue with a caller-chosen request id is idempotent', () => {
    const store = temp.open();
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('s1') }], T0);
    const cmd = { type: 'enqueueRequest', strategyName: 's1', payload: { a: 1 }, requestId: 'req-1' } as const;
    expect(applyOne(store, cmd, T0)).toEqual({ type: 'enqueueRequest', status: 'enqueued', requestId: 'req-1' });
    expect(applyOne(store, cmd, T0 + 5)).toEqual({ type: 'enqueueRequest', status: 'exists', requestId: 'req-1', state: 'pending' });
    expect(count(store, 'oos_requests')).toBe(1);
    expect(getRequest(store, 'req-1')?.enqueuedAt).toBe(T0);
  });

  it('enqueue for an unknown strategy fails that command only, naming the strategy', () => {
    const store = temp.open();
    const o = applyOne(store, { type: 'enqueueRequest', strategyName: 'ghost', payload: {} }, T0);
    expect(o.status).toBe('error');
    expect(o.status === 'error' && o.error).toMatch(/enqueueRequest \(oos_requests\) strategy=ghost failed: FOREIGN KEY/);
  });
});

describe('outbox: claim, leases, retry', () => {
  it('claimDue takes only due pending requests, oldest first, up to the limit, and marks them in flight', () => {
    const store = temp.open();
    const ids = seedRequests(store, ['a', 'b', 'c'], T0);
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('later') }, { type: 'enqueueRequest', strategyName: 'later', payload: {}, nextAttemptAt: T0 + 60_000 }], T0);
    const claimed = claim(store, T0 + 10, 2, 5_000);
    expect(claimed.map((r) => r.requestId)).toEqual(ids.slice(0, 2));
    for (const r of claimed) {
      expect(r).toMatchObject({ state: 'in_flight', attempts: 1, leaseUntil: T0 + 5_010, firstSentAt: T0 + 10, lastSentAt: T0 + 10 });
      expect(r.history).toEqual([{ attempt: 1, sentAt: T0 + 10 }]);
    }
    expect(claim(store, T0 + 20).map((r) => r.requestId)).toEqual([ids[2]]);
    expect(claim(store, T0 + 30)).toEqual([]);
    expect(claim(store, T0 + 60_000).length).toBe(1);
  });

  it('claimDue says when the next pending request it left comes due: due already when the limit stopped it, later when it waits, null when none is left', () => {
    const store = temp.open();
    seedRequests(store, ['a', 'b'], T0);
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('later') }, { type: 'enqueueRequest', strategyName: 'later', payload: {}, nextAttemptAt: T0 + 60_000 }], T0);
    const next = (now: number, limit: number) => {
      const o = applyOne(store, { type: 'claimDue', limit, leaseMs: 5_000 }, now);
      if (o.status !== 'claimed') throw new Error(JSON.stringify(o));
      return { claimed: o.requests.length, nextDueAt: o.nextDueAt };
    };
    expect(next(T0 + 10, 1)).toEqual({ claimed: 1, nextDueAt: T0 }); // 'b' is due and was left by the limit
    expect(next(T0 + 20, 5)).toEqual({ claimed: 1, nextDueAt: T0 + 60_000 }); // only 'later' waits
    expect(next(T0 + 30, 5)).toEqual({ claimed: 0, nextDueAt: T0 + 60_000 });
    expect(next(T0 + 60_000, 5)).toEqual({ claimed: 1, nextDueAt: null });
  });

  it('claimDue hands out each request exactly as it is now stored, also after earlier attempts and a requeue', () => {
    const store = temp.open();
    const [a, b] = seedRequests(store, ['a', 'b'], T0);
    claim(store, T0, 2, 1_000);
    applyOk(store, [{ type: 'retryRequest', requestId: a, nextAttemptAt: T0 + 100, error: 'timeout', failureKind: 'timeout' }], T0 + 50);
    applyOk(store, [{ type: 'deadLetterRequest', requestId: b, error: 'gave up', failureKind: 'timeout', source: 'test' }], T0 + 60);
    applyOk(store, [{ type: 'requeueRequest', requestId: b }], T0 + 70);
    const claimed = claim(store, T0 + 200, 10, 1_000);
    expect(claimed.map((r) => r.requestId)).toEqual([b, a]);
    for (const r of claimed) expect(r).toEqual(getRequest(store, r.requestId));
    expect(claimed[1]).toMatchObject({ attempts: 2, firstSentAt: T0, lastSentAt: T0 + 200 });
    expect(claimed[0]).toMatchObject({ attempts: 1, firstSentAt: T0, lastSentAt: T0 + 200 });
  });

  it('expiredLeases lists in-flight requests whose lease ran out and changes nothing', () => {
    const store = temp.open();
    const [a, b] = seedRequests(store, ['a', 'b'], T0);
    claim(store, T0, 1, 1_000);
    claim(store, T0 + 500, 1, 1_000);
    const o = applyOne(store, { type: 'expiredLeases', limit: 10 }, T0 + 1_000);
    expect(o.status === 'listed' && o.requests.map((r) => r.requestId)).toEqual([a]);
    expect(listExpiredLeases(store, T0 + 1_500).map((r) => r.requestId)).toEqual([a, b]);
    expect(getRequest(store, a)?.state).toBe('in_flight');
  });

  it('rebaseDeadlines, run at start, pulls a lease or a retry due time stored further ahead than leaseMs or the backoff cap back to that bound, and keeps the rest', () => {
    const store = temp.open();
    const HOUR = 3_600_000;
    // Stored by a process whose wall clock was an hour ahead of this one's.
    const [far, near, retry, scheduled, fresh] = seedRequests(store, ['far', 'near', 'retry', 'scheduled', 'fresh'], T0);
    claim(store, T0 + HOUR, 1, 2_000);
    claim(store, T0, 1, 2_000);
    claim(store, T0, 1, 2_000);
    applyOk(store, [{ type: 'retryRequest', requestId: retry, nextAttemptAt: T0 + HOUR, error: 'e', failureKind: 'timeout' }], T0);
    store.sqlite.prepare('update oos_requests set next_attempt_at = ? where request_id = ?').run(T0 + HOUR, scheduled);
    const o = applyOne(store, { type: 'rebaseDeadlines', leaseMs: 2_000, maxBackoffMs: 500 }, T0 + 100);
    expect(o).toEqual({ type: 'rebaseDeadlines', status: 'rebased', leases: 1, retries: 1 });
    expect(getRequest(store, far)?.leaseUntil).toBe(T0 + 2_100);
    expect(getRequest(store, near)?.leaseUntil).toBe(T0 + 2_000);
    expect(getRequest(store, retry)?.nextAttemptAt).toBe(T0 + 600);
    // Scheduled at enqueue, not a retry: its time is the caller's, not a backoff.
    expect(getRequest(store, scheduled)?.nextAttemptAt).toBe(T0 + HOUR);
    expect(getRequest(store, fresh)?.nextAttemptAt).toBe(T0);
  });

  it('retryRequest puts a live request back to pending, records the failure and closes the attempt in the history', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a'], T0);
    claim(store, T0 + 1);
    const o = applyOne(store, { type: 'retryRequest', requestId: id, nextAttemptAt: T0 + 2_000, error: 'no result in 30 s', failureKind: 'timeout', source: 'oos/timeouts' }, T0 + 30_001);
    expect(o).toEqual({ type: 'retryRequest', status: 'retried', requestId: id, attempts: 1, nextAttemptAt: T0 + 2_000 });
    const r = getRequest(store, id)!;
    expect(r).toMatchObject({ state: 'pending', nextAttemptAt: T0 + 2_000, leaseUntil: null, lastError: 'no result in 30 s' });
    expect(r.history).toEqual([{ attempt: 1, sentAt: T0 + 1, outcome: 'timeout', at: T0 + 30_001, error: 'no result in 30 s' }]);
    expect(failureEventsSince(store, 0)).toMatchObject([{ kind: 'timeout', source: 'oos/timeouts', requestId: id, detail: 'no result in 30 s' }]);

    const second = claim(store, T0 + 30_002);
    expect(second[0]).toMatchObject({ attempts: 2, firstSentAt: T0 + 1, lastSentAt: T0 + 30_002 });
    expect(second[0].history.map((h) => h.attempt)).toEqual([1, 2]);
  });

  it('retryRequest of a finished or unknown request writes nothing', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a'], T0);
    applyOk(store, [{ type: 'deadLetterRequest', requestId: id, error: 'x', failureKind: 'send_failure', source: 'oos/sender' }], T0);
    const events = failureEventsSince(store, 0).length;
    expect(applyOne(store, { type: 'retryRequest', requestId: id, nextAttemptAt: T0, error: 'y', failureKind: 'timeout' }, T0 + 1)).toMatchObject({
      status: 'not_live',
      state: 'dead',
    });
    expect(applyOne(store, { type: 'retryRequest', requestId: 'nope', nextAttemptAt: T0, error: 'y', failureKind: 'timeout' }, T0 + 1)).toMatchObject({
      status: 'not_live',
      state: null,
    });
    expect(failureEventsSince(store, 0).length).toBe(events);
  });
});

describe('outbox: undoing a claim', () => {
  it('releaseClaim puts an unsent claimed request back exactly as it was before the claim', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a'], T0);
    claim(store, T0 + 1);
    applyOk(store, [{ type: 'retryRequest', requestId: id, nextAttemptAt: T0 + 10, error: 'e', failureKind: 'send_failure' }], T0 + 2);
    const before = getRequest(store, id)!;
    claim(store, T0 + 10);
    expect(applyOne(store, { type: 'releaseClaim', requestId: id }, T0 + 11)).toEqual({ type: 'releaseClaim', status: 'released', requestId: id });
    expect(getRequest(store, id)).toEqual(before);

    const [fresh] = seedRequests(store, ['b'], T0 + 20);
    claim(store, T0 + 20);
    applyOk(store, [{ type: 'releaseClaim', requestId: fresh }], T0 + 21);
    expect(getRequest(store, fresh)).toMatchObject({ state: 'pending', attempts: 0, firstSentAt: null, lastSentAt: null, history: [] });
  });

  it('releaseClaim of a request that is not in flight changes nothing', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a'], T0);
    expect(applyOne(store, { type: 'releaseClaim', requestId: id }, T0)).toEqual({ type: 'releaseClaim', status: 'not_in_flight', requestId: id, state: 'pending' });
    expect(getRequest(store, id)?.attempts).toBe(0);
  });
});

describe('outbox: requeueing a dead request', () => {
  it('requeueRequest revives a dead request with a fresh attempt budget; its letter stays replaying until the request ends', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a'], T0);
    claim(store, T0);
    const dead = applyOne(store, { type: 'deadLetterRequest', requestId: id, error: 'gave up', failureKind: 'timeout', source: 'oos/sender' }, T0 + 1);
    const letterId = dead.status === 'dead_lettered' ? dead.deadLetterId : -1;
    applyOk(store, [{ type: 'claimDeadLettersForReplay', ids: [letterId], limit: 1, maxReplays: 3 }], T0 + 2);

    expect(applyOne(store, { type: 'requeueRequest', requestId: id }, T0 + 3)).toEqual({ type: 'requeueRequest', status: 'requeued', requestId: id });
    expect(getRequest(store, id)).toMatchObject({ state: 'pending', attempts: 0, nextAttemptAt: T0 + 3, leaseUntil: null });
    expect(getDeadLetter(store, letterId)).toMatchObject({ state: 'replaying', resolvedAt: null, replayCount: 0 });
    const again = claim(store, T0 + 4);
    expect(again[0]).toMatchObject({ requestId: id, attempts: 1 });
    expect(again[0].history.map((h) => h.attempt)).toEqual([1, 2]);
  });

  it('requeueRequest refuses a request that is not dead, or whose strategy has another live request', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a'], T0);
    expect(applyOne(store, { type: 'requeueRequest', requestId: id }, T0)).toMatchObject({ status: 'not_dead', state: 'pending' });
    applyOk(store, [{ type: 'deadLetterRequest', requestId: id, error: 'x', failureKind: 'timeout', source: 's' }], T0);
    const live = applyOne(store, { type: 'enqueueRequest', strategyName: 'a', payload: {} }, T0 + 1);
    const liveId = live.status === 'enqueued' ? live.requestId : '';
    expect(applyOne(store, { type: 'requeueRequest', requestId: id }, T0 + 2)).toEqual({
      type: 'requeueRequest',
      status: 'duplicate_live',
      requestId: id,
      existingRequestId: liveId,
    });
    expect(getRequest(store, id)?.state).toBe('dead');
    expect(applyOne(store, { type: 'requeueRequest', requestId: 'nope' }, T0)).toMatchObject({ status: 'not_dead', state: null });
  });
});

describe('outbox: dead-lettering', () => {
  it('deadLetterRequest marks the request dead and stores a dead letter with its payload and history, atomically with the failure events', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a'], T0);
    claim(store, T0 + 1);
    applyOk(store, [{ type: 'retryRequest', requestId: id, nextAttemptAt: T0 + 100, error: 'send failed', failureKind: 'send_failure' }], T0 + 2);
    claim(store, T0 + 100);
    const o = applyOne(store, { type: 'deadLetterRequest', requestId: id, error: 'no result after 2 attempts', failureKind: 'timeout', source: 'oos/sender' }, T0 + 200);
    expect(o.status).toBe('dead_lettered');
    const letterId = o.status === 'dead_lettered' ? o.deadLetterId : -1;

    expect(getRequest(store, id)).toMatchObject({ state: 'dead', leaseUntil: null, lastError: 'no result after 2 attempts' });
    const letter = getDeadLetter(store, letterId)!;
    expect(letter).toMatchObject({ source: 'oos/sender', state: 'dead', attempts: 2, requestId: id, replayCount: 0, firstFailedAt: T0 + 2, lastFailedAt: T0 + 200 });
    expect(letter.message).toMatchObject({
      kind: 'oos_request',
      requestId: id,
      strategyName: 'a',
      payload: { action: 'BACKTEST', strategy: { name: 'a-OOS' } },
      history: [
        { attempt: 1, sentAt: T0 + 1, outcome: 'send_failure', at: T0 + 2, error: 'send failed' },
        { attempt: 2, sentAt: T0 + 100, outcome: 'timeout', at: T0 + 200, error: 'no result after 2 attempts' },
      ],
    });
    expect(failureEventsSince(store, T0 + 200).map((e) => e.kind)).toEqual(['timeout', 'dead_letter']);
  });

  it('deadLetterRequest of a request that is not live writes nothing', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a'], T0);
    applyOk(store, [{ type: 'deadLetterRequest', requestId: id, error: 'x', failureKind: 'timeout', source: 's' }], T0);
    expect(applyOne(store, { type: 'deadLetterRequest', requestId: id, error: 'x', failureKind: 'timeout', source: 's' }, T0 + 1)).toMatchObject({
      status: 'not_live',
      state: 'dead',
    });
    expect(count(store, 'dead_letters')).toBe(1);
  });
});

describe('outbox: reads', () => {
  it('countByState and listRequests report every state', () => {
    const store = temp.open();
    const ids = seedRequests(store, ['a', 'b', 'c'], T0);
    claim(store, T0, 1);
    expect(countByState(store)).toEqual({ pending: 2, in_flight: 1, done: 0, dead: 0, superseded: 0 });
    expect(listRequests(store).map((r) => r.requestId)).toEqual(ids);
    expect(listRequests(store, 'pending').map((r) => r.requestId)).toEqual(ids.slice(1));
    expect(listRequests(store, undefined, 1).length).toBe(1);
  });
});

describe('countInFlight', () => {
  const stores = useTempStores();
  it('counts only in-flight requests, through the lease index', () => {
    const store = stores.open();
    seedRequests(store, ['a', 'b', 'c'], T0);
    applyOk(store, [{ type: 'claimDue', limit: 2, leaseMs: 1_000 }], T0);
    expect(countInFlight(store)).toBe(2);
    const plan = store.sqlite.prepare("explain query plan select count(*) as n from oos_requests where state = 'in_flight'").all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join()).toMatch(/oos_requests_lease/);
  });

  it('counts by state over indexes alone, and the claim and lease scans keep their ordered partial indexes (no sort of every pending row)', () => {
    const store = stores.open();
    const plan = (q: string) => (store.sqlite.prepare(`explain query plan ${q}`).all() as { detail: string }[]).map((p) => p.detail).join();
    expect(plan("select state, count(*) as n from oos_requests where state not in ('pending', 'in_flight') group by state")).toMatch(/COVERING INDEX oos_requests_finished/);
    expect(plan("select count(*) as n from oos_requests where state = 'pending'")).toMatch(/COVERING INDEX oos_requests_due/);
    expect(plan("select * from oos_requests where state = 'pending' and next_attempt_at <= 5 order by next_attempt_at, request_id limit 10")).toBe('SEARCH oos_requests USING INDEX oos_requests_due (next_attempt_at<?)');
    expect(plan("select * from oos_requests where state = 'in_flight' and lease_until <= 5 order by lease_until, request_id limit 10")).toBe('SEARCH oos_requests USING INDEX oos_requests_lease (lease_until<?)');
    seedRequests(store, ['a', 'b', 'c'], T0);
    applyOk(store, [{ type: 'claimDue', limit: 2, leaseMs: 1_000 }], T0);
    expect(countByState(store)).toMatchObject({ pending: 1, in_flight: 2, done: 0 });
  });
});

describe('outbox: one dead letter per request, replays counted across deaths', () => {
  type TestStore = ReturnType<typeof temp.open>;
  const die = (store: TestStore, id: string, now: number) => {
    const o = applyOne(store, { type: 'deadLetterRequest', requestId: id, error: `gave up at ${now}`, failureKind: 'timeout', source: '/shoal/pipeline/sender' }, now);
    if (o.status !== 'dead_lettered') throw new Error(JSON.stringify(o));
    return o;
  };
  const replay = (store: TestStore, letterId: number, now: number, maxReplays = 3) => {
    const o = applyOne(store, { type: 'claimDeadLettersForReplay', ids: [letterId], limit: 10, maxReplays }, now);
    const claimed = o.status === 'claimed' && o.type === 'claimDeadLettersForReplay' ? o.letters.length : 0;
    if (claimed === 1) applyOk(store, [{ type: 'requeueRequest', requestId: getDeadLetter(store, letterId)!.requestId! }], now);
    return claimed;
  };

  it('a replayed request that dies again returns its own letter with replay_count + 1 instead of a new letter', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a'], T0);
    claim(store, T0);
    const first = die(store, id, T0 + 1);
    expect(first.replayFailed).toBe(false);
    expect(replay(store, first.deadLetterId, T0 + 2)).toBe(1);
    claim(store, T0 + 3);
    const second = die(store, id, T0 + 4);
    expect(second).toMatchObject({ deadLetterId: first.deadLetterId, replayFailed: true });
    expect(listDeadLetters(store, { requestId: id, state: undefined })).toHaveLength(1);
    expect(getDeadLetter(store, first.deadLetterId)).toMatchObject({ state: 'dead', replayCount: 1, error: `gave up at ${T0 + 4}` });
    expect(failureEventsSince(store, T0).filter((e) => e.kind === 'replay_failed' && e.requestId === id)).toHaveLength(1);
  });

  it('maxReplays holds per request: after 3 failed replays the letter can no longer be claimed', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a'], T0);
    claim(store, T0);
    const { deadLetterId } = die(store, id, T0 + 1);
    let now = T0 + 2;
    for (let i = 0; i < 3; i++) {
      expect(replay(store, deadLetterId, now++)).toBe(1);
      claim(store, now++);
      die(store, id, now++);
    }
    expect(getDeadLetter(store, deadLetterId)).toMatchObject({ state: 'dead', replayCount: 3 });
    expect(replay(store, deadLetterId, now++)).toBe(0);
    expect(getRequest(store, id)?.state).toBe('dead');
  });

  it('a letter is replayed only when its request succeeds: the result that completes the request settles it', () => {
    const store = temp.open();
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('a') }], T0);
    const [id] = seedRequests(store, ['a'], T0);
    claim(store, T0);
    const { deadLetterId } = die(store, id, T0 + 1);
    replay(store, deadLetterId, T0 + 2);
    claim(store, T0 + 3);
    expect(getDeadLetter(store, deadLetterId)?.state).toBe('replaying');
    applyOk(store, [{ type: 'applyResult', requestId: id, result: metrics() }], T0 + 4);
    expect(getDeadLetter(store, deadLetterId)).toMatchObject({ state: 'replayed', resolvedAt: T0 + 4, replayCount: 0 });
  });

  it('a late result that completes a dead request settles its letter too', () => {
    const store = temp.open();
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('a') }], T0);
    const [id] = seedRequests(store, ['a'], T0);
    claim(store, T0);
    const { deadLetterId } = die(store, id, T0 + 1);
    applyOk(store, [{ type: 'applyResult', requestId: id, result: metrics() }], T0 + 2);
    expect(getDeadLetter(store, deadLetterId)).toMatchObject({ state: 'replayed', resolvedAt: T0 + 2 });
  });

  it('a request letter whose replay is under way is neither claimable nor stalled; one whose requeue never happened is stalled', () => {
    const store = temp.open();
    const [a, b] = seedRequests(store, ['a', 'b'], T0);
    claim(store, T0);
    const la = die(store, a, T0 + 1).deadLetterId;
    const lb = die(store, b, T0 + 1).deadLetterId;
    replay(store, la, T0 + 2);
    // b is claimed but its requeue is lost (the process died between the two).
    applyOk(store, [{ type: 'claimDeadLettersForReplay', ids: [lb], limit: 10, maxReplays: 3 }], T0 + 2);
    expect(listStalledReplays(store).map((l) => l.id)).toEqual([lb]);
    const o = applyOne(store, { type: 'claimDeadLettersForReplay', limit: 10, maxReplays: 3 }, T0 + 3);
    expect(o.status === 'claimed' && o.type === 'claimDeadLettersForReplay' ? o.letters.map((l) => l.id) : []).toEqual([lb]);
  });

  it('deadLetterReleased puts a replaying letter back to dead without counting a replay', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a'], T0);
    claim(store, T0);
    const { deadLetterId } = die(store, id, T0 + 1);
    applyOk(store, [{ type: 'claimDeadLettersForReplay', ids: [deadLetterId], limit: 1, maxReplays: 3 }], T0 + 2);
    expect(applyOne(store, { type: 'deadLetterReleased', id: deadLetterId, reason: 'postponed' }, T0 + 3)).toEqual({ type: 'deadLetterReleased', status: 'released', id: deadLetterId });
    expect(getDeadLetter(store, deadLetterId)).toMatchObject({ state: 'dead', replayCount: 0, note: 'postponed' });
    expect(applyOne(store, { type: 'deadLetterReleased', id: deadLetterId, reason: 'x' }, T0 + 4)).toMatchObject({ status: 'wrong_state', state: 'dead' });
  });
});
