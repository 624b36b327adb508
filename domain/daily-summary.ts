/**
 * The daily summary of the OOS flow: pure assembly of the durable facts of one UTC day
 * (persistence/report.ts reads them) and its text rendering. Definitions, per UTC day [00:00, 24:00):
 *
 * - requested: requests enqueued that day.
 * - completed: requests that reached `done` that day (a result was applied).
 * - passed / failed: results received that day that meet / miss the OOS gate of the rank criteria
 *   (by default oos sharpe >= 0.35). An unknown value (NaN stored as NULL) misses it.
 * - retried: re-sends made that day: frames put on the wire for a request after its first frame
 *   (after a timeout, a retryable error result, or a dead letter replayed). A send that failed put
 *   no frame on the wire: it is not a re-send, and the first frame after it is not one either.
 *   From each request's durable attempt history, so it counts what was sent, not what was scheduled.
 * - dead-lettered: requests that went to the dead letters that day (distinct request ids).
 * - failures: failure_events of the day by kind (and by kind and source).
 * - latency: p50/p95/p99 of completed_at - enqueued_at (queue dwell + service time) and
 *   completed_at - last_sent_at (the last attempt's round trip), over the requests completed that
 *   day. All three stamps come from the db-writer's clock: one epoch.
 * - restarts: supervisor 'restart' events of the day by actor path.
 * - oldest pending: the oldest request still pending or in flight (enqueued before the day's end)
 *   at the time the summary is made; its age is measured from `now`.
 */
import type { FailureKind } from './failures.ts';
import type { RequestState } from './request.ts';
import { summarize, type LatencySummary } from './percentiles.ts';
import { DEFAULT_RANK_CRITERIA, oosGate, passesOosGate, type RankCriteria } from './ranks.ts';

// ---- the facts a summary is made from (the store reads them: persistence/report.ts) ----------

/** An OOS result received in the period (what the OOS gate is applied to). */
export interface ResultFact {
  requestId: string;
  strategyName: string;
  sharpe: number | null;
  profitFactor: number | null;
  winRate: number | null;
  maxDd: number | null;
  trades: number;
}

export interface FailureCount {
  kind: FailureKind;
  source: string;
  count: number;
}

export interface RestartCount {
  path: string;
  count: number;
}

export interface LiveRequestFact {
  requestId: string;
  strategyName: string;
  state: RequestState;
  enqueuedAt: number;
  attempts: number;
}

/** Everything a daily summary needs about [from, to), straight from the rows. */
export interface DailyFacts {
  from: number;
  to: number;
  /** Requests enqueued in the period. */
  requested: number;
  /** Requests completed (state done) in the period. */
  completed: number;
  /** completed_at - enqueued_at of each request completed in the period. */
  enqueueToCompleteMs: number[];
  /** completed_at - last_sent_at of each request completed in the period (those ever sent). */
  sendToCompleteMs: number[];
  /** Results received in the period. */
  results: ResultFact[];
  /**
   * Re-sends in the period: frames sent in the period that were not their request's first frame.
   * A failed send put no frame on the wire, so it is not one, nor does it make the next one a re-send.
   */
  resends: number;
  /** Requests that went to the dead letters in the period (distinct request ids). */
  deadLettered: number;
  /** failure_events in the period by kind and source. */
  failures: FailureCount[];
  /** supervisor_events of kind 'restart' in the period, by actor path. */
  restarts: RestartCount[];
  /** The oldest request still live (pending or in flight) among those enqueued before `to`. */
  oldestLive: LiveRequestFact | null;
}

// ---- the summary -----------------------------------------------------------------------------

export const DAY_MS = 86_400_000;

export interface DailySummary {
  /** UTC date, YYYY-MM-DD. */
  day: string;
  from: number;
  to: number;
  generatedAt: number;
  /** The OOS gate the passed/failed split used, e.g. "oosSharpe >= 0.35". */
  oosGate: string;
  oos: {
    requested: number;
    completed: number;
    passed: number;
    failed: number;
    retried: number;
    deadLettered: number;
  };
  failures: {
    total: number;
    byKind: Record<string, number>;
    byKindAndSource: FailureCount[];
  };
  latencyMs: {
    enqueueToComplete: LatencySummary | null;
    sendToComplete: LatencySummary | null;
  };
  restarts: {
    total: number;
    byPath: Record<string, number>;
  };
  oldestPending: {
    requestId: string;
    strategyName: string;
    state: RequestState;
    attempts: number;
    enqueuedAt: number;
    ageMs: number;
  } | null;
  /**
   * Set when the day is past the retention horizon: its rows are gone, and the figures are the
   * ones stored (Unix ms) before they were deleted. Only the oldest pending request is read now.
   */
  storedAt?: number;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses YYYY-MM-DD as a UTC day; undefined for anything else, including impossible dates (2026-02-30). */
export function parseUtcDay(text: string): { day: string; from: number; to: number } | undefined {
  const m = DATE.exec(text);
  if (!m) return undefined;
  const from = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (new Date(from).toISOString().slice(0, 10) !== text) return undefined;
  return { day: text, from, to: from + DAY_MS };
}

/** The UTC day containing `ms`. */
export function utcDayOf(ms: number): { day: string; from: number; to: number } {
  const from = Math.floor(ms / DAY_MS) * DAY_MS;
  return { day: new Date(from).toISOString().slice(0, 10), from, to: from + DAY_MS };
}

export function assembleDailySummary(facts: DailyFacts, now: number, criteria: RankCriteria = DEFAULT_RANK_CRITERIA): DailySummary {
  const passed = facts.results.filter((r) => passesOosGate(r, criteria)).length;
  const byKind: Record<string, number> = {};
  let failureTotal = 0;
  for (const f of facts.failures) {
    byKind[f.kind] = (byKind[f.kind] ?? 0) + f.count;
    failureTotal += f.count;
  }
  const byPath: Record<string, number> = {};
  let restartTotal = 0;
  for (const r of facts.restarts) {
    byPath[r.path] = r.count;
    restartTotal += r.count;
  }
  const o = facts.oldestLive;
  return {
    day: new Date(facts.from).toISOString().slice(0, 10),
    from: facts.from,
    to: facts.to,
    generatedAt: now,
    oosGate: oosGate(criteria).map((c) => `${c.metric} ${c.op} ${c.value}`).join(' and ') || '(none)',
    oos: {
      requested: facts.requested,
      completed: facts.completed,
      passed,
      failed: facts.results.length - passed,
      retried: facts.resends,
      deadLettered: facts.deadLettered,
    },
    failures: { total: failureTotal, byKind, byKindAndSource: facts.failures },
    latencyMs: { enqueueToComplete: summarize(facts.enqueueToCompleteMs), sendToComplete: summarize(facts.sendToCompleteMs) },
    restarts: { total: restartTotal, byPath },
    oldestPending: o ? { requestId: o.requestId, strategyName: o.strategyName, state: o.state, attempts: o.attempts, enqueuedAt: o.enqueuedAt, ageMs: Math.max(0, now - o.enqueuedAt) } : null,
  };
}

/** Human text for the CLI and the daily notification. */
export function formatDailySummary(s: DailySummary): string {
  const lines: string[] = [];
  // Long labels (actor paths) keep two spaces before their value.
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(Math.max(22, label.length + 2))}${value}`);
  lines.push(`shoal daily summary for ${s.day} (UTC), made ${isoTime(s.generatedAt)}`);
  if (s.storedAt !== undefined) lines.push(`  (the day is past retention: its figures were stored ${isoTime(s.storedAt)}, before its rows were deleted)`);
  lines.push('OOS requests');
  row('requested', String(s.oos.requested));
  row('completed', `${s.oos.completed} (passed ${s.oos.passed}, failed ${s.oos.failed}; gate ${s.oosGate})`);
  row('retried (re-sends)', String(s.oos.retried));
  row('dead-lettered', String(s.oos.deadLettered));
  lines.push('Latency of completed requests');
  row('enqueue -> result', formatLatency(s.latencyMs.enqueueToComplete));
  row('last send -> result', formatLatency(s.latencyMs.sendToComplete));
  lines.push(`Failures: ${s.failures.total}`);
  for (const [kind, n] of Object.entries(s.failures.byKind)) {
    const sources = s.failures.byKindAndSource.filter((f) => f.kind === kind).map((f) => `${f.source} ${f.count}`).join(', ');
    row(kind, `${n}  (${sources})`);
  }
  lines.push(`Restarts: ${s.restarts.total}`);
  for (const [path, n] of Object.entries(s.restarts.byPath)) row(path, String(n));
  const o = s.oldestPending;
  lines.push('Oldest pending request');
  if (o) {
    row('request', `${o.requestId} (${o.strategyName}, ${o.state}, ${o.attempts} attempt${o.attempts === 1 ? '' : 's'})`);
    row('enqueued', `${isoTime(o.enqueuedAt)}, ${formatDuration(o.ageMs)} ago`);
  } else {
    row('none', '');
  }
  return lines.map((l) => l.trimEnd()).join('\n');
}

function formatLatency(l: LatencySummary | null): string {
  if (!l) return 'no completed request';
  return `p50 ${formatDuration(l.p50)}  p95 ${formatDuration(l.p95)}  p99 ${formatDuration(l.p99)}  (n=${l.count}, max ${formatDuration(l.max)})`;
}

/** Milliseconds as a short human duration: 850 ms, 12.5 s, 3.2 min, 5.0 h, 2.1 d. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 2 * DAY_MS) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / DAY_MS).toFixed(1)} d`;
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
