/**
 * The chaos suite's checker: judges a run's history against the store it left. Pure: the store
 * is read into plain rows first (store-view.ts). Each rule below is one way shoal's promise
 * could break; a violation names the request and the rule.
 */
import type { RequestHistory } from './history.ts';
import type { StoreAudit } from '../../persistence/audit.ts';
import type { FlowMetrics } from '../../domain/flow-metrics.ts';

/** One request as the store left it. */
export interface StoredRequest {
  readonly requestId: string;
  readonly state: string;
  /** Sends the outbox claimed (the `sends` counter). */
  readonly sends: number;
  readonly traceparent: string | null;
  readonly results: number;
  /** Strategies whose OOS result points at this request. */
  readonly appliedTo: number;
  readonly letters: readonly { readonly state: string; readonly replayCount: number; readonly error: string; readonly traceparent?: string | null }[];
  readonly lastError: string | null;
}

export interface CheckInput {
  readonly history: ReadonlyMap<string, RequestHistory>;
  readonly store: ReadonlyMap<string, StoredRequest>;
  /** Replays of one request's dead letter at most (config replay.maxReplays). */
  readonly maxReplays: number;
  /** Dead letters (by id) that had replays left when the final recovery started and were not replayed by it. */
  readonly unreplayedLetters?: readonly number[];
  /** Violations the faults found as they happened (a spurious timeout, a request stuck after a clock jump, a failed integrity check). */
  readonly faultViolations?: readonly Violation[];
  /** The store's own account (persistence/audit.ts): its counts must equal the history's. */
  readonly audit?: StoreAudit;
  /** What `shoal metrics --since` derives from the store's timestamps over the run: its counts too. */
  readonly flow?: FlowMetrics;
  /**
   * Whether the history holds the service's own records of what it received and answered (the
   * stand-in's; default true). Without them (the bundled service) the rules that need them are
   * skipped and named in the summary, and sends are the outbox's claims.
   */
  readonly serviceRecords?: boolean;
}

/** The rules judged only from the service's own records, and why, for a run without them. */
export const SERVICE_RECORD_RULES: readonly string[] = [
  "phantom-result (a done request had an answer with a result from the service): needs the service's record of its answers",
  "send-not-claimed (no send the service saw beyond the outbox's claims): needs the service's record of what it received",
  "trace-split over the frames the service received (judged over the driver's and the store's own records only)",
];

export type Rule =
  | 'lost'
  | 'applied-twice'
  | 'not-accepted'
  | 'phantom-result'
  | 'trace-split'
  | 'send-not-claimed'
  | 'replay-uncapped'
  | 'replay-missing'
  | 'dead-without-reason'
  // judged by the aimed faults themselves (clock-jump.ts, checkpoint-kill.ts) and passed in
  | 'spurious-timeout'
  | 'stuck'
  | 'integrity'
  | 'not-all-or-nothing'
  // the store's own counts against the history's
  | 'counter-mismatch'
  | BridgeRule;

/** Bridge mode's own (bridge-checker.ts). */
export type BridgeRule =
  | 'dropped'
  | 'not-delivered'
  | 'superseded-without-successor'
  | 'forwarded-not-done'
  // judged by the blocking faults (lock-holder, disk-full) once the lock or the space is back
  | 'not-stored-after-unblock'
  | 'exited-while-blocked';

export interface Violation {
  readonly requestId: string;
  readonly rule: Rule;
  readonly detail: string;
}

export interface CheckSummary {
  readonly requests: number;
  readonly accepted: number;
  readonly done: number;
  readonly dead: number;
  readonly sends: number;
  readonly lost: number;
  readonly appliedTwice: number;
  readonly violations: readonly Violation[];
  /** Rules not judged in this run, each with why (empty when the service kept its records). */
  readonly skippedRules: readonly string[];
}

export const traceId = (tp: string | null | undefined) => (tp ? tp.split('-')[1] : undefined);
const answeredOk = (h: RequestHistory) => h.answers.some((a) => a.answer === 'ok' || a.answer === 'twice' || a.answer === 'late');

export function check(input: CheckInput): CheckSummary {
  const violations: Violation[] = [];
  const flag = (requestId: string, rule: Rule, detail: string) => violations.push({ requestId, rule, detail });
  let accepted = 0;
  let done = 0;
  let dead = 0;
  let sends = 0;
  const serviceRecords = input.serviceRecords ?? true;
  for (const [id, h] of input.history) {
    const row = input.store.get(id);
    sends += serviceRecords ? h.sends.length : (row?.sends ?? 0);
    if (h.acceptedAt === undefined) {
      // The final pass enqueues the whole workload, so every request must have been accepted.
      flag(id, 'not-accepted', 'the host was never told this request is durable');
      continue;
    }
    accepted++;
    if (!row) {
      flag(id, 'lost', 'accepted by the host but not in the store');
      continue;
    }
    if (row.state === 'done') done++;
    if (row.state === 'dead') dead++;
    if (row.state !== 'done' && row.state !== 'dead') flag(id, 'lost', `still ${row.state} after the final recovery`);
    if (row.state === 'done' && row.results !== 1) flag(id, 'lost', `done with ${row.results} result rows`);
    if (row.state === 'dead' && row.letters.length === 0) flag(id, 'lost', 'dead without a dead letter');
    if (row.state === 'dead' && !row.lastError && row.letters.every((l) => !l.error)) flag(id, 'dead-without-reason', 'dead with no error recorded');
    if (row.results > 1 || row.appliedTo > 1) flag(id, 'applied-twice', `${row.results} results, applied to ${row.appliedTo} strategies`);
    if (row.state !== 'done' && row.results > 0) flag(id, 'applied-twice', `a result stored for a request that is ${row.state}`);
    if (serviceRecords && row.state === 'done' && !answeredOk(h)) flag(id, 'phantom-result', `done, but the service never answered it with a result (${h.item.poison ? 'poison' : 'healthy'})`);
    const traces = new Set(h.sends.map((s) => traceId(s.traceparent)));
    traces.add(traceId(h.item.traceparent));
    if (row.traceparent) traces.add(traceId(row.traceparent));
    for (const l of row.letters) if (l.traceparent) traces.add(traceId(l.traceparent));
    if (traces.size > 1) flag(id, 'trace-split', `trace ids ${[...traces].join(', ')}`);
    if (serviceRecords && h.sends.length > row.sends) flag(id, 'send-not-claimed', `the service saw ${h.sends.length} sends, the outbox claimed ${row.sends}`);
    for (const l of row.letters) if (l.replayCount > input.maxReplays) flag(id, 'replay-uncapped', `a letter replayed ${l.replayCount} times (cap ${input.maxReplays})`);
  }
  for (const id of input.store.keys()) if (!input.history.has(id)) flag(id, 'phantom-result', 'in the store but never planned');
  for (const letter of input.unreplayedLetters ?? []) flag(`letter ${letter}`, 'replay-missing', 'a dead letter with replays left was not replayed after recovery');
  violations.push(...(input.faultViolations ?? []));
  if (input.audit) {
    const a = input.audit;
    violations.push(...countMismatches("the store's audit", { requests: accepted, done, dead, live: 0, superseded: 0, lost: 0, 'applied twice': 0 }, { requests: a.requests, done: a.done, dead: a.dead, live: a.live, superseded: a.superseded, lost: a.lost, 'applied twice': a.appliedTwice }));
  }
  if (input.flow) violations.push(...countMismatches('the store\'s flow metrics', { enqueued: accepted, completed: done }, { enqueued: input.flow.enqueued, completed: input.flow.completed }));
  const count = (rule: Rule) => new Set(violations.filter((v) => v.rule === rule).map((v) => v.requestId)).size;
  return { requests: input.history.size, accepted, done, dead, sends, lost: count('lost'), appliedTwice: count('applied-twice'), violations, skippedRules: serviceRecords ? [] : SERVICE_RECORD_RULES };
}

/** A counter-mismatch for each count the store gives (`stored`) that is not the history's (`counted`). */
export function countMismatches(source: string, counted: Readonly<Record<string, number>>, stored: Readonly<Record<string, number>>): Violation[] {
  return Object.entries(counted)
    .filter(([k, v]) => stored[k] !== v)
    .map(([k, v]) => ({ requestId: '-', rule: 'counter-mismatch', detail: `${source} counts ${k} ${stored[k]}, the history ${v}` }));
}

/** The history of one request, for the report of its violation. */
export function describeRequest(h: RequestHistory | undefined, row: StoredRequest | undefined, t0: number): string {
  const lines: string[] = [];
  if (h) {
    lines.push(`request ${h.item.requestId} (strategy ${h.item.strategy}${h.item.poison ? ', poison' : ''}), trace ${traceId(h.item.traceparent)}`);
    lines.push(`  accepted: ${h.acceptedAt === undefined ? 'never' : `+${h.acceptedAt - t0} ms`}`);
    for (const s of h.sends) lines.push(`  sent    +${s.at - t0} ms (trace ${traceId(s.traceparent) ?? 'none'})`);
    for (const a of h.answers) lines.push(`  service +${a.at - t0} ms: ${a.answer}`);
  }
  lines.push(row ? `  store: ${row.state}, sends ${row.sends}, results ${row.results}, letters ${JSON.stringify(row.letters)}, last error ${row.lastError ?? '-'}` : '  store: no row');
  return lines.join('\n');
}
