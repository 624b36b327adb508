/**
 * How many cases a fuzz property runs: a few thousand in the suite, `SHOAL_FUZZ_RUNS` (the long
 * form, `npm run fuzz`, sets 100,000) when given. `SHOAL_FUZZ_SEED` replays a reported failure;
 * fast-check prints the seed and the shrunk counterexample of any failing run.
 */
import type fc from 'fast-check';

export function fuzzRuns(suiteRuns: number, env: Record<string, string | undefined> = process.env): number {
  const raw = env.SHOAL_FUZZ_RUNS;
  if (raw === undefined || raw === '') return suiteRuns;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`SHOAL_FUZZ_RUNS must be a positive whole number, got '${raw}'`);
  return n;
}

/** fast-check parameters for a fuzz property: its run count, and the seed when one is given. */
export function fuzzParams<T>(suiteRuns: number, env: Record<string, string | undefined> = process.env): fc.Parameters<T> {
  const seed = env.SHOAL_FUZZ_SEED;
  return { numRuns: fuzzRuns(suiteRuns, env), ...(seed ? { seed: Number(seed) } : {}) };
}

/** A long form runs many more cases: its tests get a timeout that grows with them. */
export function fuzzTimeout(suiteRuns: number, msPerCase: number, env: Record<string, string | undefined> = process.env): number {
  return Math.max(30_000, fuzzRuns(suiteRuns, env) * msPerCase * 4);
}
