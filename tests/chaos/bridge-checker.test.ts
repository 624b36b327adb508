/** The bridge checker catches each way bridge mode could break its promise, and counts (without flagging) what the host's protocol allows. */
import { describe, expect, it } from 'vitest';
import { checkBridge, type BridgeStore, type HostAsk } from './bridge-checker.ts';
import type { StoredRequest } from './checker.ts';
import type { StoreAudit } from '../../persistence/audit.ts';
import type { RequestHistory } from './history.ts';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const OTHER = '00-11111111111111111111111111111111-b7ad6b7169203331-01';

const ask = (id: string, over: Partial<HostAsk> = {}): HostAsk => ({ requestId: id, strategy: `S-${id.split('.')[0]}`, traceparent: TP, askedAt: 10, got: [20], ...over });
const svc = (id: string, over: Partial<RequestHistory> = {}): RequestHistory => ({
  item: { requestId: id, strategy: `S-${id}`, traceparent: TP, poison: false },
  sends: [{ at: 12, traceparent: TP }],
  answers: [{ at: 13, answer: 'ok' }],
  ...over,
});
const row = (id: string, over: Partial<StoredRequest> = {}): StoredRequest => ({ requestId: id, state: 'done', sends: 1, traceparent: TP, results: 1, appliedTo: 0, letters: [], lastError: null, ...over });

interface Case {
  audit?: StoreAudit;
  asks: HostAsk[];
  service?: RequestHistory[];
  rows?: StoredRequest[];
  forwards?: Record<string, string>;
  supersededBy?: Record<string, string>;
  refused?: Record<string, string[]>;
  stops?: number[];
}
function run(c: Case) {
  const store: BridgeStore = {
    requests: new Map((c.rows ?? []).map((r) => [r.requestId, r])),
    forwards: new Map(Object.entries(c.forwards ?? {}).map(([id, state]) => [id, { state }])),
    supersededBy: new Map(Object.entries(c.supersededBy ?? {})),
    refused: new Map(Object.entries(c.refused ?? {})),
  };
  return checkBridge(
    { asks: new Map(c.asks.map((a) => [a.requestId, a])), service: new Map((c.service ?? []).map((h) => [h.item.requestId, h])), store, stops: c.stops ?? [], maxReplays: 2, audit: c.audit },
    (s) => s.startsWith('S-p'),
    () => false,
  );
}
const rules = (s: ReturnType<typeof run>) => s.violations.map((v) => `${v.requestId}:${v.rule}`);

describe('bridge chaos checker', () => {
  it('a clean history passes: done, forwarded and received (copies counted), dead with its reason, superseded by a stored newer ask, refused with its reason', () => {
    const s = run({
      asks: [ask('a.1', { got: [20, 30] }), ask('p.1', { got: [] }), ask('b.1', { got: [] }), ask('b.2', { askedAt: 40, got: [50] }), ask('r.1', { got: [] }), ask('a.2', { askedAt: undefined, got: [] })],
      service: [svc('a.1'), svc('p.1', { answers: [{ at: 13, answer: 'error' }] }), svc('b.2')],
      rows: [row('a.1'), row('p.1', { state: 'dead', results: 0, letters: [{ state: 'dead', replayCount: 2, error: 'Guardian process failure' }] }), row('b.1', { state: 'superseded', sends: 0, results: 0 }), row('b.2')],
      forwards: { 'a.1': 'forwarded', 'b.2': 'forwarded' },
      supersededBy: { 'b.1': 'b.2' },
      refused: { 'r.1': ['request r.1 refused by the data gate: no candle file'] },
      stops: [25],
    });
    expect(s.violations).toEqual([]);
    expect([s.requests, s.accepted, s.done, s.dead, s.superseded, s.refused, s.hostReceived, s.duplicatesToHost, s.duplicatesWithoutStop]).toEqual([5, 4, 2, 1, 1, 1, 3, 1, 0]);
    expect(s.unanswered).toEqual({ poison: 1, refused: 0, other: ['S-r (latest r.1: refused)'] });
  });

  it('a frame the host sent and shoal never stored is counted; it is a violation (dropped) only when neither shoal nor the host stopped after the send', () => {
    const s = run({ asks: [ask('a.1', { askedAt: 10, got: [] }), ask('b.1', { askedAt: 30, got: [] })], stops: [20] });
    expect(s.neverStored).toEqual(['a.1', 'b.1']);
    expect(rules(s)).toEqual(['b.1:dropped']);
    expect(s.lost).toBe(1);
  });

  it('a done request without a forward, with a forward still pending, or forwarded but never received by the host is lost', () => {
    const s = run({
      asks: [ask('a.1'), ask('b.1'), ask('c.1', { got: [] })],
      service: [svc('a.1'), svc('b.1'), svc('c.1')],
      rows: [row('a.1'), row('b.1'), row('c.1')],
      forwards: { 'b.1': 'pending', 'c.1': 'forwarded' },
    });
    expect(rules(s)).toEqual(['a.1:lost', 'b.1:lost', 'c.1:not-delivered']);
    expect(s.lost).toBe(3);
  });

  it('two results, a result for a dead request, or a result the host got for a request that is not done are applied twice', () => {
    const s = run({
      asks: [ask('a.1'), ask('b.1', { got: [] }), ask('c.1')],
      service: [svc('a.1'), svc('b.1'), svc('c.1')],
      rows: [row('a.1', { results: 2 }), row('b.1', { state: 'dead', letters: [{ state: 'dead', replayCount: 0, error: 'e' }] }), row('c.1', { state: 'superseded', results: 0 })],
      forwards: { 'a.1': 'forwarded' },
      supersededBy: { 'c.1': 'c.2' },
    });
    expect(rules(s)).toEqual(['a.1:lost', 'a.1:applied-twice', 'b.1:applied-twice', 'c.1:superseded-without-successor', 'c.1:forwarded-not-done']);
    expect(s.appliedTwice).toBe(3);
  });

  it("a trace id other than the host's, a send the outbox never claimed, a request still live are each flagged", () => {
    const s = run({
      asks: [ask('a.1'), ask('b.1'), ask('c.1', { got: [] })],
      service: [svc('a.1', { sends: [{ at: 12, traceparent: OTHER }] }), svc('b.1', { sends: [{ at: 12, traceparent: TP }, { at: 14, traceparent: TP }] })],
      rows: [row('a.1'), row('b.1'), row('c.1', { state: 'pending', results: 0 })],
      forwards: { 'a.1': 'forwarded', 'b.1': 'forwarded' },
    });
    expect(rules(s)).toEqual(['a.1:trace-split', 'b.1:send-not-claimed', 'c.1:lost']);
  });

  it("the store's own audit must count what the history counts: requests, done, dead, superseded, forwards, nothing lost or applied twice", () => {
    const audit = (over: Partial<StoreAudit>): StoreAudit => ({
      requests: 1, live: 0, done: 1, dead: 0, superseded: 0, results: 1, forwards: { pending: 0, forwarded: 1, dead: 0 }, doneWithoutForward: 0, forwardWithoutDone: 0, deadForwardWithoutLetter: 0,
      doneWithoutResult: 0, deadWithoutLetter: 0, resultWithoutDone: 0, resultsTwice: 0, duplicatesIgnored: 0, lost: 0, appliedTwice: 0, ...over,
    });
    const c = { asks: [ask('a.1')], service: [svc('a.1')], rows: [row('a.1')], forwards: { 'a.1': 'forwarded' } };
    expect(rules(run({ ...c, audit: audit({}) }))).toEqual([]);
    expect(run({ ...c, audit: audit({ requests: 2, lost: 1 }) }).violations.map((v) => v.detail)).toEqual([
      "the store's audit counts requests 2, the history 1",
      "the store's audit counts lost 1, the history 0",
    ]);
  });
});
