/**
 * The store's own account of "nothing lost, nothing applied twice", read from the rows alone:
 * every request is live, done with exactly one result, dead with its dead letter, or superseded
 * by a newer host request (its result, if one came, stored and never forwarded); no result lacks
 * a done or superseded request; every done request of the host has its forward (pending,
 * forwarded, or dead with its dead letter). Duplicates that arrived are counted from their failure events (each was
 * refused without effect). Used by the demo's final check, and by anything that must prove it.
 */
import type { Store } from './connection.ts';

export interface StoreAudit {
  readonly requests: number;
  readonly live: number;
  readonly done: number;
  readonly dead: number;
  /** Replaced by a newer request of the host for the same strategy (bridge mode). */
  readonly superseded: number;
  readonly results: number;
  /** Forwards of results to the host, by state (bridge mode). */
  readonly forwards: { readonly pending: number; readonly forwarded: number; readonly dead: number };
  /** Done requests of the host whose result has no forward: a result the host would never get. */
  readonly doneWithoutForward: number;
  /** Forwards of a request that is not done (a superseded one's result must not be forwarded). */
  readonly forwardWithoutDone: number;
  /** Dead forwards with no dead letter carrying them. */
  readonly deadForwardWithoutLetter: number;
  /** Done requests without a result row. */
  readonly doneWithoutResult: number;
  /** Dead requests with no dead letter (in any state) carrying them. */
  readonly deadWithoutLetter: number;
  /** Result rows whose request is neither done nor superseded. */
  readonly resultWithoutDone: number;
  /** Requests holding more than one result row. */
  readonly resultsTwice: number;
  /** Results that arrived again and were refused without effect. */
  readonly duplicatesIgnored: number;
  /** Requests that are neither live nor accounted for: done without result or (from the host) without forward, dead without letter, a dead forward without letter. */
  readonly lost: number;
  /** Effects beyond one per request: results twice, results of requests not done, forwards of requests not done. */
  readonly appliedTwice: number;
}

const one = (store: Store, text: string): number => (store.sqlite.prepare(text).get() as { n: number }).n;

export function auditStore(store: Store): StoreAudit {
  const count = (where: string) => one(store, `select count(*) as n from oos_requests where ${where}`);
  const requests = count('1 = 1');
  const live = count(`state in ('pending', 'in_flight')`);
  const done = count(`state = 'done'`);
  const dead = count(`state = 'dead'`);
  const superseded = count(`state = 'superseded'`);
  const forwardCount = (state: string) => one(store, `select count(*) as n from host_forwards where state = '${state}'`);
  const forwards = { pending: forwardCount('pending'), forwarded: forwardCount('forwarded'), dead: forwardCount('dead') };
  const doneWithoutForward = count(`state = 'done' and origin = 'host' and not exists (select 1 from host_forwards f where f.request_id = oos_requests.request_id)`);
  const forwardWithoutDone = one(store, `select count(*) as n from host_forwards f join oos_requests r on r.request_id = f.request_id where r.state <> 'done'`);
  const deadForwardWithoutLetter = one(
    store,
    `select count(*) as n from host_forwards f where f.state = 'dead' and not exists (select 1 from dead_letters d where d.request_id = f.request_id and json_extract(d.message, '$.kind') = 'host_forward')`,
  );
  const results = one(store, 'select count(*) as n from oos_results');
  const doneWithoutResult = count(`state = 'done' and not exists (select 1 from oos_results x where x.request_id = oos_requests.request_id)`);
  const deadWithoutLetter = count(
    `state = 'dead' and not exists (select 1 from dead_letters d where d.request_id = oos_requests.request_id and json_extract(d.message, '$.kind') = 'oos_request')`,
  );
  const resultWithoutDone = one(store, `select count(*) as n from oos_results x join oos_requests r on r.request_id = x.request_id where r.state not in ('done', 'superseded')`);
  const resultsTwice = one(store, 'select count(*) as n from (select request_id from oos_results group by request_id having count(*) > 1)');
  const duplicatesIgnored = one(store, `select count(*) as n from failure_events where kind = 'duplicate_result'`);
  return {
    requests,
    live,
    done,
    dead,
    superseded,
    results,
    forwards,
    doneWithoutForward,
    forwardWithoutDone,
    deadForwardWithoutLetter,
    doneWithoutResult,
    deadWithoutLetter,
    resultWithoutDone,
    resultsTwice,
    duplicatesIgnored,
    lost: doneWithoutResult + deadWithoutLetter + doneWithoutForward + deadForwardWithoutLetter,
    appliedTwice: resultsTwice + resultWithoutDone + forwardWithoutDone,
  };
}

/** One line for people: the counts, and `lost 0` / `applied twice 0` whatever they are. */
export function formatAudit(a: StoreAudit): string {
  const bridge =
    a.superseded + a.forwards.pending + a.forwards.forwarded + a.forwards.dead > 0
      ? `, ${a.superseded} superseded; forwards to the host: ${a.forwards.forwarded} forwarded, ${a.forwards.pending} pending, ${a.forwards.dead} dead`
      : '';
  return `${a.requests} requests: ${a.done} done with ${a.results} results, ${a.dead} dead each with its dead letter${a.deadWithoutLetter ? ` (${a.deadWithoutLetter} without)` : ''}, ${a.live} live${bridge}; duplicates received and ignored ${a.duplicatesIgnored}; lost ${a.lost}, applied twice ${a.appliedTwice}`;
}
