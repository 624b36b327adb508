/** Reads what the chaos checker judges from the store: one plain row per request. */
import { openStore } from '../../persistence/connection.ts';
import { auditStore, type StoreAudit } from '../../persistence/audit.ts';
import { requestTimes } from '../../persistence/flow-metrics.ts';
import { flowMetrics, type FlowMetrics } from '../../domain/flow-metrics.ts';
import { toAttempts } from '../../persistence/records.ts';
import type { StoredRequest } from './checker.ts';
import type { History } from './history.ts';

export interface StoreView {
  readonly requests: Map<string, StoredRequest>;
  /** Requests pending or in flight. */
  readonly live: number;
  /** Dead letters being replayed now. */
  readonly replaying: number;
  /** Every dead letter of a request: id -> state and replays so far. */
  readonly letters: Map<number, { readonly state: string; readonly replayCount: number }>;
}

export function readStoreView(dbPath: string): StoreView {
  return readingStore(dbPath, (store) => {
      const db = store.sqlite;
      const letters = new Map<string, { state: string; replayCount: number; error: string; traceparent: string | null }[]>();
      const byId = new Map<number, { state: string; replayCount: number }>();
      for (const l of db.prepare('select id, request_id, state, replay_count, error, traceparent from dead_letters where request_id is not null').all() as { id: number; request_id: string; state: string; replay_count: number; error: string; traceparent: string | null }[]) {
        byId.set(l.id, { state: l.state, replayCount: l.replay_count });
        const list = letters.get(l.request_id) ?? [];
        list.push({ state: l.state, replayCount: l.replay_count, error: l.error, traceparent: l.traceparent });
        letters.set(l.request_id, list);
      }
      const rows = db
        .prepare(
          `select r.request_id, r.state, r.sends, r.traceparent, r.last_error,
                  (select count(*) from oos_results x where x.request_id = r.request_id) as results,
                  (select count(*) from strategies s where s.oos_request_id = r.request_id) as applied
             from oos_requests r`,
        )
        .all() as { request_id: string; state: string; sends: number; traceparent: string | null; last_error: string | null; results: number; applied: number }[];
      const requests = new Map<string, StoredRequest>();
      for (const r of rows) {
        requests.set(r.request_id, {
          requestId: r.request_id,
          state: r.state,
          sends: r.sends,
          traceparent: r.traceparent,
          results: r.results,
          appliedTo: r.applied,
          letters: letters.get(r.request_id) ?? [],
          lastError: r.last_error,
        });
      }
      const live = rows.filter((r) => r.state === 'pending' || r.state === 'in_flight').length;
      const replaying = [...byId.values()].filter((l) => l.state === 'replaying').length;
      return { requests, live, replaying, letters: byId };
  });
}

/**
 * The outbox's sends and the done requests among `ids`, read at most every 50 ms: the faults poll
 * for a point every few ms, and with the bundled service the store is the only record of sends.
 * Zero while the database cannot be read yet (the first host still creating it).
 */
export function storeProgress(dbPath: string, ids: readonly string[]): () => { sends: number; done: number } {
  let last = { sends: 0, done: 0 };
  let readAt = 0;
  return () => {
    if (Date.now() - readAt < 50) return last;
    readAt = Date.now();
    try {
      last = readingStore(dbPath, (store) => {
        const row = store.sqlite
          .prepare(`select coalesce(sum(sends), 0) as sends, coalesce(sum(state = 'done'), 0) as done from oos_requests where request_id in (select value from json_each(?))`)
          .get(JSON.stringify(ids)) as { sends: number; done: number };
        return row;
      });
    } catch {
      // Not readable yet: the last figures stand.
    }
    return last;
  };
}

/** Sends of `ids` so far: the frames the stand-in saw (the history), or with `progress` the outbox's claims (the bundled service keeps no record the driver can read). */
export function sendCounter(history: History, ids: readonly string[], progress?: () => { sends: number }): () => number {
  return progress ? () => progress().sends : () => ids.reduce((n, id) => n + (history.requests.get(id)?.sends.length ?? 0), 0);
}

/** The state of each of `ids` and the outcome of each of its finished attempts (timeout, error_result, ...). */
export function readAttempts(dbPath: string, ids: readonly string[]): Map<string, { readonly state: string; readonly outcomes: readonly string[] }> {
  return readingStore(dbPath, (store) => {
      const get = store.sqlite.prepare('select state, history from oos_requests where request_id = ?');
      const out = new Map<string, { state: string; outcomes: string[] }>();
      for (const id of ids) {
        const row = get.get(id) as { state: string; history: string } | undefined;
        if (row) out.set(id, { state: row.state, outcomes: toAttempts(row.history).map((a) => a.outcome ?? '') });
      }
      return out;
  });
}

/** SQLite's `PRAGMA integrity_check`: 'ok', or what it found. */
export function integrityCheck(dbPath: string): string {
  return readingStore(dbPath, (store) => {
      const rows = store.sqlite.pragma('integrity_check') as { integrity_check: string }[];
      return rows.map((r) => r.integrity_check).join('; ');
  });
}

/** The store's own account of its requests (what the demo's final check prints). */
export function readAudit(dbPath: string): StoreAudit {
  return readingStore(dbPath, auditStore);
}

/**
 * What `shoal metrics --since` reports from the store, over every timestamp of the run: the
 * clock-step fault stores times up to an hour off, so the period is unbounded.
 */
export function readFlow(dbPath: string): FlowMetrics {
  return readingStore(dbPath, (store) => flowMetrics(requestTimes(store, 0, Number.MAX_SAFE_INTEGER), 0, Number.MAX_SAFE_INTEGER));
}

/** Runs `read` on the database opened read-only, and closes it. */
export function readingStore<T>(dbPath: string, read: (store: ReturnType<typeof openStore>) => T): T {
  const store = openStore({ path: dbPath, readonly: true });
  try {
    return read(store);
  } finally {
    store.close();
  }
}
