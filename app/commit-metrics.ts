/**
 * The OOS metrics, derived from what the db-writer committed (as the facade's events are): a
 * counter moves only once its effect is durable, and each one counts rows or outcomes the store
 * keeps, so a scrape and the store agree. The commit in, counts and observations out into a sink
 * and no other effect (a sink rather than a list of points: nothing is allocated per point).
 */
import type { CommandOutcome, WriteCommand } from '../persistence/commands.ts';
import type { FailureKind } from '../persistence/schema.ts';
import { classifyServiceError } from '../protocol/index.ts';
import { passesOosGate, type RankCriteria } from '../domain/ranks.ts';
import type { MetricSink } from '../telemetry/metrics.ts';

const SECOND = 1_000;

/** The result-handler's error text is `service error: <the service's text>`: the class is of the latter. */
function errorClass(text: string): string {
  return classifyServiceError(text.replace(/^service error: /, '')).category;
}

/** What a failed attempt counts for, beyond its retry or dead letter. */
function failurePoints(kind: FailureKind, error: string, out: MetricSink): void {
  if (kind === 'timeout') out.count('timedOut', 1);
  else if (kind === 'error_result') out.count('errorResults', 1, { class: errorClass(error) });
}

/** The metrics of one committed batch, into `out`; `at` is the commit's time (Unix ms). */
export function metricsFromCommit(commands: readonly WriteCommand[], outcomes: readonly CommandOutcome[], at: number, out: MetricSink, criteria?: RankCriteria): void {
  for (let i = 0; i < commands.length; i++) {
    const c = commands[i];
    const o = outcomes[i];
    if (o === undefined || o.status === 'error') continue;
    switch (c.type) {
      case 'enqueueRequest':
        if (o.status === 'enqueued') out.count('enqueued', 1);
        break;
      case 'claimDue':
        if (o.type === 'claimDue' && o.requests.length > 0) {
          out.count('sent', o.requests.length);
          for (const r of o.requests) out.observe('queueDwell', Math.max(0, at - r.nextAttemptAt) / SECOND);
        }
        break;
      case 'releaseClaim':
        if (o.status === 'released') out.count('released', 1);
        break;
      case 'retryRequest':
        if (o.status === 'retried') {
          out.count('retried', 1, { failure_kind: c.failureKind });
          failurePoints(c.failureKind, c.error, out);
        }
        break;
      case 'deadLetterRequest':
        if (o.status === 'dead_lettered') {
          out.count('deadLettered', 1, { kind: 'request' });
          failurePoints(c.failureKind, c.error, out);
        }
        break;
      case 'insertDeadLetter':
        out.count('deadLettered', 1, { kind: 'message' });
        break;
      case 'claimDeadLettersForReplay':
        if (o.type === 'claimDeadLettersForReplay' && o.letters.length > 0) out.count('replayed', o.letters.length);
        break;
      case 'recordFailure':
        // Error results for requests no longer live (or unknown) are recorded, not retried.
        if (c.kind === 'error_result') out.count('errorResults', 1, { class: errorClass(c.detail ?? '') });
        else if (c.kind === 'data_invalid') out.count('gateRejections', 1);
        break;
      case 'applyResult':
        if (o.type !== 'applyResult') break;
        if (o.status === 'applied') {
          out.count('completed', 1);
          out.count(passesOosGate(c.result, criteria) ? 'passed' : 'failed', 1);
          out.observe('endToEnd', Math.max(0, at - o.enqueuedAt) / SECOND);
          if (o.sentAt !== null) out.observe('attemptLatency', Math.max(0, at - o.sentAt) / SECOND);
        } else if (o.status === 'duplicate') out.count('duplicates', 1);
        else out.count('orphans', 1);
        break;
      default:
        break;
    }
  }
}
