/**
 * The OOS metrics, derived from what the db-writer committed (as the facade's events are): a
 * counter moves only once its effect is durable, and each one counts rows or outcomes the store
 * keeps, so a scrape and the store agree. Pure: the commit in, metric points out.
 */
import type { CommandOutcome, WriteCommand } from '../persistence/commands.ts';
import type { FailureKind } from '../persistence/schema.ts';
import { classifyServiceError } from '../protocol/index.ts';
import { passesOosGate, type RankCriteria } from '../domain/ranks.ts';
import type { MetricPoint } from '../telemetry/metrics.ts';

const SECOND = 1_000;

/** The result-handler's error text is `service error: <the service's text>`: the class is of the latter. */
function errorClass(text: string): string {
  return classifyServiceError(text.replace(/^service error: /, '')).category;
}

/** What a failed attempt counts for, beyond its retry or dead letter. */
function failurePoints(kind: FailureKind, error: string, out: MetricPoint[]): void {
  if (kind === 'timeout') out.push({ counter: 'timedOut', value: 1 });
  else if (kind === 'error_result') out.push({ counter: 'errorResults', value: 1, attributes: { class: errorClass(error) } });
}

/** The metric points of one committed batch; `at` is the commit's time (Unix ms). */
export function metricsFromCommit(commands: readonly WriteCommand[], outcomes: readonly CommandOutcome[], at: number, criteria?: RankCriteria): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (let i = 0; i < commands.length; i++) {
    const c = commands[i];
    const o = outcomes[i];
    if (o === undefined || o.status === 'error') continue;
    switch (c.type) {
      case 'enqueueRequest':
        if (o.status === 'enqueued') out.push({ counter: 'enqueued', value: 1 });
        break;
      case 'claimDue':
        if (o.type === 'claimDue' && o.requests.length > 0) {
          out.push({ counter: 'sent', value: o.requests.length });
          for (const r of o.requests) out.push({ histogram: 'queueDwell', seconds: Math.max(0, at - r.nextAttemptAt) / SECOND });
        }
        break;
      case 'releaseClaim':
        if (o.status === 'released') out.push({ counter: 'released', value: 1 });
        break;
      case 'retryRequest':
        if (o.status === 'retried') {
          out.push({ counter: 'retried', value: 1, attributes: { failure_kind: c.failureKind } });
          failurePoints(c.failureKind, c.error, out);
        }
        break;
      case 'deadLetterRequest':
        if (o.status === 'dead_lettered') {
          out.push({ counter: 'deadLettered', value: 1, attributes: { kind: 'request' } });
          failurePoints(c.failureKind, c.error, out);
        }
        break;
      case 'insertDeadLetter':
        out.push({ counter: 'deadLettered', value: 1, attributes: { kind: 'message' } });
        break;
      case 'claimDeadLettersForReplay':
        if (o.type === 'claimDeadLettersForReplay' && o.letters.length > 0) out.push({ counter: 'replayed', value: o.letters.length });
        break;
      case 'recordFailure':
        // Error results for requests no longer live (or unknown) are recorded, not retried.
        if (c.kind === 'error_result') out.push({ counter: 'errorResults', value: 1, attributes: { class: errorClass(c.detail ?? '') } });
        else if (c.kind === 'data_invalid') out.push({ counter: 'gateRejections', value: 1 });
        break;
      case 'applyResult':
        if (o.type !== 'applyResult') break;
        if (o.status === 'applied') {
          out.push({ counter: 'completed', value: 1 });
          out.push({ counter: passesOosGate(c.result, criteria) ? 'passed' : 'failed', value: 1 });
          out.push({ histogram: 'endToEnd', seconds: Math.max(0, at - o.enqueuedAt) / SECOND });
          if (o.sentAt !== null) out.push({ histogram: 'attemptLatency', seconds: Math.max(0, at - o.sentAt) / SECOND });
        } else if (o.status === 'duplicate') out.push({ counter: 'duplicates', value: 1 });
        else out.push({ counter: 'orphans', value: 1 });
        break;
      default:
        break;
    }
  }
  return out;
}
