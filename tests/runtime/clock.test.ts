import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../runtime/clock.ts';

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
