/**
 * `shoal report daily [--db PATH] [--date YYYY-MM-DD] [--json]`: the daily summary of the OOS flow
 * for one UTC day, from the durable rows of the database (read-only). Definitions of each figure:
 * domain/daily-summary.ts. Exit codes: 0 printed, 2 bad usage, bad date or no usable database.
 */
import { dailySummaryFor } from '../persistence/report.ts';
import { formatDailySummary, parseUtcDay, utcDayOf } from '../domain/daily-summary.ts';
import { DEFAULT_RANK_CRITERIA, type RankCriteria } from '../domain/ranks.ts';
import { type CommandOutput, type FlagSpec, UsageError, dbPathFrom, parseFlags, runCommand } from './args.ts';
import { openDatabase } from './open-db.ts';
import { processTerminal, progress } from './terminal.ts';

export const REPORT_USAGE = `Usage: shoal report daily [--db PATH] [--date YYYY-MM-DD] [--json]

Summarises one UTC day of the OOS flow from the database: requests enqueued, completed, passed
and failed (against the OOS gate), re-sent and dead-lettered; failures by kind; latency p50/p95/p99
(enqueue -> result and last send -> result); restarts by actor; the oldest pending request.
A day past the retention horizon (its rows deleted) is reported from the figures stored before
its rows went. daily is the only report so far.

  --db PATH          the database (default $SHOAL_DB, else ./shoal.db); opened read-only
  --date YYYY-MM-DD  the UTC day to report (default: today, UTC)
  --json             print the summary as JSON
  -h, --help         show this help

Examples:
  shoal report daily --db /var/lib/shoal/shoal.db
  shoal report daily --date 2026-03-02 --json

Exit codes: 0 report printed, 2 bad usage, bad date or no usable database.
`;

export const REPORT_OPTIONS = {
  db: { type: 'string' },
  date: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies FlagSpec;

export interface ReportOptions {
  /** Unix ms: "today" and the oldest request's age. Default Date.now(). */
  now?: number;
  env?: Record<string, string | undefined>;
  criteria?: RankCriteria;
}

/** `argv` holds the arguments after `report`. Resolves to the exit code. */
export async function reportCommand(argv: string[], out: CommandOutput, options: ReportOptions = {}): Promise<number> {
  return runCommand('report', REPORT_USAGE, out, async () => {
    const { flags, positionals, help } = parseFlags(argv, REPORT_OPTIONS, { allowPositionals: true });
    if (help) {
      out.stdout(REPORT_USAGE);
      return 0;
    }
    const [sub, ...extra] = positionals;
    if (sub === undefined) throw new UsageError('missing report kind (daily)');
    if (sub !== 'daily') throw new UsageError(`unknown report '${sub}' (known: daily)`);
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const now = options.now ?? Date.now();
    const day = flags.date === undefined ? utcDayOf(now) : parseUtcDay(flags.date);
    if (!day) {
      out.stderr(`shoal report: --date must be a real UTC date as YYYY-MM-DD, got '${flags.date}'\n`);
      return 2;
    }
    const store = await openDatabase('report', dbPathFrom(flags.db, options.env ?? process.env), out);
    if (!store) return 2;
    try {
      // A day past retention is reported from its stored figures (persistence/retention.ts). The
      // queries run synchronously, so on a large store a status line says what is going on.
      const p = progress(!flags.json && processTerminal().stderrTty);
      p.update(`summarising ${flags.date ?? 'today'} from ${store.path} ...`);
      const summary = dailySummaryFor(store, day.from, now, options.criteria ?? DEFAULT_RANK_CRITERIA);
      p.done();
      out.stdout(flags.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatDailySummary(summary)}\n`);
      return 0;
    } finally {
      store.close();
    }
  });
}
