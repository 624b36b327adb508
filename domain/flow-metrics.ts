/**
 * The flow's figures over a period, from the durable timestamps of its requests: throughput, and
 * p50/p95/p99 of queue dwell (enqueued -> first sent), attempt latency (last send -> result) and
 * end-to-end latency (enqueued -> result). Pure: the rows come from persistence/flow-metrics.ts.
 */
import { summarize, type LatencySummary } from './percentiles.ts';

/** One request's timestamps (Unix ms), as stored. */
export interface RequestTimes {
  readonly enqueuedAt: number;
  readonly firstSentAt: number | null;
  readonly lastSentAt: number | null;
  readonly completedAt: number | null;
}

export interface FlowMetrics {
  /** The period [from, to), Unix ms. */
  readonly from: number;
  readonly to: number;
  /** Requests enqueued, first sent and completed with a result in the period. */
  readonly enqueued: number;
  readonly sent: number;
  readonly completed: number;
  /** Completed per minute over the period. */
  readonly completedPerMinute: number;
  /** enqueued -> first send, of requests first sent in the period. */
  readonly queueDwellMs: LatencySummary | null;
  /** last send -> result, of requests completed in the period. */
  readonly attemptMs: LatencySummary | null;
  /** enqueued -> result, of requests completed in the period. */
  readonly endToEndMs: LatencySummary | null;
}

const within = (t: number | null, from: number, to: number): t is number => t !== null && t >= from && t < to;

/** The figures of [from, to) from the timestamps of the requests that have any of them in it. */
export function flowMetrics(rows: readonly RequestTimes[], from: number, to: number): FlowMetrics {
  if (!(to > from)) throw new RangeError(`flowMetrics: the period must not be empty (from ${from}, to ${to})`);
  const dwell: number[] = [];
  const attempt: number[] = [];
  const endToEnd: number[] = [];
  let enqueued = 0;
  for (const r of rows) {
    if (within(r.enqueuedAt, from, to)) enqueued++;
    if (within(r.firstSentAt, from, to)) dwell.push(Math.max(0, r.firstSentAt - r.enqueuedAt));
    if (within(r.completedAt, from, to)) {
      endToEnd.push(Math.max(0, r.completedAt - r.enqueuedAt));
      if (r.lastSentAt !== null) attempt.push(Math.max(0, r.completedAt - r.lastSentAt));
    }
  }
  return {
    from,
    to,
    enqueued,
    sent: dwell.length,
    completed: endToEnd.length,
    completedPerMinute: endToEnd.length / ((to - from) / 60_000),
    queueDwellMs: summarize(dwell),
    attemptMs: summarize(attempt),
    endToEndMs: summarize(endToEnd),
  };
}

/** A duration as 90s, 15m, 2h, 7d (or plain milliseconds); undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms']!;
  const ms = Math.round(Number(m[1]) * unit);
  return ms > 0 ? ms : undefined;
}
