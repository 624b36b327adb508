/**
 * The retry decision after a failed attempt, as a table: retry with backoff while attempts
 * remain, dead at the cap with the reason, dead at once when not retryable; jitter stays within
 * its bounds. Randomness is injected, so every row is exact.
 */
import { describe, expect, it } from 'vitest';
import { decideAfterFailure, defaultRetryPolicy, type RetryPolicy } from '../../domain/retry-policy.ts';

const NOW = 1_700_000_000_000;
/** min 1 s, x4 per attempt, capped at 60 s, no jitter unless a row adds it. */
const POLICY: RetryPolicy = { maxAttempts: 4, backoff: { minMs: 1_000, maxMs: 60_000, factor: 4, jitter: 0, resetAfterMs: 0, firstImmediate: false } };
const withJitter = (jitter: number): RetryPolicy => ({ ...POLICY, backoff: { ...POLICY.backoff, jitter } });
const middle = () => 0.5;

describe('retry policy: the decision after a failed attempt', () => {
  it.each([
    { attempts: 1, delay: 1_000 },
    { attempts: 2, delay: 4_000 },
    { attempts: 3, delay: 16_000 },
  ])('after $attempts of 4 attempts: retry $delay ms later (backoff grows by the factor)', ({ attempts, delay }) => {
    expect(decideAfterFailure(attempts, NOW, POLICY, true, middle)).toEqual({ action: 'retry', nextAttemptAt: NOW + delay });
  });

  it('the backoff stops growing at its cap', () => {
    const many: RetryPolicy = { ...POLICY, maxAttempts: 10 };
    expect(decideAfterFailure(5, NOW, many, true, middle)).toEqual({ action: 'retry', nextAttemptAt: NOW + 60_000 });
    expect(decideAfterFailure(9, NOW, many, true, middle)).toEqual({ action: 'retry', nextAttemptAt: NOW + 60_000 });
  });

  it('at the cap the request is dead, and the reason says how many attempts were used', () => {
    expect(decideAfterFailure(4, NOW, POLICY, true, middle)).toEqual({ action: 'dead', reason: '4 of 4 attempts used' });
    expect(decideAfterFailure(6, NOW, POLICY, true, middle)).toEqual({ action: 'dead', reason: '6 of 4 attempts used' });
  });

  it('a failure that is not retryable is dead at once, whatever attempts remain', () => {
    expect(decideAfterFailure(1, NOW, POLICY, false, middle)).toEqual({ action: 'dead', reason: 'not retryable' });
  });

  it('one attempt in all: the first failure is the last', () => {
    expect(decideAfterFailure(1, NOW, { ...POLICY, maxAttempts: 1 }, true, middle)).toEqual({ action: 'dead', reason: '1 of 1 attempts used' });
  });

  it('jitter scales the delay within [1 - jitter, 1 + jitter], from the injected random', () => {
    const policy = withJitter(0.2);
    const delayWith = (r: number) => {
      const d = decideAfterFailure(2, NOW, policy, true, () => r);
      if (d.action !== 'retry') throw new Error(`expected a retry, got ${JSON.stringify(d)}`);
      return d.nextAttemptAt - NOW;
    };
    expect(delayWith(0)).toBe(3_200); // 4 s x 0.8, the lowest
    expect(delayWith(0.5)).toBe(4_000);
    expect(delayWith(0.999_999)).toBe(4_800); // just under 4 s x 1.2, rounded
    for (let r = 0; r < 1; r += 0.01) {
      const d = delayWith(r);
      expect(d).toBeGreaterThanOrEqual(3_200);
      expect(d).toBeLessThanOrEqual(4_800);
    }
  });

  it('jitter never pushes a delay past the cap', () => {
    const capped: RetryPolicy = { maxAttempts: 10, backoff: { ...POLICY.backoff, jitter: 0.5 } };
    expect(decideAfterFailure(8, NOW, capped, true, () => 0.999_999)).toEqual({ action: 'retry', nextAttemptAt: NOW + 60_000 });
  });

  it('the default: 5 attempts, the first retry 1 s later at the middle of its jitter', () => {
    expect(defaultRetryPolicy.maxAttempts).toBe(5);
    const first = decideAfterFailure(1, NOW, defaultRetryPolicy, true, middle);
    expect(first).toEqual({ action: 'retry', nextAttemptAt: NOW + 1_000 });
    expect(decideAfterFailure(5, NOW, defaultRetryPolicy, true, middle)).toEqual({ action: 'dead', reason: '5 of 5 attempts used' });
  });
});
