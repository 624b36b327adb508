/**
 * What happens to a request after a failed attempt (send failure, timeout, retryable error
 * result): another attempt after an exponential backoff with jitter, or the dead-letter mailbox
 * once `maxAttempts` attempts were made. Pure: policy and history in, decision out.
 */
import { type BackoffPolicy, backoffDelay } from '../runtime/backoff.ts';

export interface RetryPolicy {
  /** Attempts (sends) a request gets in all. Default 5. */
  readonly maxAttempts: number;
  /** Delay before attempt n+1 after n failed ones. */
  readonly backoff: BackoffPolicy;
}

export const defaultRetryPolicy: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  backoff: Object.freeze({ minMs: 1_000, maxMs: 120_000, factor: 4, jitter: 0.2, resetAfterMs: 0, firstImmediate: false }),
});

export type AttemptDecision = { readonly action: 'retry'; readonly nextAttemptAt: number } | { readonly action: 'dead'; readonly reason: string };

/** `attempts`: sends made so far (including the one that just failed). `retryable`: false sends it straight to the dead letters. */
export function decideAfterFailure(attempts: number, now: number, policy: RetryPolicy, retryable = true, random: () => number = Math.random): AttemptDecision {
  if (!retryable) return { action: 'dead', reason: 'not retryable' };
  if (attempts >= policy.maxAttempts) return { action: 'dead', reason: `${attempts} of ${policy.maxAttempts} attempts used` };
  return { action: 'retry', nextAttemptAt: now + backoffDelay(Math.max(0, attempts - 1), policy.backoff, random) };
}
