/**
 * The timestamps domain/flow-metrics.ts works from, in plain SQL on any connection (the CLI's
 * ReadStore included, so `shoal metrics` starts without kysely). The columns have no index: a
 * period is one scan of oos_requests, fine for an operator's look, not for a hot path.
 */
import type { Statement } from 'better-sqlite3';
import type { RequestTimes } from '../domain/flow-metrics.ts';
import { perConnection } from './prepared.ts';
import type { ReadStore } from './read-store.ts';

type Row = { enqueued_at: number; first_sent_at: number | null; last_sent_at: number | null; completed_at: number | null };

const statements = perConnection(({ sqlite }: Pick<ReadStore, 'sqlite'>) => ({
  times: sqlite.prepare(
    `select enqueued_at, first_sent_at, last_sent_at, completed_at from oos_requests
      where (enqueued_at >= @from and enqueued_at < @to)
         or (first_sent_at >= @from and first_sent_at < @to)
         or (state = 'done' and completed_at >= @from and completed_at < @to)`,
  ) as Statement<[{ from: number; to: number }], Row>,
  restartsSince: sqlite.prepare("select count(*) as n from supervisor_events where kind = 'restart' and at >= ?") as Statement<[number], { n: number }>,
}));

/** The timestamps of every request with one of them in [from, to). */
export function requestTimes(store: Pick<ReadStore, 'sqlite'>, from: number, to: number): RequestTimes[] {
  return statements(store)
    .times.all({ from, to })
    .map((r) => ({ enqueuedAt: r.enqueued_at, firstSentAt: r.first_sent_at, lastSentAt: r.last_sent_at, completedAt: r.completed_at }));
}

/** Actor restarts recorded since `since` (Unix ms). */
export function restartsSince(store: Pick<ReadStore, 'sqlite'>, since: number): number {
  return statements(store).restartsSince.get(since)?.n ?? 0;
}
