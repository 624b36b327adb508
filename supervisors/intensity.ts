/**
 * Restart intensity, OTP's sliding window: a supervisor may restart children at most `intensity`
 * times within any `periodMs`; one restart more and it gives up. Pure: history in, decision out.
 */
export interface IntensityDecision {
  readonly decision: 'restart' | 'give_up';
  /** Restart times still inside the window, including this one. */
  readonly history: number[];
}

export function checkIntensity(history: readonly number[], now: number, intensity: number, periodMs: number): IntensityDecision {
  const window = history.filter((t) => now - t < periodMs);
  window.push(now);
  return { decision: window.length > intensity ? 'give_up' : 'restart', history: window };
}

/** The restart times that still count at `now` (for introspection). */
export function restartsInWindow(history: readonly number[], now: number, periodMs: number): number[] {
  return history.filter((t) => now - t < periodMs);
}
