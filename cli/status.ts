/**
 * `shoal status`: one screen on the runtime of a database: up or down, pid, uptime, the outbox by
 * state, in flight, the oldest pending request's age, dead letters, restarts today, sending paused
 * or not. Live from the control endpoint; with no runtime, what the store says, and exit code 3.
 */
import { countByState, oldestLiveEnqueuedAt } from '../persistence/outbox-reads.ts';
import { restartsSince } from '../persistence/flow-metrics.ts';
import { countLettersByState } from '../persistence/operator-reads.ts';
import { REQUEST_STATES } from '../persistence/schema.ts';
import { DAY_MS, formatDuration } from '../domain/daily-summary.ts';
import { type CommandOutput, type FlagSpec, dbPathFrom, formatTime, parseFlags, runCommand } from './args.ts';
import { openReadDatabase } from './open-db.ts';
import { call, findRuntime, NO_RUNTIME, tokenFor, UnreachableError } from './runtime-link.ts';
import { paint, processTerminal } from './terminal.ts';

export const STATUS_USAGE = `Usage: shoal status [--db PATH] [--json] [--token TOKEN]

One screen on the shoal runtime working on a database: up or down, its pid and uptime, the
outbox by state, requests in flight, the age of the oldest pending request, dead letters by
state, restarts today (UTC), and whether sending is paused. Live from the runtime's control
endpoint; with no runtime reachable it says so and shows what the database says.

  --db PATH        the database (default $SHOAL_DB, else ./shoal.db); read only
  --json           print the status as JSON ({ "up": false, "reason", ... } when down)
  --token TOKEN    the control token, needed only when the endpoint serves beyond loopback
                   (default $SHOAL_TOKEN, else the <db>.token file)
  -h, --help       show this help

Examples:
  shoal status --db /var/lib/shoal/shoal.db
  shoal status --json | jq .outbox

Exit codes: 0 the runtime is up; 3 no runtime reachable (the figures are the database's);
2 bad usage or no usable database.
`;

export const STATUS_OPTIONS = {
  db: { type: 'string' },
  json: { type: 'boolean' },
  token: { type: 'string' },
} as const satisfies FlagSpec;

interface Status {
  up: boolean;
  reason?: string;
  pid?: number;
  startedAt?: number;
  uptimeMs?: number;
  outbox: Record<string, number>;
  inFlight: number;
  oldestPendingAgeMs: number | null;
  deadLetters: Record<string, number>;
  restartsToday: number;
  sending?: { paused: boolean; pausedAt: number | null; peers: number };
  control?: { url?: string; socket?: string };
}

export async function statusCommand(argv: string[], out: CommandOutput, env: Record<string, string | undefined> = process.env): Promise<number> {
  return runCommand('status', STATUS_USAGE, out, async () => {
    const { flags, help } = parseFlags(argv, STATUS_OPTIONS);
    if (help) {
      out.stdout(STATUS_USAGE);
      return 0;
    }
    const db = dbPathFrom(flags.db, env);
    const link = findRuntime(db);
    let status: Status | undefined;
    let reason = link.up ? '' : link.reason;
    if (link.up) {
      try {
        status = await call<Status>(link.address, 'GET', '/v1/status', { token: link.address.readsNeedToken ? tokenFor(db, flags.token, env) : undefined });
      } catch (e) {
        if (!(e instanceof UnreachableError)) throw e;
        reason = e.message;
      }
    }
    if (!status) {
      const store = openReadDatabase('status', db, out);
      if (!store) return 2;
      try {
        const now = Date.now();
        const outbox = countByState(store);
        const oldest = oldestLiveEnqueuedAt(store);
        const letters = countLettersByState(store);
        status = { up: false, reason, outbox, inFlight: outbox.in_flight, oldestPendingAgeMs: oldest === null ? null : Math.max(0, now - oldest), deadLetters: letters, restartsToday: restartsSince(store, now - (now % DAY_MS)) };
      } finally {
        store.close();
      }
    }
    if (flags.json) out.stdout(`${JSON.stringify(status, null, 2)}\n`);
    else out.stdout(formatStatus(status, paint(processTerminal(env).colour)));
    return status.up ? 0 : NO_RUNTIME;
  });
}

function formatStatus(s: Status, c: ReturnType<typeof paint>): string {
  const rows: [string, string][] = [];
  rows.push(['runtime', s.up ? c.green('up') : `${c.red('down')}: ${s.reason}`]);
  if (s.up) {
    rows.push(['pid', String(s.pid)]);
    rows.push(['uptime', `${formatDuration(s.uptimeMs ?? 0)} (since ${formatTime(s.startedAt)})`]);
    rows.push(['sending', s.sending?.paused ? c.yellow(`paused since ${formatTime(s.sending.pausedAt)}`) : `on, ${s.sending?.peers ?? 0} service peer(s) connected`]);
    if (s.control) rows.push(['control', s.control.url ?? s.control.socket ?? '']);
  }
  rows.push(['outbox', REQUEST_STATES.map((st) => `${st} ${s.outbox[st] ?? 0}`).join(', ')]);
  rows.push(['in flight', String(s.inFlight)]);
  rows.push(['oldest pending', s.oldestPendingAgeMs === null ? 'none' : formatDuration(s.oldestPendingAgeMs)]);
  const dead = s.deadLetters.dead ?? 0;
  rows.push(['dead letters', `${dead > 0 ? c.yellow(`dead ${dead}`) : 'dead 0'}, replaying ${s.deadLetters.replaying ?? 0}, replayed ${s.deadLetters.replayed ?? 0}, discarded ${s.deadLetters.discarded ?? 0}`]);
  rows.push(['restarts today', s.restartsToday > 0 ? c.yellow(String(s.restartsToday)) : '0']);
  return rows.map(([k, v]) => `${k.padEnd(16)}${v}\n`).join('');
}
