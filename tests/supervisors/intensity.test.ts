import { describe, expect, it } from 'vitest';
import { RingQueue } from '../../runtime/ring-queue.ts';
import { recordRestart, restartsInWindow } from '../../supervisors/index.ts';

function windowOf(...times: number[]): RingQueue<number> {
  const w = new RingQueue<number>();
  for (const t of times) w.push(t);
  return w;
}

describe('recordRestart', () => {
  it('allows up to `intensity` restarts inside the period', () => {
    expect(recordRestart(windowOf(), 1_000, 1, 5_000)).toBe('restart');
    const w = windowOf(1_000);
    expect(recordRestart(w, 2_000, 2, 5_000)).toBe('restart');
    expect(restartsInWindow(w, 2_000, 5_000)).toEqual([1_000, 2_000]);
  });

  it('gives up on one restart more than `intensity` inside the period', () => {
    expect(recordRestart(windowOf(1_000), 5_999, 1, 5_000)).toBe('give_up');
  });

  it('forgets restarts that left the sliding window', () => {
    const w = windowOf(1_000);
    expect(recordRestart(w, 6_000, 1, 5_000)).toBe('restart');
    expect(restartsInWindow(w, 6_000, 5_000)).toEqual([6_000]);
  });

  it('with intensity 0 gives up on the first restart', () => {
    expect(recordRestart(windowOf(), 0, 0, 5_000)).toBe('give_up');
  });

  it('keeps at most intensity + 1 entries however many restarts happen', () => {
    const w = windowOf();
    for (let t = 0; t < 10_000; t++) recordRestart(w, t, 3, 1_000_000);
    expect(w.length).toBe(4);
  });

  it('lists only the restarts still inside the window', () => {
    expect(restartsInWindow(windowOf(1, 2, 7_000), 8_000, 5_000)).toEqual([7_000]);
  });
});
