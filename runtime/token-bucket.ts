/** A token bucket as a pure value: `ratePerSec` tokens accrue continuously up to `burst`. */
export interface TokenBucket {
  readonly tokens: number;
  readonly at: number;
}

export function refill(bucket: TokenBucket, now: number, ratePerSec: number, burst: number): TokenBucket {
  const elapsed = Math.max(0, now - bucket.at);
  return { tokens: Math.min(burst, bucket.tokens + (elapsed * ratePerSec) / 1_000), at: now };
}

/** Milliseconds until one whole token is available. */
export function msUntilToken(bucket: TokenBucket, now: number, ratePerSec: number, burst: number): number {
  const b = refill(bucket, now, ratePerSec, burst);
  return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) * 1_000) / ratePerSec);
}
