/**
 * `shoal metrics`: throughput and p50/p95/p99 of queue dwell, attempt latency and end-to-end
 * latency. Live (the last few minutes, with the runtime's own counters) from the control endpoint;
 * over any period from the durable timestamps in the database (--since, or with no runtime).
 */
import { flowMetrics, parseDuration, type FlowMetrics } from '../domain/flow-metrics.ts';
import { formatDuration } from '../domain/daily-summary.ts';
import type { LatencySummary } from '../domain/percentiles.ts';
import { requestTimes } from '../persistence/flow-metrics.ts';
import { type CommandOutput, type FlagSpec, UsageError, dbPathFrom, formatTime, parseFlags, runCommand } from './args.ts';
import { openReadDatabase } from './open-db.ts';
import { call, findRuntime, tokenFor, UnreachableError } from './runtime-link.ts';

export const METRICS_USAGE = `Usage: shoal metrics [--db PATH] [--window DURATION | --since TIME [--until TIME]] [--json] [--token TOKEN]

Throughput (requests enqueued, first sent and completed, completions per minute) and p50/p95/p99
of three latencies: queue dwell (enqueued -> first sent), attempt (last send -> result) and end to
end (enqueued -> result). Each counts the requests whose event falls in the period.

With a runtime running and no --since, the figures are live: the last --window from the runtime,
with its own counters (sends, timeouts, retries, control endpoint requests). Otherwise they come
from the durable timestamps in the database, over any period.

  --db PATH          the database (default $SHOAL_DB, else ./shoal.db); read only
  --window DURATION  the period up to now: 90s, 15m, 2h, 7d or milliseconds (default 5m)
  --since TIME       the period's start: an ISO date/time (2026-03-02, 2026-03-02T09:00Z) or Unix ms;
                     read from the database
  --until TIME       with --since: the period's end (default now)
  --json             print the figures as JSON (with "source": "runtime" or "store")
  --token TOKEN      the control token, needed only when the endpoint serves beyond loopback
  -h, --help         show this help

Examples:
  shoal metrics
  shoal metrics --window 1h --json
  shoal metrics --since 2026-03-02 --until 2026-03-03

Exit codes: 0 printed (from the runtime or the database); 2 bad usage or no usable database.
`;

export const METRICS_OPTIONS = {
  db: { type: 'string' },
  window: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  json: { type: 'boolean' },
  token: { type: 'string' },
} as const satisfies FlagSpec;

/** An ISO date/time or Unix milliseconds; undefined when it is neither. */
export function parseTime(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  return Number.isFinite(ms) ? ms : undefined;
}

export async function metricsCommand(argv: string[], out: CommandOutput, env: Record<string, string | undefined> = process.env): Promise<number> {
  return runCommand('metrics', METRICS_USAGE, out, async () => {
    const { flags, help } = parseFlags(argv, METRICS_OPTIONS);
    if (help) {
      out.stdout(METRICS_USAGE);
      return 0;
    }
    if (flags.window !== undefined && flags.since !== undefined) throw new UsageError('give --window or --since, not both');
    if (flags.until !== undefined && flags.since === undefined) throw new UsageError('--until goes with --since');
    const windowMs = flags.window === undefined ? 5 * 60_000 : parseDuration(flags.window);
    if (windowMs === undefined) throw new UsageError(`--window must be a duration such as 90s, 15m, 2h or 7d, got '${flags.window}'`);
    const now = Date.now();
    const since = flags.since === undefined ? undefined : parseTime(flags.since);
    if (flags.since !== undefined && since === undefined) throw new UsageError(`--since must be an ISO date/time or Unix ms, got '${flags.since}'`);
    const until = flags.until === undefined ? now : parseTime(flags.until);
    if (until === undefined) throw new UsageError(`--until must be an ISO date/time or Unix ms, got '${flags.until}'`);
    if (since !== undefined && since >= until) throw new UsageError(`--since ${flags.since} is not before --until ${flags.until ?? 'now'}`);
    const db = dbPathFrom(flags.db, env);

    if (since === undefined) {
      const link = findRuntime(db);
      if (link.up) {
        try {
          const live = await call<{ flow: FlowMetrics; runtime: Record<string, unknown>; control: Record<string, unknown> }>(link.address, 'GET', `/v1/metrics?windowMs=${windowMs}`, {
            token: link.address.readsNeedToken ? tokenFor(db, flags.token, env) : undefined,
          });
          out.stdout(flags.json ? `${JSON.stringify({ source: 'runtime', ...live }, null, 2)}\n` : formatLive(live));
          return 0;
        } catch (e) {
          if (!(e instanceof UnreachableError)) throw e;
        }
      }
    }
    const from = since ?? now - windowMs;
    const store = openReadDatabase('metrics', db, out);
    if (!store) return 2;
    try {
      const flow = flowMetrics(requestTimes(store, from, until), from, until);
      out.stdout(flags.json ? `${JSON.stringify({ source: 'store', flow }, null, 2)}\n` : `from the database:\n${formatFlow(flow)}`);
      return 0;
    } finally {
      store.close();
    }
  });
}

function latency(l: LatencySummary | null): string {
  return l ? `p50 ${formatDuration(l.p50)}  p95 ${formatDuration(l.p95)}  p99 ${formatDuration(l.p99)}  (n=${l.count}, max ${formatDuration(l.max)})` : 'none in the period';
}

export function formatFlow(f: FlowMetrics): string {
  return [
    `period            ${formatTime(f.from)} .. ${formatTime(f.to)} (${formatDuration(f.to - f.from)})`,
    `throughput        enqueued ${f.enqueued}, sent ${f.sent}, completed ${f.completed} (${f.completedPerMinute.toFixed(2)}/min)`,
    `queue dwell       ${latency(f.queueDwellMs)}`,
    `attempt           ${latency(f.attemptMs)}`,
    `end to end        ${latency(f.endToEndMs)}`,
  ]
    .map((l) => `${l}\n`)
    .join('');
}

function formatLive(live: { flow: FlowMetrics; runtime: Record<string, unknown>; control: Record<string, unknown> }): string {
  const sender = (live.runtime.sender ?? {}) as Record<string, unknown>;
  const control = live.control as { requests?: number; unauthorized?: number; forbidden?: number; failures?: number };
  return (
    `live from the runtime:\n${formatFlow(live.flow)}` +
    `sender            sent ${sender.sent ?? 0}, send failures ${sender.sendFailures ?? 0}, timeouts ${sender.timeouts ?? 0}, retried ${sender.retried ?? 0}, dead-lettered ${sender.deadLettered ?? 0}${sender.paused ? ', PAUSED' : ''}\n` +
    `control endpoint  requests ${control.requests ?? 0}, refused tokens ${(control.unauthorized ?? 0) + (control.forbidden ?? 0)}, failures ${control.failures ?? 0}\n`
  );
}
