import { describe, expect, it } from 'vitest';
import { RingQueue } from '../../runtime/ring-queue.ts';

describe('RingQueue', () => {
  it('keeps FIFO order across growth and wrap-around', () => {
    const q = new RingQueue<number, string>(2);
    for (let i = 0; i < 10; i++) q.push(i, `s${i}`);
    for (let i = 0; i < 5; i++) expect(q.shift()).toBe(i);
    for (let i = 10; i < 40; i++) q.push(i, `s${i}`);
    expect(q.length).toBe(35);
    expect(q.peekAux()).toBe('s5');
    expect(q.at(1)).toBe(6);
    const rest = q.drain().map((e) => e.item);
    expect(rest).toEqual(Array.from({ length: 35 }, (_, k) => k + 5));
    expect(q.length).toBe(0);
  });

  it('leaves the queue untouched when only peeking at the head', () => {
    const q = new RingQueue<string>();
    q.push('a');
    q.push('b');
    expect(q.peek()).toBe('a');
    expect(q.peek()).toBe('a');
    expect(q.length).toBe(2);
  });
});
