/**
 * Decode limits. The defaults fit real traffic (a result with a 500-trade trade_list is about
 * 40 KB, nesting depth 7) with wide margin, and refuse frames built to exhaust memory or stack.
 */
export interface CodecLimits {
  /** Largest accepted frame, in UTF-8 bytes. */
  readonly maxFrameBytes: number;
  /** Deepest accepted list nesting; the outermost list is depth 1. */
  readonly maxDepth: number;
  /** Most elements accepted in any one list. */
  readonly maxListLength: number;
}

export const DEFAULT_LIMITS: CodecLimits = Object.freeze({
  maxFrameBytes: 1024 * 1024,
  maxDepth: 32,
  maxListLength: 10_000,
});

/** Fills unspecified limits from the defaults (no allocation in the common no-override case). */
export function resolveLimits(overrides?: Partial<CodecLimits>): CodecLimits {
  if (overrides === undefined) return DEFAULT_LIMITS;
  return {
    maxFrameBytes: overrides.maxFrameBytes ?? DEFAULT_LIMITS.maxFrameBytes,
    maxDepth: overrides.maxDepth ?? DEFAULT_LIMITS.maxDepth,
    maxListLength: overrides.maxListLength ?? DEFAULT_LIMITS.maxListLength,
  };
}
