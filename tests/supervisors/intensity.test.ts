import { describe, expect, it } from 'vitest';
import { checkIntensity, restartsInWindow } from '../../supervisors/index.ts';

describe('checkIntensity', () => {
  it('allows up to `intensity` restarts inside the period', () => {
    expect(checkIntensity([], 1_000, 1, 5_000).decision).toBe('restart');
    expect(checkIntensity([1_000], 2_000, 2, 5_000)).toEqual({ decision: 'restart', history: [1_000, 2_000] });
  });

  it('gives up on one restart more than `intensity` inside the period', () => {
    expect(checkIntensity([1_000], 5_999, 1, 5_000).decision).toBe('give_up');
  });

  it('forgets restarts that left the sliding window', () => {
    expect(checkIntensity([1_000], 6_000, 1, 5_000)).toEqual({ decision: 'restart', history: [6_000] });
  });

  it('with intensity 0 gives up on the first restart', () => {
    expect(checkIntensity([], 0, 0, 5_000).decision).toBe('give_up');
  });

  it('lists the restarts still inside the window', () => {
    expect(restartsInWindow([1, 2, 7_000], 8_000, 5_000)).toEqual([7_000]);
  });
});
