import { describe, expect, it } from 'vitest';
import { msUntilToken, refill } from '../../runtime/token-bucket.ts';

describe('token bucket', () => {
  it('accrues ratePerSec tokens per second, continuously', () => {
    expect(refill({ tokens: 0, at: 0 }, 250, 8, 8)).toEqual({ tokens: 2, at: 250 });
  });

  it('never holds more than the burst', () => {
    expect(refill({ tokens: 3, at: 0 }, 10_000, 10, 5).tokens).toBe(5);
  });

  it('does not accrue when time goes backwards', () => {
    expect(refill({ tokens: 1, at: 1_000 }, 500, 10, 5).tokens).toBe(1);
  });

  it('tells how long until the next whole token', () => {
    expect(msUntilToken({ tokens: 0, at: 0 }, 0, 4, 4)).toBe(250);
    expect(msUntilToken({ tokens: 0.5, at: 0 }, 0, 4, 4)).toBe(125);
    expect(msUntilToken({ tokens: 1, at: 0 }, 0, 4, 4)).toBe(0);
  });
});
