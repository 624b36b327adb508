/**
 * The outbox's reads that the CLI and the runtime's readers share, in plain SQL: they work on any
 * connection (a ReadStore without kysely included). The state literals are inline because SQLite
 * uses a partial index only when the query names the same literal.
 */
import type { Statement } from 'better-sqlite3';
import { perConnection } from './prepared.ts';
import type { ReadStore } from './read-store.ts';
import { toOutboxRequest, type OutboxRequest } from './records.ts';
import { REQUEST_STATES, type OosRequestsTable, type RequestState } from './schema.ts';

const statements = perConnection(({ sqlite }: Pick<ReadStore, 'sqlite'>) => ({
  list: sqlite.prepare('select * from oos_requests order by request_id limit ?') as Statement<[number], OosRequestsTable>,
  listInState: sqlite.prepare('select * from oos_requests where state = ? order by request_id limit ?') as Statement<[RequestState, number], OosRequestsTable>,
  countInFlight: sqlite.prepare("select count(*) as n from oos_requests where state = 'in_flight'") as Statement<[], { n: number }>,
  // Each over an index alone: finished requests by the finished index, live ones by the due and lease indexes.
  countFinished: sqlite.prepare("select state, count(*) as n from oos_requests where state not in ('pending', 'in_flight') group by state") as Statement<[], { state: RequestState; n: number }>,
  countPending: sqlite.prepare("select count(*) as n from oos_requests where state = 'pending'") as Statement<[], { n: number }>,
  // Through the lease index: only in-flight rows are in it.
  inFlightSentBy: sqlite.prepare("select * from oos_requests where state = 'in_flight' and lease_until is not null and last_sent_at <= ? order by lease_until, request_id limit ?") as Statement<
    [number, number],
    OosRequestsTable
  >,
  oldestLive: sqlite.prepare("select min(enqueued_at) as at from oos_requests where state in ('pending', 'in_flight')") as Statement<[], { at: number | null }>,
}));

/** Requests oldest first (request ids are time-ordered), optionally in one state. */
export function listRequests(store: Pick<ReadStore, 'sqlite'>, state?: RequestState, limit = 100): OutboxRequest[] {
  const s = statements(store);
  const rows = state === undefined ? s.list.all(limit) : s.listInState.all(state, limit);
  return rows.map(toOutboxRequest);
}

export function countByState(store: Pick<ReadStore, 'sqlite'>): Record<RequestState, number> {
  const counts = Object.fromEntries(REQUEST_STATES.map((st) => [st, 0])) as Record<RequestState, number>;
  const s = statements(store);
  for (const r of s.countFinished.all()) counts[r.state] = r.n;
  counts.pending = s.countPending.get()?.n ?? 0;
  counts.in_flight = s.countInFlight.get()?.n ?? 0;
  return counts;
}

/** When the oldest live (pending or in-flight) request was enqueued, or null when none is live. */
export function oldestLiveEnqueuedAt(store: Pick<ReadStore, 'sqlite'>): number | null {
  return statements(store).oldestLive.get()?.at ?? null;
}

/** Requests in flight now; cheap however many finished requests the table holds (the sender asks every tick). */
export function countInFlight(store: Pick<ReadStore, 'sqlite'>): number {
  return statements(store).countInFlight.get()?.n ?? 0;
}

/** In-flight requests last sent at or before `at` (sent to a service connection that has since dropped), at most `limit`. */
export function listInFlightSentBy(store: Pick<ReadStore, 'sqlite'>, at: number, limit = 256): OutboxRequest[] {
  return statements(store).inFlightSentBy.all(at, limit).map(toOutboxRequest);
}
