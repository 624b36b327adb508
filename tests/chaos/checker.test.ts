/** The chaos checker catches each kind of broken promise it is there for. */
import { describe, expect, it } from 'vitest';
import { check, countMismatches, type StoredRequest } from './checker.ts';
import type { RequestHistory } from './history.ts';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const OTHER = '00-11111111111111111111111111111111-b7ad6b7169203331-01';

function hist(id: string, over: Partial<RequestHistory> = {}): RequestHistory {
  return { item: { requestId: id, strategy: id, traceparent: TP, poison: false }, acceptedAt: 1, sends: [{ at: 2, traceparent: TP }], answers: [{ at: 3, answer: 'ok' }], ...over };
}
function row(id: string, over: Partial<StoredRequest> = {}): StoredRequest {
  return { requestId: id, state: 'done', sends: 1, traceparent: TP, results: 1, appliedTo: 1, letters: [], lastError: null, ...over };
}
const run = (h: RequestHistory[], r: StoredRequest[], unreplayedLetters: number[] = []) =>
  check({ history: new Map(h.map((x) => [x.item.requestId, x])), store: new Map(r.map((x) => [x.requestId, x])), maxReplays: 2, unreplayedLetters });
const rules = (s: ReturnType<typeof run>) => s.violations.map((v) => `${v.requestId}:${v.rule}`);

describe('chaos checker', () => {
  it('a clean history passes: done with one result, or dead with its letter and reason', () => {
    const s = run([hist('a'), hist('b', { item: { requestId: 'b', strategy: 'b', traceparent: TP, poison: true }, answers: [{ at: 3, answer: 'error' }] })], [row('a'), row('b', { state: 'dead', results: 0, appliedTo: 0, letters: [{ state: 'dead', replayCount: 2, error: 'x' }] })]);
    expect(s.violations).toEqual([]);
    expect([s.done, s.dead, s.lost, s.appliedTwice]).toEqual([1, 1, 0, 0]);
  });

  it('an accepted request missing from the store, still live, or dead without a letter is lost', () => {
    const s = run([hist('a'), hist('b'), hist('c')], [row('b', { state: 'in_flight', results: 0, appliedTo: 0 }), row('c', { state: 'dead', results: 0, appliedTo: 0, lastError: 'e' })]);
    expect(rules(s)).toEqual(['a:lost', 'b:lost', 'c:lost']);
    expect(s.lost).toBe(3);
  });

  it('a result applied to two strategies, or stored for a request that is not done, is applied twice', () => {
    const s = run([hist('a'), hist('b')], [row('a', { appliedTo: 2 }), row('b', { state: 'dead', letters: [{ state: 'dead', replayCount: 0, error: 'e' }] })]);
    expect(rules(s)).toEqual(['a:applied-twice', 'b:applied-twice']);
    expect(s.appliedTwice).toBe(2);
  });

  it('a done request the service never answered, a send the outbox never claimed, a second trace id, an uncapped or missing replay are each flagged', () => {
    const s = run(
      [hist('a', { answers: [{ at: 3, answer: 'hang' }] }), hist('b', { sends: [{ at: 2, traceparent: TP }, { at: 4, traceparent: TP }] }), hist('c', { sends: [{ at: 2, traceparent: OTHER }] }), hist('d')],
      [row('a'), row('b'), row('c'), row('d', { letters: [{ state: 'replayed', replayCount: 3, error: 'e' }] })],
      [7],
    );
    expect(rules(s)).toEqual(['a:phantom-result', 'b:send-not-claimed', 'c:trace-split', 'd:replay-uncapped', 'letter 7:replay-missing']);
  });

  it('a dead letter carrying another trace id than its request is a trace split', () => {
    expect(rules(run([hist('a')], [row('a', { state: 'dead', results: 0, appliedTo: 0, letters: [{ state: 'dead', replayCount: 2, error: 'e', traceparent: OTHER }] })]))).toEqual(['a:trace-split']);
  });

  it('without the service\'s records (the bundled service) the rules that need them are skipped and named; the others still hold, on the outbox\'s sends', () => {
    const history = new Map([hist('a', { sends: [], answers: [] }), hist('b', { sends: [], answers: [] }), hist('c', { sends: [], answers: [] })].map((x) => [x.item.requestId, x]));
    const store = new Map([row('a', { sends: 2 }), row('b', { traceparent: OTHER }), row('c', { state: 'pending', results: 0, appliedTo: 0 })].map((x) => [x.requestId, x]));
    const s = check({ history, store, maxReplays: 2, serviceRecords: false });
    expect(s.violations.map((v) => `${v.requestId}:${v.rule}`)).toEqual(['b:trace-split', 'c:lost']);
    expect(s.sends).toBe(4);
    expect(s.skippedRules.map((r) => r.split(' ')[0])).toEqual(['phantom-result', 'send-not-claimed', 'trace-split']);
    expect(run([hist('a')], [row('a')]).skippedRules).toEqual([]);
  });

  it('a planned request the host was never told is durable is flagged', () => {
    expect(rules(run([hist('a', { acceptedAt: undefined })], []))).toEqual(['a:not-accepted']);
  });

  it("the store's own counts (its audit, the flow metrics `shoal metrics` derives) must equal the history's: each difference is a counter-mismatch", () => {
    const history = new Map([hist('a'), hist('b')].map((x) => [x.item.requestId, x]));
    const store = new Map([row('a'), row('b')].map((x) => [x.requestId, x]));
    const flow = { from: 0, to: 1, enqueued: 2, sent: 2, completed: 1, completedPerMinute: 0, queueDwellMs: null, attemptMs: null, endToEndMs: null };
    const s = check({ history, store, maxReplays: 2, flow });
    expect(s.violations).toEqual([{ requestId: '-', rule: 'counter-mismatch', detail: "the store's flow metrics counts completed 1, the history 2" }]);
    expect(countMismatches('x', { done: 3, dead: 1 }, { done: 3, dead: 1 })).toEqual([]);
  });
});
