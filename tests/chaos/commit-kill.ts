/**
 * The kill-inside-commit fault: the process holding shoal runs with a test-only preload
 * (fixtures/commit-trap.ts; nothing of it is in shoal) that, once the driver arms it with
 * SIGUSR2, lets a few more write transactions commit (a number drawn from the seed), then holds
 * the next one open after its statements ran and before its COMMIT, says so in a file and blocks
 * its thread. The driver SIGKILLs it there: the kill lands inside a commit with uncommitted rows
 * every time, not by chance as a random kill does.
 *
 * Judged at once: the database passes PRAGMA integrity_check, and the transaction was all or
 * nothing: the store after the kill is exactly what it was while the transaction was held open
 * (read from another connection, which sees only what was committed), and the trapped process's
 * own view inside the transaction (its uncommitted writes) differed from it. The checker's
 * invariants are judged at the end of the run, after the restarts, as for every fault. Shared by
 * the direct and the bridge mode.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterSomeSends, type AimedKillTarget } from './aims.ts';
import type { CommitTrapReport } from './fixtures/commit-trap.ts';
import { storeDigest } from './store-digest.ts';
import { integrityCheck, readingStore } from './store-view.ts';
import { waitFor } from './wait-for.ts';

const TRAP = pathToFileURL(path.join(import.meta.dirname, 'fixtures/commit-trap.ts')).href;

/** Node's arguments that preload the trap (after tsx, which loads it). */
export const COMMIT_TRAP_IMPORT = ['--import', 'tsx', '--import', TRAP] as const;

/** The environment of a process that carries the trap: its file, and how many write transactions it lets commit once armed. */
export function commitTrapEnv(file: string, skip: number): Record<string, string> {
  return { SHOAL_CHAOS_COMMIT_TRAP: file, SHOAL_CHAOS_COMMIT_TRAP_SKIP: String(skip) };
}

/** What the fault needs of the runtime's process, whichever mode runs it. */
export interface CommitKillTarget extends AimedKillTarget {
  /** The trap's file (commitTrapEnv) and the write transactions it lets commit once armed (it is armed after some of the cycle's sends, when results come back in batches). */
  readonly file: string;
  readonly skip: number;
  /** SIGUSR2 to the process. */
  readonly arm: () => void;
  /** SIGKILL, and wait until it has exited. */
  readonly kill: () => Promise<void>;
}

/** Write transactions the trap lets commit after it is armed, drawn from the seed: 0 to 2. */
export const trapSkip = (random: () => number) => Math.floor(random() * 3);

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
const digestOf = (dbPath: string) => readingStore(dbPath, (store) => storeDigest(store.sqlite));

export async function killInsideCommit(t: CommitKillTarget): Promise<string> {
  const k = await afterSomeSends(t);
  rmSync(t.file, { force: true });
  t.arm();
  const trapped = await waitFor(() => existsSync(t.file), 30_000);
  // Held open: another connection sees what was committed before it.
  const before = trapped ? digestOf(t.dbPath) : undefined;
  await t.kill();
  const report = trapped ? (JSON.parse(readFileSync(t.file, 'utf8')) as CommitTrapReport) : undefined;
  rmSync(t.file, { force: true });
  const integrity = integrityCheck(t.dbPath);
  const requestId = `commit kill in cycle ${t.cycle}`;
  if (integrity !== 'ok') t.aims.violations.push({ requestId, rule: 'integrity', detail: integrity });
  t.aims.commitKills++;
  const armed = `armed after ${plural(k, 'send')}, ${plural(t.skip, 'write transaction')} let through`;
  if (!report) return `no write transaction trapped within 30 s (${armed}); SIGKILL; integrity ${integrity}`;
  if (report.released) return `missed: the trap let the commit go on before the SIGKILL (${armed}); integrity ${integrity}`;
  t.aims.insideCommit++;
  const after = digestOf(t.dbPath);
  const allOrNothing = after === before;
  if (allOrNothing) t.aims.allOrNothing++;
  else t.aims.violations.push({ requestId, rule: 'not-all-or-nothing', detail: `the store after a SIGKILL inside a commit of ${report.commands ?? '?'} commands is not what was committed before it: part of the killed transaction's ${report.changes} changed rows stayed` });
  const what = report.commands === null ? 'a write transaction' : `a commit of ${plural(report.commands, 'command')}`;
  const seen = report.digest === before ? 'its writes left no difference to see' : 'none of its writes in the store after the kill';
  return `SIGKILL inside ${what} after ${plural(report.statements, 'statement')} (${plural(report.changes, 'row')} changed, uncommitted; ${armed}): ${allOrNothing ? seen : 'PART OF IT STAYED'}; integrity ${integrity}`;
}
