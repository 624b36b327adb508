/** `shoal tree`: the supervision tree of the runtime that uses a database, with recent supervisor events. */
import { existsSync } from 'node:fs';
import type { TreeNode } from '../runtime/index.ts';
import { openStore } from '../persistence/connection.ts';
import { readSnapshot, type RuntimeSnapshot } from '../app/snapshot-file.ts';
import { type CommandOutput, type FlagSpec, dbPathFrom, formatTime, parseFlags, runCommand } from './args.ts';
import { formatDuration } from '../domain/daily-summary.ts';

/** Exit code for "the runtime is not running" (as systemctl status uses 3 for an inactive unit). */
export const NOT_RUNNING = 3;
/** A snapshot this many intervals old means the writer has stopped writing, whatever its pid says. */
export const STALE_AFTER_INTERVALS = 5;
/** Floor of the staleness limit, so a short interval does not make a busy runtime look dead. */
export const MIN_STALE_MS = 10_000;
/** The default OosConfig.snapshotIntervalMs, for snapshots written before they recorded theirs. */
const ASSUMED_INTERVAL_MS = 2_000;

export const TREE_USAGE = `Usage: shoal tree [--db PATH] [--events N] [--json]

Shows the supervision tree of the shoal runtime working on a database: every node's status,
restarts (and those inside the intensity window), mailbox length and last error, as the runtime
last published it (it refreshes the snapshot every few seconds), then the last N supervisor
events recorded in the database.

  --db PATH     the database (default $SHOAL_DB, else ./shoal.db); read only
  --events N    supervisor events to list, N >= 0 (default 10; 0 lists none)
  --json        print the snapshot as JSON with its liveness ({ running, reason }), no events
  -h, --help    show this help

The runtime is not running when its snapshot says it stopped, when its process is gone, or
when the snapshot is older than ${STALE_AFTER_INTERVALS} snapshot intervals (at least ${MIN_STALE_MS / 1_000} s); the tree shown is then
its last published state, each node marked down.

Examples:
  shoal tree --db /var/lib/shoal/shoal.db
  shoal tree --events 0 --json

Exit codes: 0 running, 3 not running (or never ran with this database), 2 bad usage or no database.
`;

export const TREE_OPTIONS = {
  db: { type: 'string' },
  events: { type: 'number', integer: true, min: 0 },
  json: { type: 'boolean' },
} as const satisfies FlagSpec;

export type Liveness = { running: true } | { running: false; reason: string };

/** Whether a process with this pid exists on this host (EPERM: it exists, owned by someone else). */
export function processExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the runtime that wrote the snapshot still runs. The pid alone is not enough (a stopped
 * runtime's pid can be reused), nor is the age alone (a killed runtime's last snapshot is fresh
 * for a moment): either one failing means not running.
 */
export function liveness(snap: RuntimeSnapshot, now: number, exists: (pid: number) => boolean = processExists): Liveness {
  if (snap.stopped) return { running: false, reason: `stopped: ${snap.stopped}` };
  if (!exists(snap.pid)) return { running: false, reason: `process ${snap.pid} is gone (killed or crashed without stopping)` };
  const interval = snap.intervalMs !== undefined && snap.intervalMs > 0 ? snap.intervalMs : ASSUMED_INTERVAL_MS;
  const staleAfter = Math.max(STALE_AFTER_INTERVALS * interval, MIN_STALE_MS);
  const age = now - snap.at;
  if (age > staleAfter) {
    return { running: false, reason: `its snapshot is ${formatDuration(age)} old, over ${formatDuration(staleAfter)} though it is rewritten every ${formatDuration(interval)}: process ${snap.pid} is hung, or its pid now belongs to another program` };
  }
  return { running: true };
}

/** With `down`, the runtime is not running: each node reads "down (was <its last status>)". */
export function renderTree(nodes: readonly TreeNode[], now: number, down = false): string[] {
  const lines: string[] = [];
  const walk = (n: TreeNode, prefix: string, last: boolean, root: boolean) => {
    const name = root ? n.path : n.path.slice(n.path.lastIndexOf('/') + 1);
    const kind = n.kind === 'supervisor' ? `supervisor ${n.strategy ?? ''}`.trim() : n.kind;
    const parts = [down ? `down (was ${n.status})` : n.status, kind, `restarts ${n.restartCount}`];
    if (n.kind === 'supervisor') parts.push(`in window ${n.restartWindow.length}`);
    else parts.push(`mailbox ${n.mailboxLength}`);
    if (n.lastError) parts.push(`last error ${n.lastErrorAt ? `${formatDuration(now - n.lastErrorAt)} ago` : ''}: ${n.lastError}`);
    lines.push(`${prefix}${root ? '' : last ? '└── ' : '├── '}${name}  [${parts.join(', ')}]`);
    const kids = n.children;
    kids.forEach((c, i) => walk(c, root ? '' : prefix + (last ? '    ' : '│   '), i === kids.length - 1, false));
  };
  nodes.forEach((n) => walk(n, '', true, true));
  return lines;
}

export async function treeCommand(argv: string[], out: CommandOutput, now = Date.now()): Promise<number> {
  return runCommand('tree', TREE_USAGE, out, async () => {
    const { flags, help } = parseFlags(argv, TREE_OPTIONS);
    if (help) {
      out.stdout(TREE_USAGE);
      return 0;
    }
    const db = dbPathFrom(flags.db);
    if (!existsSync(db)) {
      out.stderr(`shoal tree: no database at ${db} (use --db or $SHOAL_DB)\n`);
      return 2;
    }
    const snap = readSnapshot(db);
    const state: Liveness = snap ? liveness(snap, now) : { running: false, reason: `no runtime snapshot for ${db}: the runtime has not run with this database yet` };
    if (flags.json) {
      out.stdout(`${JSON.stringify(snap ? { ...snap, liveness: state } : null, null, 2)}\n`);
      return state.running ? 0 : NOT_RUNNING;
    }
    const taken = snap ? `snapshot taken ${formatTime(snap.at)} (${formatDuration(Math.max(0, now - snap.at))} ago)` : '';
    if (!state.running) out.stdout(`runtime not running: ${state.reason}${snap ? `; last ${taken}` : ''}\n`);
    else if (snap) out.stdout(`runtime running, pid ${snap.pid}, ${taken}\n`);
    if (snap) out.stdout(`${renderTree(snap.tree, now, !state.running).join('\n')}\n`);
    const n = flags.events ?? 10;
    if (n > 0) {
      const store = openStore({ path: db, readonly: true });
      try {
        const events = (await store.db.selectFrom('supervisor_events').selectAll().orderBy('id', 'desc').limit(n).execute()).reverse();
        out.stdout(`\nlast ${events.length} supervisor events:\n`);
        for (const e of events) out.stdout(`  ${formatTime(e.at)}  ${e.kind.padEnd(8)} ${e.path}${e.detail ? `  ${e.detail}` : ''}\n`);
      } finally {
        store.close();
      }
    }
    return state.running ? 0 : NOT_RUNNING;
  });
}
