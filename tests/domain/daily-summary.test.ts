import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClaimDueOutcome, EnqueueOutcome } from '../../persistence/outbox.ts';
import type { WriteCommand } from '../../persistence/commands.ts';
import type { Store } from '../../persistence/connection.ts';
import { readDailyFacts } from '../../persistence/report.ts';
import { assembleDailySummary, DAY_MS, formatDailySummary, formatDuration, parseUtcDay, utcDayOf } from '../../domain/daily-summary.ts';
import { percentile, percentileOfSorted, summarize } from '../../domain/percentiles.ts';
import { applyOk, metrics, strategy, useTempStores } from '../persistence/helpers.ts';

const temp = useTempStores();

describe('percentiles (nearest rank)', () => {
  it('of 1..100 are the values at ranks 50, 95 and 99', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99)]).toEqual([50, 95, 99]);
  });

  it('are always measured values, never interpolated', () => {
    expect(percentile([10, 20], 50)).toBe(10);
    expect(percentile([10, 20], 51)).toBe(20);
    expect(percentile([1, 2, 3, 4], 95)).toBe(4);
  });

  it('p0 is the minimum, p100 the maximum; one value is every percentile; none is NaN', () => {
    expect(percentile([5, 3, 9], 0)).toBe(3);
    expect(percentile([5, 3, 9], 100)).toBe(9);
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(summarize([])).toBeNull();
  });

  it('leave the input unsorted and untouched', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    summarize(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('refuse a percentile outside 0..100', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentileOfSorted([1], -1)).toThrow(RangeError);
  });

  it('summarize gives count, min, p50, p95, p99 and max from one sort', () => {
    expect(summarize([4, 1, 3, 2])).toEqual({ count: 4, min: 1, p50: 2, p95: 4, p99: 4, max: 4 });
  });

  it('property: the p-th percentile is a measured value with at least p% of the values at or below it, and the smallest such', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 0, max: 100 }), (values, p) => {
        const x = percentile(values, p);
        const rank = Math.max(1, Math.ceil((p / 100) * values.length));
        expect(values).toContain(x);
        expect(values.filter((v) => v <= x).length).toBeGreaterThanOrEqual(rank);
        expect(values.filter((v) => v < x).length).toBeLessThan(rank);
      }),
    );
  });
});

describe('UTC days', () => {
  it('parse YYYY-MM-DD and refuse impossible or malformed dates', () => {
    expect(parseUtcDay('2026-02-01')).toEqual({ day: '2026-02-01', from: Date.UTC(2026, 1, 1), to: Date.UTC(2026, 1, 2) });
    for (const bad of ['2026-02-30', '2026-2-1', '2026-13-01', 'yesterday', '2026-02-01T00:00Z', '']) expect(parseUtcDay(bad)).toBeUndefined();
  });

  it('a time belongs to the day that starts at or before it', () => {
    const d = Date.UTC(2026, 1, 1);
    expect(utcDayOf(d).day).toBe('2026-02-01');
    expect(utcDayOf(d + DAY_MS - 1).day).toBe('2026-02-01');
    expect(utcDayOf(d - 1).day).toBe('2026-01-31');
  });

  it('durations read as a person would say them', () => {
    expect([formatDuration(850), formatDuration(12_500), formatDuration(192_000), formatDuration(18_000_000), formatDuration(3 * DAY_MS)]).toEqual(['850 ms', '12.5 s', '3.2 min', '5.0 h', '3.0 d']);
  });
});

// ---- a scripted day ------------------------------------------------------------------------------

const D = Date.UTC(2026, 1, 1);
const H = 3_600_000;
const SENDER = '/shoal/pipeline/sender';

function enqueue(store: Store, name: string, at: number, nextAttemptAt?: number): string {
  const [o] = applyOk(store, [{ type: 'enqueueRequest', strategyName: name, payload: { action: 'BACKTEST', strategy: { name: `${name}-OOS` } }, nextAttemptAt }], at);
  return (o as Extract<EnqueueOutcome, { status: 'enqueued' }>).requestId;
}

function claimOne(store: Store, at: number, expected: string): void {
  const [o] = applyOk(store, [{ type: 'claimDue', limit: 1, leaseMs: 60_000 }], at);
  expect((o as ClaimDueOutcome).requests.map((r) => r.requestId)).toEqual([expected]);
}

function at(store: Store, time: number, ...commands: WriteCommand[]): void {
  applyOk(store, commands, time);
}

/**
 * The day D, hour by hour (requests r0..r5 of strategies S0..S5):
 *   D-3h  r4 enqueued, due in 30 days (still pending at the end)
 *   D-2h  r0 enqueued; D-1h sent
 *   D+1h  r0 result, sharpe 0.5 (passes)                     enqueue->result 3h, send->result 2h
 *   D+2h  r1 enqueued; +1 s sent; +61 s timeout -> retry at D+3h
 *   D+3h  r1 re-sent; +5 s result, sharpe 0.2 (fails)        enqueue->result 1h 5s, send->result 5 s
 *   D+4h  r2 enqueued; +1 s a send that fails (no frame); D+5h sent (its first frame); D+6h timeout -> dead
 *   D+7h  r3 enqueued, due in 30 days
 *   D+8h  r5 enqueued; +1 s sent; its result arrives the next day
 *   D+10h a poison result frame naming r1 is dead-lettered (a dead letter, not a request going dead)
 *   failures just before, at the end of, and just after the day; restarts and a crash.
 */
function scriptDay(store: Store): Record<string, string> {
  at(store, D - DAY_MS, ...['S0', 'S1', 'S2', 'S3', 'S4', 'S5'].map((n): WriteCommand => ({ type: 'upsertStrategy', strategy: strategy(n) })));
  const r4 = enqueue(store, 'S4', D - 3 * H, D + 30 * DAY_MS);
  const r0 = enqueue(store, 'S0', D - 2 * H);
  claimOne(store, D - H, r0);
  at(store, D + H, { type: 'applyResult', requestId: r0, result: metrics({ sharpe: 0.5 }) });

  const r1 = enqueue(store, 'S1', D + 2 * H);
  claimOne(store, D + 2 * H + 1_000, r1);
  at(store, D + 2 * H + 61_000, { type: 'retryRequest', requestId: r1, nextAttemptAt: D + 3 * H, error: 'no result within the lease', failureKind: 'timeout' });
  claimOne(store, D + 3 * H, r1);
  at(store, D + 3 * H + 5_000, { type: 'applyResult', requestId: r1, result: metrics({ sharpe: 0.2 }) });

  const r2 = enqueue(store, 'S2', D + 4 * H);
  claimOne(store, D + 4 * H + 1_000, r2);
  at(store, D + 5 * H, { type: 'retryRequest', requestId: r2, nextAttemptAt: D + 5 * H, error: 'EHOSTUNREACH', failureKind: 'send_failure', source: SENDER });
  claimOne(store, D + 5 * H, r2);
  at(store, D + 6 * H, { type: 'deadLetterRequest', requestId: r2, error: 'no result (5 of 5 attempts used)', failureKind: 'timeout', source: SENDER });

  const r3 = enqueue(store, 'S3', D + 7 * H, D + 30 * DAY_MS);
  const r5 = enqueue(store, 'S5', D + 8 * H);
  claimOne(store, D + 8 * H + 1_000, r5);
  at(store, D + 10 * H, { type: 'insertDeadLetter', source: '/shoal/pipeline/result-handler', message: { frame: '((type . "BACKTEST_RESULT") ...' }, error: 'poison', attempts: 3, requestId: r1 });

  at(store, D - 1, { type: 'recordFailure', kind: 'data_invalid', source: '/shoal/data-gate', detail: 'the day before' });
  at(store, D + DAY_MS - 1, { type: 'recordFailure', kind: 'data_invalid', source: '/shoal/data-gate', detail: 'last ms of the day' });
  at(store, D + DAY_MS, { type: 'recordFailure', kind: 'data_invalid', source: '/shoal/data-gate', detail: 'the next day' });
  at(store, D - 1, { type: 'recordSupervisorEvent', kind: 'restart', path: SENDER });
  at(store, D + H, { type: 'recordSupervisorEvent', kind: 'restart', path: SENDER });
  at(store, D + 2 * H, { type: 'recordSupervisorEvent', kind: 'restart', path: SENDER });
  at(store, D + 3 * H, { type: 'recordSupervisorEvent', kind: 'restart', path: '/shoal/pipeline/result-handler' }, { type: 'recordSupervisorEvent', kind: 'crash', path: '/shoal/pipeline/result-handler' });

  at(store, D + DAY_MS + H, { type: 'applyResult', requestId: r5, result: metrics({ sharpe: 0.9 }) });
  return { r0, r1, r2, r3, r4, r5 };
}

describe('daily summary of a scripted day', () => {
  it('equals the figures computed by hand', () => {
    const store = temp.open();
    const { r4 } = scriptDay(store);
    const now = D + DAY_MS + 2 * H;
    const summary = assembleDailySummary(readDailyFacts(store, D, D + DAY_MS), now);
    expect(summary.day).toBe('2026-02-01');
    // retried: r1's second frame; r2's only frame followed a failed send, which sent nothing.
    expect(summary.oos).toEqual({ requested: 4, completed: 2, passed: 1, failed: 1, retried: 1, deadLettered: 1 });
    expect(summary.failures.byKind).toEqual({ data_invalid: 1, dead_letter: 2, send_failure: 1, timeout: 2 });
    expect(summary.failures.total).toBe(6);
    expect(summary.failures.byKindAndSource).toContainEqual({ kind: 'timeout', source: 'outbox', count: 1 });
    expect(summary.failures.byKindAndSource).toContainEqual({ kind: 'timeout', source: SENDER, count: 1 });
    expect(summary.latencyMs.enqueueToComplete).toEqual({ count: 2, min: H + 5_000, p50: H + 5_000, p95: 3 * H, p99: 3 * H, max: 3 * H });
    expect(summary.latencyMs.sendToComplete).toEqual({ count: 2, min: 5_000, p50: 5_000, p95: 2 * H, p99: 2 * H, max: 2 * H });
    expect(summary.restarts).toEqual({ total: 3, byPath: { [SENDER]: 2, '/shoal/pipeline/result-handler': 1 } });
    expect(summary.oldestPending).toEqual({ requestId: r4, strategyName: 'S4', state: 'pending', attempts: 0, enqueuedAt: D - 3 * H, ageMs: now - (D - 3 * H) });
    expect(summary.oosGate).toBe('oosSharpe >= 0.35');
  });

  it('the next day sees only its own rows', () => {
    const store = temp.open();
    scriptDay(store);
    const next = assembleDailySummary(readDailyFacts(store, D + DAY_MS, D + 2 * DAY_MS), D + 2 * DAY_MS);
    expect(next.oos).toEqual({ requested: 0, completed: 1, passed: 1, failed: 0, retried: 0, deadLettered: 0 });
    expect(next.failures.byKind).toEqual({ data_invalid: 1 });
    expect(next.restarts.total).toBe(0);
    expect(next.latencyMs.enqueueToComplete?.p50).toBe(DAY_MS + H - 8 * H);
  });

  it('an empty day is all zeros, with no latency and no pending request', () => {
    const store = temp.open();
    const s = assembleDailySummary(readDailyFacts(store, D, D + DAY_MS), D + DAY_MS);
    expect(s.oos).toEqual({ requested: 0, completed: 0, passed: 0, failed: 0, retried: 0, deadLettered: 0 });
    expect(s.latencyMs).toEqual({ enqueueToComplete: null, sendToComplete: null });
    expect(s.oldestPending).toBeNull();
    expect(formatDailySummary(s)).toContain('no completed request');
  });

  it('the text shows every figure, the failures with their sources, and the oldest pending request', () => {
    const store = temp.open();
    const { r4 } = scriptDay(store);
    const text = formatDailySummary(assembleDailySummary(readDailyFacts(store, D, D + DAY_MS), D + DAY_MS + 2 * H));
    expect(text).toContain('shoal daily summary for 2026-02-01 (UTC)');
    expect(text).toMatch(/requested +4\n/);
    expect(text).toMatch(/completed +2 \(passed 1, failed 1; gate oosSharpe >= 0.35\)/);
    expect(text).toMatch(/retried \(re-sends\) +1\n/);
    expect(text).toMatch(/dead-lettered +1\n/);
    expect(text).toMatch(/enqueue -> result +p50 60.1 min {2}p95 3.0 h {2}p99 3.0 h {2}\(n=2/);
    expect(text).toMatch(/timeout +2 {2}\(\/shoal\/pipeline\/sender 1, outbox 1\)/);
    expect(text).toMatch(/\/shoal\/pipeline\/sender +2\n/);
    expect(text).toContain(`${r4} (S4, pending, 0 attempts)`);
    expect(text).toContain('2026-01-31T21:00:00Z, 29.0 h ago');
  });

  it('re-sends count frames sent again, not failed sends: a send that failed sent no frame', () => {
    const store = temp.open();
    at(store, D - DAY_MS, ...['F1', 'F2', 'F3', 'F4', 'F5'].map((n): WriteCommand => ({ type: 'upsertStrategy', strategy: strategy(n) })));
    const sendFails = (id: string, time: number) => at(store, time, { type: 'retryRequest', requestId: id, nextAttemptAt: time, error: 'no peer', failureKind: 'send_failure', source: SENDER });
    const timesOut = (id: string, time: number) => at(store, time, { type: 'retryRequest', requestId: id, nextAttemptAt: time, error: 'no result within the lease', failureKind: 'timeout', source: SENDER });
    // f1: three failed sends, its first frame, a timeout, its second frame (still open): 1 re-send.
    const f1 = enqueue(store, 'F1', D + H);
    for (let i = 0; i < 3; i++) {
      claimOne(store, D + H + i * 10_000, f1);
      sendFails(f1, D + H + i * 10_000 + 1);
    }
    claimOne(store, D + 2 * H, f1);
    timesOut(f1, D + 3 * H);
    claimOne(store, D + 4 * H, f1);
    // f2: a frame, a timeout, a failed send, a frame that a result completes: 1 re-send.
    const f2 = enqueue(store, 'F2', D + H);
    claimOne(store, D + H + 1, f2);
    timesOut(f2, D + 2 * H);
    claimOne(store, D + 2 * H + 1, f2);
    sendFails(f2, D + 2 * H + 2);
    claimOne(store, D + 3 * H, f2);
    at(store, D + 3 * H + 1, { type: 'applyResult', requestId: f2, result: metrics() });
    // f3: every send failed, then dead: no frame at all, no re-send.
    const f3 = enqueue(store, 'F3', D + H);
    claimOne(store, D + H + 2, f3);
    sendFails(f3, D + H + 3);
    claimOne(store, D + H + 4, f3);
    at(store, D + H + 5, { type: 'deadLetterRequest', requestId: f3, error: 'no peer (2 of 2 attempts used)', failureKind: 'send_failure', source: SENDER });
    // f4: three frames, two timeouts: 2 re-sends.
    const f4 = enqueue(store, 'F4', D + H);
    claimOne(store, D + H + 6, f4);
    timesOut(f4, D + 2 * H + 6);
    claimOne(store, D + 2 * H + 7, f4);
    timesOut(f4, D + 3 * H + 7);
    claimOne(store, D + 3 * H + 8, f4);
    // f5: a frame, dead, replayed from its dead letter, sent again: 1 re-send.
    const f5 = enqueue(store, 'F5', D + H);
    claimOne(store, D + H + 9, f5);
    at(store, D + 2 * H + 9, { type: 'deadLetterRequest', requestId: f5, error: 'no result', failureKind: 'timeout', source: SENDER });
    at(store, D + 3 * H + 9, { type: 'requeueRequest', requestId: f5 });
    claimOne(store, D + 3 * H + 10, f5);

    expect(readDailyFacts(store, D, D + DAY_MS).resends).toBe(5);
    // The frames' send times decide the day: f1's second frame was sent at D+4h.
    expect(readDailyFacts(store, D + 4 * H, D + DAY_MS).resends).toBe(1);
    expect(readDailyFacts(store, D, D + 2 * H).resends).toBe(0);
  });

  it('refuses a period that ends before it starts', () => {
    const store = temp.open();
    expect(() => readDailyFacts(store, D, D - 1)).toThrow(/before/);
  });
});
