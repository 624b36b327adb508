import { describe, expect, it } from 'vitest';
import { ManualClock, SystemClock } from '../../runtime/clock.ts';
import { backoffDelay } from '../../runtime/backoff.ts';

describe('ManualClock', () => {
  it('fires timers in due order, with now() at each due time, only when advanced', () => {
    const clock = new ManualClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    const c = clock.setTimeout(() => fired.push('c'), 15);
    clock.clearTimeout(c);
    expect(fired).toEqual([]);
    clock.advance(15);
    expect(fired).toEqual(['a@1010']);
    clock.advance(5);
    expect(fired).toEqual(['a@1010', 'b@1020']);
    expect(clock.now()).toBe(1_020);
  });

  it('fires timers set by timers when they fall inside the advanced span', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
    }, 5);
    clock.advance(10);
    expect(fired).toEqual([5, 10]);
  });

  it('refuses to go back in time', () => {
    const clock = new ManualClock(100);
    expect(() => clock.setTime(50)).toThrow(/back in time/);
  });
});

describe('SystemClock: deadlines on monotonic time', () => {
  /** A wall clock and a monotonic clock the test moves independently, as an NTP step would. */
  function sources(wall = 1_700_000_000_000) {
    const t = { wall, mono: 5_000.25 };
    return { t, clock: new SystemClock({ wall: () => t.wall, monotonic: () => t.mono }) };
  }
  const pass = (t: { wall: number; mono: number }, ms: number) => {
    t.wall += ms;
    t.mono += ms;
  };

  it('starts at the wall time (Unix ms, whole) and moves with monotonic time', () => {
    const { t, clock } = sources();
    expect(clock.now()).toBe(1_700_000_000_000);
    pass(t, 1_234.6);
    expect(clock.now()).toBe(1_700_000_001_234);
  });

  it('a forward wall-clock jump of 1 h does not expire a 2 s lease that has 1 s left', () => {
    const { t, clock } = sources();
    const leaseUntil = clock.now() + 2_000;
    pass(t, 1_000);
    t.wall += 3_600_000;
    expect(clock.now()).toBeLessThan(leaseUntil);
    expect(leaseUntil - clock.now()).toBe(1_000);
    expect(clock.wallSkewMs()).toBe(3_600_000);
  });

  it("a backward wall-clock jump of 1 h does not delay a retry's backoff", () => {
    const { t, clock } = sources();
    const nextAttemptAt = clock.now() + backoffDelay(0, { minMs: 400, maxMs: 400, factor: 2, jitter: 0, resetAfterMs: 0, firstImmediate: false });
    t.wall -= 3_600_000;
    pass(t, 400);
    expect(clock.now()).toBeGreaterThanOrEqual(nextAttemptAt);
    expect(clock.wallSkewMs()).toBe(-3_600_000);
  });

  it('never goes back, whatever the wall clock does', () => {
    const { t, clock } = sources();
    const seen: number[] = [];
    for (const step of [3_600_000, -7_200_000, 5, -1, 0]) {
      t.wall += step;
      t.mono += 1;
      seen.push(clock.now());
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)! - seen[0]).toBe(4);
  });
});
