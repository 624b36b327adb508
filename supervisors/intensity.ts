import type { RingQueue } from '../runtime/ring-queue.ts';

/**
 * Restart intensity, OTP's sliding window: a supervisor may restart children at most `intensity`
 * times within any `periodMs`; one restart more and it gives up.
 *
 * `window` holds restart times oldest first. Expired times leave from the front and only the
 * newest intensity + 1 are kept, so a decision costs amortised O(1) however many restarts the
 * window allows (copying the history at every crash made crash storms quadratic).
 */
export function recordRestart(window: RingQueue<number>, now: number, intensity: number, periodMs: number): 'restart' | 'give_up' {
  while (window.length > 0 && now - window.peek() >= periodMs) window.drop();
  window.push(now);
  while (window.length > intensity + 1) window.drop();
  return window.length > intensity ? 'give_up' : 'restart';
}

/** The restart times that still count at `now` (for introspection). */
export function restartsInWindow(window: RingQueue<number>, now: number, periodMs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < window.length; i++) {
    const t = window.at(i);
    if (now - t < periodMs) out.push(t);
  }
  return out;
}
