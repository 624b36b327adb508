/**
 * Exponential backoff with jitter and a cap, as a pure function. Used by supervisors between
 * restarts and by senders between delivery attempts, so both share one definition.
 */
export interface BackoffPolicy {
  /** Delay before the second consecutive attempt (the first retry after a quiet period is immediate when `firstImmediate`). */
  readonly minMs: number;
  readonly maxMs: number;
  readonly factor: number;
  /** Relative jitter in [0, 1]: the delay is scaled by a factor drawn from [1 - jitter, 1 + jitter]. */
  readonly jitter: number;
  /** After this long without a failure, the consecutive-attempt count starts again at 0. */
  readonly resetAfterMs: number;
  /** Whether attempt 0 (the first after a quiet period) happens with no delay. */
  readonly firstImmediate: boolean;
}

export const defaultRestartBackoff: BackoffPolicy = Object.freeze({
  minMs: 10,
  maxMs: 5_000,
  factor: 2,
  jitter: 0.2,
  resetAfterMs: 10_000,
  firstImmediate: true,
});

/** No delay ever (OTP's behaviour). */
export const noBackoff: BackoffPolicy = Object.freeze({
  minMs: 0,
  maxMs: 0,
  factor: 1,
  jitter: 0,
  resetAfterMs: 0,
  firstImmediate: true,
});

/**
 * Delay before attempt number `attempt` (0-based count of consecutive failures so far).
 * `random` returns a number in [0, 1); passing it in keeps the function pure and testable.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  if (attempt < 0 || !Number.isFinite(attempt)) throw new RangeError(`backoff attempt must be a non-negative number, got ${attempt}`);
  if (policy.firstImmediate && attempt === 0) return 0;
  const exponent = policy.firstImmediate ? attempt - 1 : attempt;
  const base = Math.min(policy.maxMs, policy.minMs * Math.pow(policy.factor, exponent));
  if (policy.jitter === 0 || base === 0) return base;
  const scale = 1 - policy.jitter + 2 * policy.jitter * random();
  return Math.min(policy.maxMs, Math.max(0, Math.round(base * scale)));
}

/** The consecutive-attempt count to use now: reset to 0 when the last failure is older than the quiet period. */
export function consecutiveAttempts(previous: number, lastFailureAt: number | undefined, now: number, policy: BackoffPolicy): number {
  if (lastFailureAt === undefined) return 0;
  if (policy.resetAfterMs > 0 && now - lastFailureAt >= policy.resetAfterMs) return 0;
  return previous;
}

export function validateBackoffPolicy(p: BackoffPolicy, where: string): void {
  const bad = (field: string, why: string) => {
    throw new TypeError(`${where}: backoff.${field} ${why}`);
  };
  if (!(p.minMs >= 0)) bad('minMs', `must be >= 0, got ${p.minMs}`);
  if (!(p.maxMs >= p.minMs)) bad('maxMs', `must be >= minMs (${p.minMs}), got ${p.maxMs}`);
  if (!(p.factor >= 1)) bad('factor', `must be >= 1, got ${p.factor}`);
  if (!(p.jitter >= 0 && p.jitter <= 1)) bad('jitter', `must be in [0, 1], got ${p.jitter}`);
  if (!(p.resetAfterMs >= 0)) bad('resetAfterMs', `must be >= 0, got ${p.resetAfterMs}`);
}
