/**
 * How many backtests the host's service runs at once, as the host configures it: its engine
 * workers, `SWIMMY_BACKTEST_WORKERS` (default: the machine's CPU count, at most 4). The service
 * takes about twice that many requests off its socket (`SWIMMY_BACKTEST_MAX_INFLIGHT`, default
 * 2 x workers); the ones beyond its workers wait in its queue, where their lease keeps running.
 * So a sender that keeps more requests in flight than this gains nothing and spends leases.
 * Both shoal (its default window) and the bundled backtester (its default worker count) read it;
 * the service's results come back to localhost, so they run on the service's machine and see the
 * same CPU count. Pure: the environment and the CPU count are passed in.
 */

/** The host service's cap on its default worker count. */
export const MAX_DEFAULT_WORKERS = 4;

export const WORKERS_ENV = 'SWIMMY_BACKTEST_WORKERS';

/** The service's worker count: SWIMMY_BACKTEST_WORKERS when set, else min(cpus, 4), at least 1. */
export function serviceWorkersFromEnv(env: Record<string, string | undefined>, cpus: number): number {
  const raw = env[WORKERS_ENV];
  if (raw === undefined || raw.trim() === '') return Math.max(1, Math.min(MAX_DEFAULT_WORKERS, Math.floor(cpus)));
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${WORKERS_ENV} must be an integer >= 1 (the backtest service's worker count), got '${raw}'`);
  return n;
}
