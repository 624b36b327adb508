/**
 * What an operator looks at, in plain SQL on any connection (the CLI's ReadStore included, so the
 * read commands start without kysely; the control endpoint runs the same): the outbox view of
 * `shoal queue`, the last supervisor events, dead letters at the replay cap.
 */
import type { Statement } from 'better-sqlite3';
import { countByState, listRequests } from './outbox-reads.ts';
import { perConnection } from './prepared.ts';
import type { ReadStore } from './read-store.ts';
import { toSupervisorEvent, type OutboxRequest, type SupervisorEvent } from './records.ts';
import { DEAD_LETTER_STATES, type DeadLetterState, type RequestState, type SupervisorEventsTable } from './schema.ts';
import type { Selectable } from 'kysely';

const statements = perConnection(({ sqlite }: Pick<ReadStore, 'sqlite'>) => ({
  lastEvents: sqlite.prepare('select * from supervisor_events order by id desc limit ?') as Statement<[number], Selectable<SupervisorEventsTable>>,
  lettersByState: sqlite.prepare('select state, count(*) as n from dead_letters group by state') as Statement<[], { state: DeadLetterState; n: number }>,
  atCap: sqlite.prepare("select count(*) as n from dead_letters where state = 'dead' and replay_count >= @max and (@source is null or source = @source)") as Statement<[{ max: number; source: string | null }], { n: number }>,
}));

export interface QueueView {
  readonly counts: Record<RequestState, number>;
  /** The oldest pending or in-flight request, or null when none is live. */
  readonly oldestLive: OutboxRequest | null;
  /** The requests in the states asked for (default the live ones), oldest first. */
  readonly requests: OutboxRequest[];
}

/** The outbox as `shoal queue` shows it. */
export function queueView(store: Pick<ReadStore, 'sqlite'>, state: RequestState | undefined, limit: number): QueueView {
  const states: RequestState[] = state ? [state] : ['in_flight', 'pending'];
  // Oldest first; request ids are time-ordered, so they break ties within a millisecond.
  const byAge = (a: OutboxRequest, b: OutboxRequest) => a.enqueuedAt - b.enqueuedAt || (a.requestId < b.requestId ? -1 : 1);
  const requests = states.flatMap((s) => listRequests(store, s, limit)).sort(byAge).slice(0, limit);
  const oldestLive = [...listRequests(store, 'pending', 1), ...listRequests(store, 'in_flight', 1)].sort(byAge)[0] ?? null;
  return { counts: countByState(store), oldestLive, requests };
}

/** The last `n` supervisor events, oldest first. */
export function lastSupervisorEvents(store: Pick<ReadStore, 'sqlite'>, n: number): SupervisorEvent[] {
  return statements(store).lastEvents.all(n).reverse().map(toSupervisorEvent);
}

/** Dead letters (state dead) that have used `maxReplays` replays, from one source or all. */
export function countAtReplayCap(store: Pick<ReadStore, 'sqlite'>, source: string | undefined, maxReplays: number): number {
  return statements(store).atCap.get({ max: maxReplays, source: source ?? null })?.n ?? 0;
}

/** Dead letters by state (every state present, 0 when none). */
export function countLettersByState(store: Pick<ReadStore, 'sqlite'>): Record<DeadLetterState, number> {
  const counts = Object.fromEntries(DEAD_LETTER_STATES.map((st) => [st, 0])) as Record<DeadLetterState, number>;
  for (const r of statements(store).lettersByState.all()) counts[r.state] = r.n;
  return counts;
}
