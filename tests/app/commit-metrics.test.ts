/** Metrics from a committed batch: each counts an outcome the store keeps, only when it took effect. */
import { describe, expect, it } from 'vitest';
import { metricsFromCommit } from '../../app/commit-metrics.ts';
import type { CommandOutcome, WriteCommand } from '../../persistence/commands.ts';
import type { MetricSink } from '../../telemetry/metrics.ts';
import type { Attributes } from '@opentelemetry/api';

type Point = { counter: string; value: number; attributes?: Attributes } | { histogram: string; seconds: number; attributes?: Attributes };

/** What metricsFromCommit puts into its sink, in order. */
function pointsOf(commands: WriteCommand[], outcomes: CommandOutcome[], at: number): Point[] {
  const points: Point[] = [];
  const sink: MetricSink = {
    count: (counter, value, attributes) => points.push({ counter, value, ...(attributes ? { attributes } : {}) }),
    observe: (histogram, seconds, attributes) => points.push({ histogram, seconds, ...(attributes ? { attributes } : {}) }),
  };
  metricsFromCommit(commands, outcomes, at, sink);
  return points;
}

const at = 1_700_000_010_000;
const result = { trades: 300, sharpe: 0.5, maxDd: 0.05, winRate: 0.55, profitFactor: 1.6 };

describe('metricsFromCommit', () => {
  it('a failed attempt counts its retry by kind, a timeout, and an error result by the class of the service\'s text', () => {
    const commands: WriteCommand[] = [
      { type: 'retryRequest', requestId: 'a', nextAttemptAt: at, error: 'no result within the 100 ms lease (attempt 1)', failureKind: 'timeout' },
      { type: 'retryRequest', requestId: 'b', nextAttemptAt: at, error: 'service error: No data available', failureKind: 'error_result' },
      { type: 'retryRequest', requestId: 'c', nextAttemptAt: at, error: 'x', failureKind: 'timeout' },
    ];
    const outcomes: CommandOutcome[] = [
      { type: 'retryRequest', status: 'retried', requestId: 'a', attempts: 1, nextAttemptAt: at },
      { type: 'retryRequest', status: 'retried', requestId: 'b', attempts: 1, nextAttemptAt: at },
      { type: 'retryRequest', status: 'not_live', requestId: 'c', state: 'done' },
    ];
    expect(pointsOf(commands, outcomes, at)).toEqual([
      { counter: 'retried', value: 1, attributes: { failure_kind: 'timeout' } },
      { counter: 'timedOut', value: 1 },
      { counter: 'retried', value: 1, attributes: { failure_kind: 'error_result' } },
      { counter: 'errorResults', value: 1, attributes: { class: 'no-data' } },
    ]);
  });

  it('an applied result counts completed and its OOS verdict, and observes end-to-end and attempt latency in seconds; a duplicate and an orphan count as such', () => {
    const commands: WriteCommand[] = [
      { type: 'applyResult', requestId: 'a', result },
      { type: 'applyResult', requestId: 'a', result },
      { type: 'applyResult', requestId: 'z', result: { ...result, sharpe: 0.1 } },
    ];
    const outcomes: CommandOutcome[] = [
      { type: 'applyResult', status: 'applied', requestId: 'a', strategyName: 'S', previousState: 'in_flight', strategyUpdated: true, changeSeq: 2, tradesInserted: 0, forward: false, enqueuedAt: at - 10_000, sentAt: at - 250, traceparent: null },
      { type: 'applyResult', status: 'duplicate', requestId: 'a' },
      { type: 'applyResult', status: 'orphan', requestId: 'z' },
    ];
    expect(pointsOf(commands, outcomes, at)).toEqual([
      { counter: 'completed', value: 1 },
      { counter: 'passed', value: 1 },
      { histogram: 'endToEnd', seconds: 10 },
      { histogram: 'attemptLatency', seconds: 0.25 },
      { counter: 'duplicates', value: 1 },
      { counter: 'orphans', value: 1 },
    ]);
  });

  it('a command that failed on its own data counts nothing', () => {
    const commands: WriteCommand[] = [{ type: 'enqueueRequest', strategyName: 'S', payload: {} }];
    const outcomes: CommandOutcome[] = [{ type: 'enqueueRequest', status: 'error', error: 'enqueueRequest strategy=S: no such strategy' }];
    expect(pointsOf(commands, outcomes, at)).toEqual([]);
  });
});
