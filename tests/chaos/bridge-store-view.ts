/** Reads what the bridge checker judges from the store: the request rows (store-view.ts), superseded links, forwards to the host and the intake's refusals. */
import { INTAKE_LETTER_KIND } from '../../actors/intake.ts';
import type { BridgeStore } from './bridge-checker.ts';
import { readingStore, readStoreView, type StoreView } from './store-view.ts';

export type BridgeStoreView = StoreView & BridgeStore & { readonly pendingForwards: number };

export function readBridgeStoreView(dbPath: string): BridgeStoreView {
  const view = readStoreView(dbPath);
  return readingStore(dbPath, (store) => {
      const db = store.sqlite;
      const supersededBy = new Map<string, string>();
      for (const r of db.prepare(`select request_id, superseded_by from oos_requests where superseded_by is not null`).all() as { request_id: string; superseded_by: string }[]) supersededBy.set(r.request_id, r.superseded_by);
      const forwards = new Map<string, { state: string }>();
      for (const f of db.prepare('select request_id, state from host_forwards').all() as { request_id: string; state: string }[]) forwards.set(f.request_id, { state: f.state });
      const refused = new Map<string, string[]>();
      const letters = db
        .prepare(`select request_id, error from dead_letters where request_id is not null and json_extract(message, '$.kind') = ? and request_id not in (select request_id from oos_requests)`)
        .all(INTAKE_LETTER_KIND) as { request_id: string; error: string }[];
      for (const l of letters) refused.set(l.request_id, [...(refused.get(l.request_id) ?? []), l.error]);
      const pendingForwards = [...forwards.values()].filter((f) => f.state === 'pending').length;
      return { ...view, supersededBy, forwards, refused, pendingForwards };
  });
}

/** Light reads for the fault points, polled while the run goes on: how many of `ids` are stored; how many letters are being replayed. */
export function countStored(dbPath: string, ids: readonly string[]): number {
  return readingStore(dbPath, (store) => {
      return (store.sqlite.prepare(`select count(*) as n from oos_requests where request_id in (select value from json_each(?))`).get(JSON.stringify(ids)) as { n: number }).n;
  });
}

export function countReplaying(dbPath: string): number {
  return readingStore(dbPath, (store) => {
      return (store.sqlite.prepare(`select count(*) as n from dead_letters where state = 'replaying'`).get() as { n: number }).n;
  });
}
