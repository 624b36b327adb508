/**
 * Read-side queries that roll up durable rows: the facts of a daily summary (domain/daily-summary.ts
 * assembles and prints them) and the few lookups the rank evaluator makes besides the strategy
 * reads of strategies.ts. Reads only; any connection, read-only ones included.
 *
 * Every time is a stored Unix-ms timestamp written from the db-writer's batch time, so durations
 * computed here are differences within one clock's epoch, never across processes' clocks.
 *
 * The day queries filter oos_requests on enqueued_at / completed_at / last_sent_at, which have no
 * index: a daily report scans that table once per figure. That is fine once a day; an index on
 * enqueued_at and a partial one on completed_at would make it a range walk.
 */
import { sql } from 'kysely';
import type { Store } from './connection.ts';
import { perConnection, prepared } from './prepared.ts';
import { assembleDailySummary, DAY_MS, type DailyFacts, type DailySummary, type FailureCount, type LiveRequestFact, type ResultFact, type RestartCount } from '../domain/daily-summary.ts';
import { DEFAULT_RANK_CRITERIA, type RankCriteria } from '../domain/ranks.ts';
import { storedDailySummary } from './retention.ts';

export type { DailyFacts, FailureCount, LiveRequestFact, ResultFact, RestartCount };
import { LIVE, requireInteger, text } from './sql-helpers.ts';

/** The outcome of a send that put no frame on the wire (the sender could not send it). */
const SEND_FAILURE = text('send_failure');

const statements = perConnection(({ sqlite, db }: Store) => ({
  requested: prepared(sqlite, ($: { from: number; to: number }) =>
    db
      .selectFrom('oos_requests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('enqueued_at', '>=', $.from)
      .where('enqueued_at', '<', $.to),
  ),
  completed: prepared(sqlite, ($: { from: number; to: number }) =>
    db
      .selectFrom('oos_requests')
      .select(['enqueued_at', 'last_sent_at', 'completed_at'])
      .where('completed_at', '>=', $.from)
      .where('completed_at', '<', $.to),
  ),
  results: prepared(sqlite, ($: { from: number; to: number }) =>
    db
      .selectFrom('oos_results')
      .select(['request_id', 'strategy_name', 'sharpe', 'profit_factor', 'win_rate', 'max_dd', 'trades'])
      .where('received_at', '>=', $.from)
      .where('received_at', '<', $.to)
      .orderBy('received_at')
      .orderBy('request_id'),
  ),
  // Every finished send is an entry {attempt, sent_at, outcome} of the request's history; the last
  // send, while open or once a result completed it, is not (attempt number `sends`, at
  // last_sent_at; a released, unsent claim is not counted). A send whose outcome is send_failure
  // put no frame on the wire. A re-send is a frame put on the wire after the request's first
  // frame: a send that is not a send_failure, with an earlier one that is not either. Replays are
  // included. Only rows whose send span overlaps the period can hold one.
  lastResends: prepared(sqlite, ($: { from: number; to: number }) =>
    db
      .selectFrom('oos_requests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('last_sent_at', '>=', $.from)
      .where('last_sent_at', '<', $.to)
      .where('sends', '>', 1)
      .where((eb) => eb('sends', '>', eb.fn<number>('json_array_length', ['history'])))
      .where(sql<boolean>`exists (select 1 from json_each(history) p where json_extract(p.value, '$.outcome') is not ${SEND_FAILURE})`),
  ),
  resends: prepared(sqlite, ($: { from: number; to: number }) =>
    db
      .selectFrom(['oos_requests as r', sql<{ value: string }>`json_each(r.history)`.as('h')])
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('r.last_sent_at', '>=', $.from)
      .where('r.first_sent_at', '<', $.to)
      .where(sql`json_extract(h.value, '$.attempt')`, '>', 1)
      .where(sql`json_extract(h.value, '$.sent_at')`, '>=', $.from)
      .where(sql`json_extract(h.value, '$.sent_at')`, '<', $.to)
      .where(sql<boolean>`json_extract(h.value, '$.outcome') is not ${SEND_FAILURE}`)
      .where(
        sql<boolean>`exists (select 1 from json_each(r.history) p where json_extract(p.value, '$.attempt') < json_extract(h.value, '$.attempt') and json_extract(p.value, '$.outcome') is not ${SEND_FAILURE})`,
      ),
  ),
  // deadLetterRequest writes one `dead_letter` failure event with the request id, next to a dead
  // letter whose message is the outbox row (kind 'oos_request'); other dead letters that merely
  // mention a request id (a poison result frame, an orphan) are not requests going dead.
  deadLettered: prepared(sqlite, ($: { from: number; to: number }) =>
    db
      .selectFrom('failure_events as fe')
      .select((eb) => eb.fn.count<number>('fe.request_id').distinct().as('n'))
      .where('fe.kind', '=', 'dead_letter')
      .where('fe.at', '>=', $.from)
      .where('fe.at', '<', $.to)
      .where('fe.request_id', 'is not', null)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('dead_letters as d')
            .select('d.id')
            .whereRef('d.request_id', '=', 'fe.request_id')
            .where(sql`json_extract(d.message, '$.kind')`, '=', text('oos_request')),
        ),
      ),
  ),
  failures: prepared(sqlite, ($: { from: number; to: number }) =>
    db
      .selectFrom('failure_events')
      .select((eb) => ['kind', 'source', eb.fn.countAll<number>().as('n')])
      .where('at', '>=', $.from)
      .where('at', '<', $.to)
      .groupBy(['kind', 'source'])
      .orderBy('kind')
      .orderBy('source'),
  ),
  restarts: prepared(sqlite, ($: { from: number; to: number }) =>
    db
      .selectFrom('supervisor_events')
      .select((eb) => ['path', eb.fn.countAll<number>().as('n')])
      .where('kind', '=', 'restart')
      .where('at', '>=', $.from)
      .where('at', '<', $.to)
      .groupBy('path')
      .orderBy('n', 'desc')
      .orderBy('path'),
  ),
  oldestLive: prepared(sqlite, ($: { to: number }) =>
    db
      .selectFrom('oos_requests')
      .select(['request_id', 'strategy_name', 'state', 'enqueued_at', 'attempts'])
      .where('state', 'in', LIVE)
      .where('enqueued_at', '<', $.to)
      .orderBy('enqueued_at')
      .orderBy('request_id')
      .limit(1),
  ),
  // Through the one-live-request partial index: the IN list is the index's own literal terms.
  liveFor: prepared(sqlite, ($: { names: string }) =>
    db
      .selectFrom('oos_requests')
      .select(['strategy_name', 'request_id'])
      .where('state', 'in', LIVE)
      .where('strategy_name', 'in', sql<string>`(select value from json_each(${$.names}))`),
  ),
  changeSeq: prepared(sqlite, () => db.selectFrom('sequences').select('value').where('name', '=', text('strategy_change'))),
}));

function checkRange(context: string, from: number, to: number): void {
  requireInteger(context, 'from', from);
  requireInteger(context, 'to', to);
  if (to < from) throw new RangeError(`${context}: to ${to} is before from ${from}`);
}

/** The facts of the period [from, to) (Unix ms), read in one read transaction so they agree. */
export function readDailyFacts(store: Store, from: number, to: number): DailyFacts {
  checkRange('readDailyFacts', from, to);
  const s = statements(store);
  const read = () => {
    const completed = s.completed.all({ from, to });
    const oldest = s.oldestLive.get({ to });
    return {
      from,
      to,
      requested: s.requested.get({ from, to })?.n ?? 0,
      completed: completed.length,
      enqueueToCompleteMs: completed.map((r) => r.completed_at! - r.enqueued_at),
      sendToCompleteMs: completed.flatMap((r) => (r.last_sent_at === null ? [] : [r.completed_at! - r.last_sent_at])),
      results: s.results.all({ from, to }).map((r) => ({
        requestId: r.request_id,
        strategyName: r.strategy_name,
        sharpe: r.sharpe,
        profitFactor: r.profit_factor,
        winRate: r.win_rate,
        maxDd: r.max_dd,
        trades: r.trades,
      })),
      resends: (s.resends.get({ from, to })?.n ?? 0) + (s.lastResends.get({ from, to })?.n ?? 0),
      deadLettered: s.deadLettered.get({ from, to })?.n ?? 0,
      failures: s.failures.all({ from, to }).map((r) => ({ kind: r.kind, source: r.source, count: r.n })),
      restarts: s.restarts.all({ from, to }).map((r) => ({ path: r.path, count: r.n })),
      oldestLive: oldest
        ? { requestId: oldest.request_id, strategyName: oldest.strategy_name, state: oldest.state, enqueuedAt: oldest.enqueued_at, attempts: oldest.attempts }
        : null,
    } satisfies DailyFacts;
  };
  // A deferred transaction is a consistent snapshot in WAL mode, also on a read-only connection.
  return store.sqlite.inTransaction ? read() : store.sqlite.transaction(read).deferred();
}

/**
 * The summary of the UTC day starting at `dayStart`: from its rows, or, for a day retention has
 * passed (its rows deleted), the figures stored before they went (`storedAt` set); the oldest
 * pending request is read now either way.
 */
export function dailySummaryFor(store: Store, dayStart: number, now: number, criteria: RankCriteria = DEFAULT_RANK_CRITERIA): DailySummary {
  const stored = storedDailySummary(store, dayStart);
  if (!stored) return assembleDailySummary(readDailyFacts(store, dayStart, dayStart + DAY_MS), now, criteria);
  const o = statements(store).oldestLive.get({ to: dayStart + DAY_MS });
  return {
    ...stored.summary,
    generatedAt: now,
    oldestPending: o ? { requestId: o.request_id, strategyName: o.strategy_name, state: o.state, attempts: o.attempts, enqueuedAt: o.enqueued_at, ageMs: Math.max(0, now - o.enqueued_at) } : null,
    storedAt: stored.storedAt,
  };
}

/** The live (pending or in-flight) request of each named strategy that has one: name -> request id. */
export function liveRequestsFor(store: Store, names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (names.length === 0) return out;
  for (const r of statements(store).liveFor.all({ names: JSON.stringify(names) })) out.set(r.strategy_name, r.request_id);
  return out;
}

/** The highest change_seq handed out so far (0 on an empty store): every strategy row has change_seq <= it. */
export function currentChangeSeq(store: Store): number {
  return statements(store).changeSeq.get({})?.value ?? 0;
}
