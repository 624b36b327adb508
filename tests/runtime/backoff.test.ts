import { describe, expect, it } from 'vitest';
import { backoffDelay, consecutiveAttempts, defaultRestartBackoff, validateBackoffPolicy, type BackoffPolicy } from '../../runtime/backoff.ts';

const policy: BackoffPolicy = { minMs: 100, maxMs: 1_000, factor: 2, jitter: 0, resetAfterMs: 5_000, firstImmediate: true };

describe('backoffDelay', () => {
  it('restarts immediately after a quiet period, then doubles from minMs up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy))).toEqual([0, 100, 200, 400, 800, 1_000, 1_000]);
  });

  it('starts at minMs when the first attempt is not immediate', () => {
    expect([0, 1, 2].map((n) => backoffDelay(n, { ...policy, firstImmediate: false }))).toEqual([100, 200, 400]);
  });

  it('keeps jittered delays within [1 - jitter, 1 + jitter] of the base and under the cap', () => {
    const p = { ...policy, jitter: 0.2 };
    expect(backoffDelay(2, p, () => 0)).toBe(160);
    expect(backoffDelay(2, p, () => 0.999999)).toBe(240);
    expect(backoffDelay(10, p, () => 0.999999)).toBe(1_000);
  });

  it('rejects a negative attempt count', () => {
    expect(() => backoffDelay(-1, policy)).toThrow(/non-negative/);
  });
});

describe('consecutiveAttempts', () => {
  it('resets the count after resetAfterMs without failure', () => {
    expect(consecutiveAttempts(3, 1_000, 5_999, policy)).toBe(3);
    expect(consecutiveAttempts(3, 1_000, 6_000, policy)).toBe(0);
    expect(consecutiveAttempts(3, undefined, 6_000, policy)).toBe(0);
  });
});

describe('validateBackoffPolicy', () => {
  it('names the bad field', () => {
    expect(() => validateBackoffPolicy({ ...defaultRestartBackoff, maxMs: 1 }, 'supervisor /x')).toThrow('supervisor /x: backoff.maxMs must be >= minMs (10), got 1');
    expect(() => validateBackoffPolicy({ ...defaultRestartBackoff, jitter: 2 }, 'w')).toThrow(/backoff.jitter/);
  });
});
