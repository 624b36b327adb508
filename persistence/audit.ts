/**
 * The store's own account of "nothing lost, nothing applied twice", read from the rows alone:
 * every request is live, done with exactly one result, or dead with its dead letter; no result
 * lacks a done request. Duplicates that arrived are counted from their failure events (each was
 * refused without effect). Used by the demo's final check, and by anything that must prove it.
 */
import type { Store } from './connection.ts';

export interface StoreAudit {
  readonly requests: number;
  readonly live: number;
  readonly done: number;
  readonly dead: number;
  readonly results: number;
  /** Done requests without a result row. */
  readonly doneWithoutResult: number;
  /** Dead requests with no dead letter (in any state) carrying them. */
  readonly deadWithoutLetter: number;
  /** Result rows whose request is not done. */
  readonly resultWithoutDone: number;
  /** Requests holding more than one result row. */
  readonly resultsTwice: number;
  /** Results that arrived again and were refused without effect. */
  readonly duplicatesIgnored: number;
  /** Requests that are neither live nor accounted for: done without result, or dead without letter. */
  readonly lost: number;
  /** Effects beyond one per request: results twice, or results of requests not done. */
  readonly appliedTwice: number;
}

const one = (store: Store, text: string): number => (store.sqlite.prepare(text).get() as { n: number }).n;

export function auditStore(store: Store): StoreAudit {
  const count = (where: string) => one(store, `select count(*) as n from oos_requests where ${where}`);
  const requests = count('1 = 1');
  const live = count(`state in ('pending', 'in_flight')`);
  const done = count(`state = 'done'`);
  const dead = count(`state = 'dead'`);
  const results = one(store, 'select count(*) as n from oos_results');
  const doneWithoutResult = count(`state = 'done' and not exists (select 1 from oos_results x where x.request_id = oos_requests.request_id)`);
  const deadWithoutLetter = count(
    `state = 'dead' and not exists (select 1 from dead_letters d where d.request_id = oos_requests.request_id and json_extract(d.message, '$.kind') = 'oos_request')`,
  );
  const resultWithoutDone = one(store, `select count(*) as n from oos_results x join oos_requests r on r.request_id = x.request_id where r.state <> 'done'`);
  const resultsTwice = one(store, 'select count(*) as n from (select request_id from oos_results group by request_id having count(*) > 1)');
  const duplicatesIgnored = one(store, `select count(*) as n from failure_events where kind = 'duplicate_result'`);
  return {
    requests,
    live,
    done,
    dead,
    results,
    doneWithoutResult,
    deadWithoutLetter,
    resultWithoutDone,
    resultsTwice,
    duplicatesIgnored,
    lost: doneWithoutResult + deadWithoutLetter,
    appliedTwice: resultsTwice + resultWithoutDone,
  };
}

/** One line for people: the counts, and `lost 0` / `applied twice 0` whatever they are. */
export function formatAudit(a: StoreAudit): string {
  return `${a.requests} requests: ${a.done} done with ${a.results} results, ${a.dead} dead each with its dead letter${a.deadWithoutLetter ? ` (${a.deadWithoutLetter} without)` : ''}, ${a.live} live; duplicates received and ignored ${a.duplicatesIgnored}; lost ${a.lost}, applied twice ${a.appliedTwice}`;
}
