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

/** The suite's fixed seed: `npm test` runs the same cases every time (no flake); the long form explores. */
export const SUITE_SEED = 20_261_207;

/**
 * fast-check parameters for a fuzz property: its run count, and its seed: SHOAL_FUZZ_SEED when
 * given, else the suite's fixed seed in the suite, else (the long form) a new one each run.
 */
export function fuzzParams<T>(suiteRuns: number, env: Record<string, string | undefined> = process.env): fc.Parameters<T> {
  const given = env.SHOAL_FUZZ_SEED;
  const longForm = env.SHOAL_FUZZ_RUNS !== undefined && env.SHOAL_FUZZ_RUNS !== '';
  const seed = given ? Number(given) : longForm ? undefined : SUITE_SEED;
  return { numRuns: fuzzRuns(suiteRuns, env), ...(seed !== undefined ? { seed } : {}) };
}

/** A long form runs many more cases: its tests get a timeout that grows with them. */
export function fuzzTimeout(suiteRuns: number, msPerCase: number, env: Record<string, string | undefined> = process.env): number {
  return Math.max(30_000, fuzzRuns(suiteRuns, env) * msPerCase * 4);
}
