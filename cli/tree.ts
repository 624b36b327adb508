/**
 * `shoal tree`: the live supervision tree from the running runtime's control endpoint, with recent
 * supervisor events; `--watch` redraws it. With no endpoint (no runtime, or one embedded without
 * it) the tree is the last snapshot the runtime published beside the database, judged for liveness.
 */
import { existsSync } from 'node:fs';
import type { TreeNode } from '../runtime/index.ts';
import { readSnapshot, type RuntimeSnapshot } from '../app/snapshot-file.ts';
import { processExists } from '../app/control/discovery.ts';
import type { SupervisorEvent } from '../persistence/records.ts';
import { lastSupervisorEvents } from '../persistence/operator-reads.ts';
import { type CommandOutput, type FlagSpec, dbPathFrom, formatTime, parseFlags, runCommand } from './args.ts';
import { formatDuration } from '../domain/daily-summary.ts';
import { call, findRuntime, NO_RUNTIME, tokenFor, UnreachableError, type Link } from './runtime-link.ts';
import { paint, processTerminal, REDRAW, type Paint, type Terminal } from './terminal.ts';
import { openReadDatabase } from './open-db.ts';

export { processExists };

/** Exit code for "the runtime is not running" (as systemctl status uses 3 for an inactive unit). */
export const NOT_RUNNING = NO_RUNTIME;
/** A snapshot this many intervals old means the writer has stopped writing, whatever its pid says. */
export const STALE_AFTER_INTERVALS = 5;
/** Floor of the staleness limit, so a short interval does not make a busy runtime look dead. */
export const MIN_STALE_MS = 10_000;
/** The default OosConfig.snapshotIntervalMs, for snapshots written before they recorded theirs. */
const ASSUMED_INTERVAL_MS = 2_000;

export const TREE_USAGE = `Usage: shoal tree [--db PATH] [--events N] [--watch [--interval MS]] [--json] [--token TOKEN]

Shows the live supervision tree of the shoal runtime working on a database, from its control
endpoint: every node's status, uptime, restarts (and, for a supervisor, those inside its
intensity window), mailbox length and last error; then the last N supervisor events. Colours
on a terminal; none with NO_COLOR set or when the output is piped.

With no control endpoint to ask (no runtime runs with this database, or it runs embedded without
one) it says so and shows the tree the runtime last published beside the database, each node
marked down when that runtime is not running (its snapshot says it stopped, its process is gone,
or the snapshot is older than ${STALE_AFTER_INTERVALS} snapshot intervals, at least ${MIN_STALE_MS / 1_000} s), and the last events from the
database.

  --db PATH        the database (default $SHOAL_DB, else ./shoal.db); read only
  --events N       supervisor events to list, N >= 0 (default 10; 0 lists none)
  --watch          redraw the tree every interval until Ctrl-C (in place on a terminal)
  --interval MS    --watch: milliseconds between redraws, MS >= 100 (default 2000)
  --json           print the tree as JSON with its liveness ({ running, reason }), no events
  --token TOKEN    the control token, needed only when the endpoint serves beyond loopback
                   (default $SHOAL_TOKEN, else the <db>.token file)
  -h, --help       show this help

Examples:
  shoal tree --db /var/lib/shoal/shoal.db
  shoal tree --watch --interval 1000
  shoal tree --events 0 --json

Exit codes: 0 running; 3 no runtime reachable (not running, or never ran with this database);
2 bad usage or no database.
`;

export const TREE_OPTIONS = {
  db: { type: 'string' },
  events: { type: 'number', integer: true, min: 0 },
  json: { type: 'boolean' },
  watch: { type: 'boolean' },
  interval: { type: 'number', integer: true, min: 100 },
  token: { type: 'string' },
} as const satisfies FlagSpec;

export type Liveness = { running: true } | { running: false; reason: string };

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

const STATUS_COLOUR: Record<TreeNode['status'], keyof Paint> = { running: 'green', starting: 'yellow', restarting: 'yellow', stopped: 'red' };

/** With `down`, the runtime is not running: each node reads "down (was <its last status>)". */
export function renderTree(nodes: readonly TreeNode[], now: number, down = false, colours: Paint = paint(false)): string[] {
  const lines: string[] = [];
  const walk = (n: TreeNode, prefix: string, last: boolean, root: boolean) => {
    const name = root ? n.path : n.path.slice(n.path.lastIndexOf('/') + 1);
    const kind = n.kind === 'supervisor' ? `supervisor ${n.strategy ?? ''}`.trim() : n.kind;
    const status = down ? colours.red(`down (was ${n.status})`) : colours[STATUS_COLOUR[n.status]](n.status);
    const parts = [status, kind];
    if (!down && n.startedAt !== undefined) parts.push(`up ${formatDuration(Math.max(0, now - n.startedAt))}`);
    parts.push(n.restartCount > 0 ? colours.yellow(`restarts ${n.restartCount}`) : `restarts ${n.restartCount}`);
    if (n.kind === 'supervisor') parts.push(`in window ${n.restartWindow.length}`);
    else parts.push(`mailbox ${n.mailboxLength}`);
    if (n.lastError) parts.push(colours.red(`last error ${n.lastErrorAt ? `${formatDuration(now - n.lastErrorAt)} ago` : ''}: ${n.lastError}`));
    lines.push(`${prefix}${root ? '' : last ? '└── ' : '├── '}${colours.bold(name)}  [${parts.join(', ')}]`);
    const kids = n.children;
    kids.forEach((c, i) => walk(c, root ? '' : prefix + (last ? '    ' : '│   '), i === kids.length - 1, false));
  };
  nodes.forEach((n) => walk(n, '', true, true));
  return lines;
}

function renderEvents(events: readonly SupervisorEvent[], colours: Paint): string {
  const lines = events.map((e) => `  ${formatTime(e.at)}  ${(e.kind === 'crash' || e.kind === 'give_up' ? colours.red : (x: string) => x)(e.kind.padEnd(8))} ${e.path}${e.detail ? `  ${e.detail}` : ''}`);
  return `\nlast ${events.length} supervisor events:\n${lines.map((l) => `${l}\n`).join('')}`;
}

interface LiveTree {
  readonly at: number;
  readonly pid: number;
  readonly sending: { readonly paused: boolean };
  readonly tree: TreeNode[];
}

/** One frame from the endpoint: the text, or the JSON. */
async function liveFrame(link: Extract<Link, { up: true }>, token: string | undefined, events: number, json: boolean, colours: Paint): Promise<string> {
  const t: LiveTree = await call(link.address, 'GET', '/v1/tree', { token });
  if (json) return `${JSON.stringify({ ...t, liveness: { running: true }, source: 'control endpoint' }, null, 2)}\n`;
  const root = t.tree[0];
  const up = root?.startedAt !== undefined ? `, up ${formatDuration(Math.max(0, t.at - root.startedAt))}` : '';
  let text = `runtime running, pid ${t.pid}${up}${t.sending.paused ? `, ${colours.yellow('sending paused')}` : ''}, at ${formatTime(t.at)}\n${renderTree(t.tree, t.at, false, colours).join('\n')}\n`;
  if (events > 0) text += renderEvents(await call<SupervisorEvent[]>(link.address, 'GET', `/v1/events?limit=${events}`, { token }), colours);
  return text;
}

export interface TreeIo {
  readonly now?: () => number;
  readonly terminal?: Terminal;
  readonly env?: Record<string, string | undefined>;
  /** Resolves when the watch should end (default: SIGINT or SIGTERM). */
  readonly stopWatch?: Promise<void>;
}

export async function treeCommand(argv: string[], out: CommandOutput, io: TreeIo = {}): Promise<number> {
  return runCommand('tree', TREE_USAGE, out, async () => {
    const { flags, help } = parseFlags(argv, TREE_OPTIONS);
    if (help) {
      out.stdout(TREE_USAGE);
      return 0;
    }
    const now = io.now ?? Date.now;
    const env = io.env ?? process.env;
    const terminal = io.terminal ?? processTerminal(env);
    const colours = paint(terminal.colour && !flags.json);
    const db = dbPathFrom(flags.db, env);
    if (!existsSync(db)) {
      out.stderr(`shoal tree: no database at ${db} (use --db or $SHOAL_DB)\n`);
      return 2;
    }
    const events = flags.events ?? 10;
    const link = findRuntime(db);
    const token = link.up && link.address.readsNeedToken ? tokenFor(db, flags.token, env) : undefined;
    const frame = async (): Promise<string | undefined> => {
      if (!link.up) return undefined;
      try {
        return await liveFrame(link, token, events, flags.json === true, colours);
      } catch (e) {
        if (e instanceof UnreachableError) return undefined;
        throw e;
      }
    };
    const first = await frame();
    if (first === undefined) return offline(db, link.up ? 'its control endpoint does not answer' : link.reason, flags.json === true, events, now(), out, colours);
    if (!flags.watch) {
      out.stdout(first);
      return 0;
    }
    return watch(first, frame, flags.interval ?? 2_000, terminal.stdoutTty, out, io.stopWatch ?? signalled());
  });
}

/** Resolves at the first SIGINT or SIGTERM (the watch then ends with exit code 0). */
function signalled(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

async function watch(first: string, frame: () => Promise<string | undefined>, intervalMs: number, tty: boolean, out: CommandOutput, stop: Promise<void>): Promise<number> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  // On a terminal each frame overwrites the last; piped, frames follow each other.
  const show = (text: string) => out.stdout(tty ? `${REDRAW}${text}` : `${text}\n`);
  show(first);
  while (!stopped) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([new Promise((r) => (timer = setTimeout(r, intervalMs))), stop]);
    // Ctrl-C ends the command at once, not after the pending interval.
    clearTimeout(timer);
    if (stopped) break;
    const text = await frame();
    show(text ?? `runtime not reachable (its control endpoint does not answer); trying again every ${formatDuration(intervalMs)}\n`);
  }
  return 0;
}

/** No endpoint answered: the last published snapshot, judged for liveness, and the last events from the store. */
function offline(db: string, why: string, json: boolean, events: number, now: number, out: CommandOutput, colours: Paint): number {
  const snap = readSnapshot(db);
  const state: Liveness = snap ? liveness(snap, now) : { running: false, reason: `no runtime snapshot for ${db}: the runtime has not run with this database yet` };
  if (json) {
    out.stdout(`${JSON.stringify(snap ? { ...snap, liveness: state, source: 'snapshot' } : null, null, 2)}\n`);
    return state.running ? 0 : NOT_RUNNING;
  }
  const taken = snap ? `snapshot taken ${formatTime(snap.at)} (${formatDuration(Math.max(0, now - snap.at))} ago)` : '';
  if (!state.running) out.stdout(`runtime not running: ${state.reason}${snap ? `; last ${taken}` : ''}\n`);
  // Running by its snapshot, but with no endpoint to ask: an embedded runtime, or one started without the endpoint.
  else if (snap) out.stdout(`runtime running, pid ${snap.pid}, ${taken}; no live view: ${why}\n`);
  if (snap) out.stdout(`${renderTree(snap.tree, now, !state.running, colours).join('\n')}\n`);
  if (events > 0) {
    const store = openReadDatabase('tree', db, out);
    if (!store) return 2;
    try {
      out.stdout(renderEvents(lastSupervisorEvents(store, events), colours));
    } finally {
      store.close();
    }
  }
  return state.running ? 0 : NOT_RUNNING;
}
