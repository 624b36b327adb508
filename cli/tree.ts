/** `shoal tree`: the supervision tree of the runtime that uses a database, with recent supervisor events. */
import { existsSync } from 'node:fs';
import type { TreeNode } from '../runtime/index.ts';
import { openStore } from '../persistence/connection.ts';
import { readSnapshot } from '../oos/snapshot-file.ts';
import { type CommandOutput, dbPathFrom, formatTime, parseFlags, runCommand } from './args.ts';
import { formatDuration } from '../oos/daily-summary.ts';

export const TREE_USAGE = `Usage: shoal tree [--db PATH] [--json] [--events N]

Shows the supervision tree of the shoal runtime working on a database: every node's status,
restarts (and those inside the intensity window), mailbox length and last error, as the runtime
last published it (it refreshes the snapshot every few seconds), then the last N supervisor
events recorded in the database.

  --db PATH     database (default $SHOAL_DB or ./shoal.db)
  --json        print the snapshot as JSON
  --events N    supervisor events to list (default 10, 0 for none)
  -h, --help    show this help
`;

export function renderTree(nodes: readonly TreeNode[], now: number): string[] {
  const lines: string[] = [];
  const walk = (n: TreeNode, prefix: string, last: boolean, root: boolean) => {
    const name = root ? n.path : n.path.slice(n.path.lastIndexOf('/') + 1);
    const kind = n.kind === 'supervisor' ? `supervisor ${n.strategy ?? ''}`.trim() : n.kind;
    const parts = [`${n.status}`, kind, `restarts ${n.restartCount}`];
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
    const { flags } = parseFlags(argv, { db: { type: 'string' }, json: { type: 'boolean' }, events: { type: 'number' }, help: { type: 'boolean', short: 'h' } });
    if (flags.help) {
      out.stdout(TREE_USAGE);
      return 0;
    }
    const db = dbPathFrom(flags.db);
    if (!existsSync(db)) {
      out.stderr(`shoal tree: no database at ${db} (use --db or $SHOAL_DB)\n`);
      return 2;
    }
    const snap = readSnapshot(db);
    if (flags.json) {
      out.stdout(`${JSON.stringify(snap ?? null, null, 2)}\n`);
      return 0;
    }
    if (!snap) out.stdout(`no runtime snapshot for ${db}: the runtime has not run with this database yet\n`);
    else {
      const state = snap.stopped ? `stopped (${snap.stopped})` : `pid ${snap.pid}`;
      out.stdout(`runtime ${state}, snapshot taken ${formatTime(snap.at)} (${formatDuration(Math.max(0, now - snap.at))} ago)\n`);
      out.stdout(`${renderTree(snap.tree, now).join('\n')}\n`);
    }
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
    return 0;
  });
}
