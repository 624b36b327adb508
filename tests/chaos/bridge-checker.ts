/**
 * The chaos checker for bridge mode: judges the host's history (what it asked and every result
 * frame it got), the service's history and the store. Pure, like checker.ts.
 *
 * In bridge mode the host gets no acknowledgement (ADR 0009): a request is accepted once shoal
 * stored it. A frame the host sent that shoal never stored is counted and listed, not a violation,
 * when shoal stopped or the host died after it was sent (it was in a socket buffer); a frame lost
 * with no such stop is a violation (`dropped`).
 */
import { countMismatches, SERVICE_RECORD_RULES, traceId, type CheckSummary, type Rule, type StoredRequest, type Violation } from './checker.ts';
import type { RequestHistory } from './history.ts';
import type { StoreAudit } from '../../persistence/audit.ts';

/** One request the host may send: the first ask for a strategy or an ask again. */
export interface HostAsk {
  readonly requestId: string;
  readonly strategy: string;
  readonly traceparent: string;
  /** The host's clock when it handed the frame to its socket; undefined if it never asked. */
  askedAt?: number;
  /** When the host got a result frame for this request id (one entry per copy). */
  readonly got: number[];
}

/** The store as the bridge checker reads it (bridge-store-view.ts). */
export interface BridgeStore {
  readonly requests: ReadonlyMap<string, StoredRequest>;
  readonly supersededBy: ReadonlyMap<string, string>;
  readonly forwards: ReadonlyMap<string, { readonly state: string }>;
  /** Frames the intake dead-lettered (refused or undecodable), by request id: their reasons. */
  readonly refused: ReadonlyMap<string, readonly string[]>;
}

export interface BridgeCheckInput {
  readonly asks: ReadonlyMap<string, HostAsk>;
  /** What the service saw of each request (history.ts), by request id. */
  readonly service: ReadonlyMap<string, RequestHistory>;
  readonly store: BridgeStore;
  /** When shoal exited (SIGKILL or stop) or the host died: frames sent before were in socket buffers that died. */
  readonly stops: readonly number[];
  /** When the host died (a subset of stops): shoal then forwards again what it handed off just before (ADR 0009's reopen window). */
  readonly hostDeaths?: readonly number[];
  readonly maxReplays: number;
  readonly unreplayedLetters?: readonly number[];
  /** The store's own account (persistence/audit.ts): its counts must equal the history's. */
  readonly audit?: StoreAudit;
  /** Result frames the host got whose request id it could not read or never asked. */
  readonly strayResults?: number;
  /** Whether `service` holds the service's own records (the stand-in's; default true): without them the rules that need them are skipped, as in checker.ts. */
  readonly serviceRecords?: boolean;
}

export interface BridgeSummary extends CheckSummary {
  /** Asks the host sent (requests, in CheckSummary, counts the same). */
  readonly strategies: number;
  readonly superseded: number;
  readonly refused: number;
  /** Result frames the host got, duplicates included; and the copies beyond the first. */
  readonly hostReceived: number;
  readonly duplicatesToHost: number;
  /** Of those, copies with no stop of shoal and no death of the host since the copy before (the reopen window, ADR 0009, or a late read of the host's output). */
  readonly duplicatesWithoutStop: number;
  /** Of those, copies with a death of the host since the copy before. */
  readonly duplicatesAfterHostDeath: number;
  /** Frames the host sent that shoal never stored (lost with a stopped shoal or a dead host). */
  readonly neverStored: readonly string[];
  /** Strategies whose latest ask never got a result to the host: by why. */
  readonly unanswered: { readonly poison: number; readonly refused: number; readonly other: readonly string[] };
}

const answeredOk = (h: RequestHistory | undefined) => h?.answers.some((a) => a.answer === 'ok' || a.answer === 'twice' || a.answer === 'late') ?? false;

export function checkBridge(input: BridgeCheckInput, poison: (strategy: string) => boolean, refusedByDesign: (strategy: string) => boolean): BridgeSummary {
  const violations: Violation[] = [];
  const flag = (requestId: string, rule: Rule, detail: string) => violations.push({ requestId, rule, detail });
  const { store } = input;
  let requests = 0;
  let accepted = 0;
  let done = 0;
  let dead = 0;
  let superseded = 0;
  let refused = 0;
  let sends = 0;
  let hostReceived = 0;
  let duplicates = 0;
  let duplicatesWithoutStop = 0;
  let duplicatesAfterHostDeath = 0;
  const between = (times: readonly number[] | undefined, from: number, to: number) => (times ?? []).some((t) => t >= from && t <= to);
  const neverStored: string[] = [];
  const byStrategy = new Map<string, HostAsk[]>();
  const serviceRecords = input.serviceRecords ?? true;
  for (const [id, a] of input.asks) {
    const row = store.requests.get(id);
    const h = input.service.get(id);
    sends += serviceRecords ? (h?.sends.length ?? 0) : (row?.sends ?? 0);
    hostReceived += a.got.length;
    duplicates += Math.max(0, a.got.length - 1);
    for (let i = 1; i < a.got.length; i++) {
      if (!between(input.stops, a.got[i - 1], a.got[i])) duplicatesWithoutStop++;
      if (between(input.hostDeaths, a.got[i - 1], a.got[i])) duplicatesAfterHostDeath++;
    }
    if (a.askedAt === undefined) {
      if (row || store.refused.has(id)) flag(id, 'phantom-result', 'stored, but the host never sent it');
      continue;
    }
    requests++;
    const asks = byStrategy.get(a.strategy) ?? [];
    asks.push(a);
    byStrategy.set(a.strategy, asks);
    if (!row) {
      const reasons = store.refused.get(id);
      if (reasons) {
        refused++;
        if (reasons.every((r) => !r)) flag(id, 'dead-without-reason', 'refused by the intake with no reason recorded');
      } else {
        neverStored.push(id);
        const askedAt = a.askedAt;
        if (!input.stops.some((t) => t >= askedAt)) flag(id, 'dropped', 'sent by the host, never stored, and neither shoal nor the host stopped after the send');
      }
      if (a.got.length > 0) flag(id, 'phantom-result', `the host got ${a.got.length} results for a request shoal never stored`);
      continue;
    }
    accepted++;
    const forward = store.forwards.get(id);
    if (row.state === 'done') {
      done++;
      if (row.results !== 1) flag(id, 'lost', `done with ${row.results} result rows`);
      if (!forward) flag(id, 'lost', 'done without a forward to the host');
      else if (forward.state === 'pending') flag(id, 'lost', 'its result was never handed to the host');
      else if (forward.state === 'forwarded' && a.got.length === 0) flag(id, 'not-delivered', 'forwarded, but the host never got it');
      if (serviceRecords && !answeredOk(h)) flag(id, 'phantom-result', 'done, but the service never answered it with a result');
    } else if (row.state === 'dead') {
      dead++;
      if (row.letters.length === 0) flag(id, 'lost', 'dead without a dead letter');
      if (!row.lastError && row.letters.every((l) => !l.error)) flag(id, 'dead-without-reason', 'dead with no error recorded');
    } else if (row.state === 'superseded') {
      superseded++;
      const by = store.supersededBy.get(id);
      const successor = by === undefined ? undefined : input.asks.get(by);
      if (!successor || successor.strategy !== a.strategy || !store.requests.has(by!)) flag(id, 'superseded-without-successor', `superseded by ${by ?? 'nothing'}, not a stored newer request of ${a.strategy}`);
    } else {
      flag(id, 'lost', `still ${row.state} after the final recovery`);
    }
    if (row.results > 1 || row.appliedTo > 1) flag(id, 'applied-twice', `${row.results} results, applied to ${row.appliedTo} strategies`);
    // A superseded request's late result is stored (and not forwarded); any other non-done request has none.
    if (row.state !== 'done' && row.state !== 'superseded' && row.results > 0) flag(id, 'applied-twice', `a result stored for a request that is ${row.state}`);
    if (forward && row.state !== 'done') flag(id, 'forwarded-not-done', `a forward to the host for a request that is ${row.state}`);
    if (a.got.length > 0 && row.state !== 'done') flag(id, 'forwarded-not-done', `the host got a result for a request that is ${row.state}`);
    const traces = new Set([traceId(a.traceparent), ...(h?.sends ?? []).map((s) => traceId(s.traceparent))]);
    if (row.traceparent) traces.add(traceId(row.traceparent));
    if (traces.size > 1) flag(id, 'trace-split', `trace ids ${[...traces].join(', ')} (the host's is ${traceId(a.traceparent)})`);
    if (serviceRecords && (h?.sends.length ?? 0) > row.sends) flag(id, 'send-not-claimed', `the service saw ${h?.sends.length} sends, the outbox claimed ${row.sends}`);
    for (const l of row.letters) if (l.replayCount > input.maxReplays) flag(id, 'replay-uncapped', `a letter replayed ${l.replayCount} times (cap ${input.maxReplays})`);
  }
  for (const id of store.requests.keys()) if (!input.asks.has(id)) flag(id, 'phantom-result', 'in the store but never planned');
  for (const letter of input.unreplayedLetters ?? []) flag(`letter ${letter}`, 'replay-missing', 'a dead letter with replays left was not replayed after recovery');
  if (input.strayResults) flag('-', 'phantom-result', `the host got ${input.strayResults} result frames for request ids it never sent`);

  if (input.audit) {
    const a = input.audit;
    const counted = { requests: accepted, done, dead, superseded, live: 0, 'forwards forwarded or dead': done, lost: 0, 'applied twice': 0 };
    const stored = { requests: a.requests, done: a.done, dead: a.dead, superseded: a.superseded, live: a.live, 'forwards forwarded or dead': a.forwards.forwarded + a.forwards.dead, lost: a.lost, 'applied twice': a.appliedTwice };
    violations.push(...countMismatches("the store's audit", counted, stored));
  }

  // Per strategy: did the host get the result of its latest ask?
  const unanswered = { poison: 0, refused: 0, other: [] as string[] };
  for (const [strategy, asks] of byStrategy) {
    const latest = asks.reduce((a, b) => (b.askedAt! > a.askedAt! ? b : a));
    if (latest.got.length > 0) continue;
    if (poison(strategy)) unanswered.poison++;
    else if (refusedByDesign(strategy)) unanswered.refused++;
    else unanswered.other.push(`${strategy} (latest ${latest.requestId}: ${store.requests.get(latest.requestId)?.state ?? (store.refused.has(latest.requestId) ? 'refused' : 'never stored')})`);
  }
  const count = (rule: Rule) => new Set(violations.filter((v) => v.rule === rule).map((v) => v.requestId)).size;
  return {
    skippedRules: serviceRecords ? [] : SERVICE_RECORD_RULES,
    requests,
    strategies: byStrategy.size,
    accepted,
    done,
    dead,
    superseded,
    refused,
    sends,
    lost: count('lost') + count('dropped') + count('not-delivered'),
    appliedTwice: count('applied-twice') + count('forwarded-not-done'),
    hostReceived,
    duplicatesToHost: duplicates,
    duplicatesWithoutStop,
    duplicatesAfterHostDeath,
    neverStored,
    unanswered,
    violations,
  };
}
