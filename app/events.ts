/**
 * The facade's events, derived from what the db-writer committed: a result applied, a request
 * given up, a dead letter stored, a rank changed. Deriving them from the commit (not from the
 * actors) means an event is told only once its effect is durable, and no actor knows the facade.
 */
import type { CommandOutcome, WriteCommand } from '../persistence/commands.ts';
import { resultFromMetrics, type ShoalEvent } from './api.ts';

export function eventsFromCommit(commands: readonly WriteCommand[], outcomes: readonly CommandOutcome[]): ShoalEvent[] {
  const events: ShoalEvent[] = [];
  for (let i = 0; i < commands.length; i++) {
    const c = commands[i];
    const o = outcomes[i];
    if (o === undefined) continue;
    if (c.type === 'applyResult' && o.type === 'applyResult' && o.status === 'applied') {
      events.push({ type: 'result', status: 'done', requestId: o.requestId, strategyName: o.strategyName, result: resultFromMetrics(c.result) });
    } else if (c.type === 'deadLetterRequest' && o.type === 'deadLetterRequest' && o.status === 'dead_lettered') {
      const status = c.retryable === false ? 'failed' : 'deadLettered';
      events.push({ type: 'failed', status, requestId: o.requestId, strategyName: o.strategyName, reason: c.error, deadLetterId: o.deadLetterId });
      events.push({ type: 'deadLettered', deadLetterId: o.deadLetterId, source: c.source, requestId: o.requestId, reason: c.error });
    } else if (c.type === 'insertDeadLetter' && o.type === 'insertDeadLetter' && o.status === 'inserted') {
      events.push({ type: 'deadLettered', deadLetterId: o.id, source: c.source, ...(c.requestId ? { requestId: c.requestId } : {}), reason: c.error });
    } else if (c.type === 'deadForward' && o.type === 'deadForward' && o.status === 'dead_lettered') {
      events.push({ type: 'deadLettered', deadLetterId: o.deadLetterId, source: c.source, requestId: o.requestId, reason: c.error });
    } else if (c.type === 'recordFailure' && c.kind === 'connection_refused' && o.type === 'recordFailure') {
      events.push({ type: 'connectionRefused', source: c.source, detail: c.detail ?? '' });
    } else if (c.type === 'changeRank' && o.type === 'changeRank' && o.status === 'changed') {
      events.push({ type: 'rankChanged', strategyName: o.name, from: o.from, to: o.to, reason: c.reason });
    }
  }
  return events;
}
