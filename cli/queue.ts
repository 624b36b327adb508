/** `shoal queue`: the durable OOS outbox: counts by state, the oldest live request, and a listing. */
import { queueView } from '../persistence/operator-reads.ts';
import { REQUEST_STATES, type RequestState } from '../persistence/schema.ts';
import { type CommandOutput, type FlagSpec, dbPathFrom, formatTime, parseFlags, runCommand } from './args.ts';
import { openReadDatabase } from './open-db.ts';
import { formatDuration } from '../domain/daily-summary.ts';

export const QUEUE_USAGE = `Usage: shoal queue [--db PATH] [--state STATE] [--limit N] [--json]

Shows the OOS outbox: how many requests are pending, in flight, done and dead, the oldest live
request and how long it has waited, then the requests in one state, oldest first.

  --db PATH       the database (default $SHOAL_DB, else ./shoal.db); opened read-only
  --state STATE   list the requests in this state: ${REQUEST_STATES.join(', ')}
                  (default: the live ones, pending and in_flight)
  --limit N       list at most N requests, N >= 1 (default 20)
  --json          print the counts, the oldest live request and the listing as JSON
  -h, --help      show this help

Examples:
  shoal queue --db /var/lib/shoal/shoal.db
  shoal queue --state dead --limit 5 --json

Exit codes: 0 shown, 2 bad usage or no usable database.
`;

export const QUEUE_OPTIONS = {
  db: { type: 'string' },
  state: { type: 'string', choices: REQUEST_STATES },
  limit: { type: 'number', integer: true, min: 1 },
  json: { type: 'boolean' },
} as const satisfies FlagSpec;

export async function queueCommand(argv: string[], out: CommandOutput, now = Date.now()): Promise<number> {
  return runCommand('queue', QUEUE_USAGE, out, () => {
    const { flags, help } = parseFlags(argv, QUEUE_OPTIONS);
    if (help) {
      out.stdout(QUEUE_USAGE);
      return 0;
    }
    const limit = flags.limit ?? 20;
    const store = openReadDatabase('queue', dbPathFrom(flags.db), out);
    if (!store) return 2;
    try {
      const view = queueView(store, flags.state as RequestState | undefined, limit);
      const { counts, requests: rows } = view;
      const live = view.oldestLive;
      if (flags.json) {
        out.stdout(`${JSON.stringify(view, null, 2)}\n`);
        return 0;
      }
      out.stdout(`outbox: ${REQUEST_STATES.map((s) => `${s} ${counts[s]}`).join(', ')}\n`);
      out.stdout(live ? `oldest live request: ${live.requestId} (${live.strategyName}), enqueued ${formatTime(live.enqueuedAt)}, ${formatDuration(now - live.enqueuedAt)} ago\n` : 'no live request\n');
      if (rows.length > 0) {
        out.stdout(`\n${'request id'.padEnd(38)}${'strategy'.padEnd(28)}${'state'.padEnd(11)}${'tries'.padEnd(7)}${'next attempt'.padEnd(22)}last error\n`);
        for (const r of rows) {
          out.stdout(`${r.requestId.padEnd(38)}${r.strategyName.slice(0, 27).padEnd(28)}${r.state.padEnd(11)}${String(r.attempts).padEnd(7)}${(r.state === 'pending' ? formatTime(r.nextAttemptAt) : '-').padEnd(22)}${r.lastError ?? ''}\n`);
        }
      }
      return 0;
    } finally {
      store.close();
    }
  });
}
