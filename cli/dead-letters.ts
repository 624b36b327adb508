/** `shoal dead-letters`: list, show, replay and discard what could not be processed. */
import { applyBatch } from '../persistence/batch.ts';
import { getDeadLetter, listDeadLetters } from '../persistence/dead-letters.ts';
import { DEAD_LETTER_STATES, type DeadLetterState } from '../persistence/schema.ts';
import type { DeadLetter } from '../persistence/records.ts';
import { whyNotReplayable } from '../persistence/replayability.ts';
import { countAtReplayCap } from '../persistence/operator-reads.ts';
import { defaultReplayPolicy } from '../actors/replayer.ts';
import { type CommandOutput, type FlagSpec, type Flags, UsageError, dbPathFrom, formatTime, parseFlags, runCommand } from './args.ts';
import type { ControlAddress } from '../app/control/discovery.ts';
import { call, findRuntime, NO_RUNTIME, RefusedError, tokenFor, UnreachableError } from './runtime-link.ts';
import { processTerminal, progress } from './terminal.ts';
import { openDatabase } from './open-db.ts';
import { runtimeHolder } from '../persistence/runtime-lock.ts';

export const DEAD_LETTERS_USAGE = `Usage (dead-letters is the same command as dlq):
  shoal dlq [list] [--state STATE] [--source PATH] [--request ID] [--limit N] [--json]
  shoal dlq show ID [--json]
  shoal dlq replay (ID... | --source PATH | --all) [--max-replays N] [--token TOKEN]
  shoal dlq discard ID... [--reason TEXT] [--token TOKEN]

Dead letters are messages and requests that could not be processed: poison messages, requests
that used all their attempts or got a non-retryable error, undecodable or orphan results. None
is ever deleted.

  list      lists letters, oldest first (the default action)
  show      prints one letter with its message and stack
  replay    replays letters. With a runtime running, through its control endpoint: they are
            claimed and delivered at once. With none, they are marked in the database and the
            next runtime replays them at its start. A dead request goes back to the outbox with
            fresh attempts under the same id, and its letter reads 'replayed' only once the
            request completes. Each letter that cannot be replayed is named with why.
  discard   marks letters discarded (kept for the record, never replayed); through the running
            runtime when there is one, else in the database

Options:
  --db PATH          the database (default $SHOAL_DB, else ./shoal.db); list and show only read it
  --state STATE      list: letters in this state (default dead), one of
                     ${DEAD_LETTER_STATES.join(', ')}
  --source PATH      list, replay: letters from this actor path, as list shows it
                     (e.g. /shoal/pipeline/sender)
  --request ID       list: letters of this OOS request id
  --limit N          list: at most N letters, N >= 1 (default 50)
  --json             list, show: print JSON
  --all              replay: every dead letter under the cap
  --max-replays N    replay: times a letter may be replayed, N >= 1 (default ${defaultReplayPolicy.maxReplays})
  --reason TEXT      discard: why, kept with the letter
  --token TOKEN      replay, discard with a runtime running: its control token (default
                     $SHOAL_TOKEN, else the <db>.token file beside the database)
  -h, --help         show this help

Examples:
  shoal dlq --db /var/lib/shoal/shoal.db
  shoal dlq show 12 --json
  shoal dlq replay 12 13
  shoal dlq replay --source /shoal/pipeline/sender --max-replays 5
  shoal dlq discard 14 --reason "strategy retired"

Exit codes: 0 done; 1 a letter not found, not replayed or not discarded; 2 bad usage, no usable
database, or the control token missing or refused; 3 the runtime's endpoint stopped answering
(nothing was changed).
`;

export const DEAD_LETTERS_OPTIONS = {
  db: { type: 'string' },
  state: { type: 'string', choices: DEAD_LETTER_STATES },
  source: { type: 'string' },
  request: { type: 'string' },
  limit: { type: 'number', integer: true, min: 1 },
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  reason: { type: 'string' },
  'max-replays': { type: 'number', integer: true, min: 1 },
  token: { type: 'string' },
} as const satisfies FlagSpec;

/** The options each action takes (--db and --help go with all). */
const ACTION_OPTIONS: Record<string, readonly string[]> = {
  list: ['state', 'source', 'request', 'limit', 'json'],
  show: ['json'],
  replay: ['source', 'all', 'max-replays', 'token'],
  discard: ['reason', 'token'],
};

function line(l: DeadLetter): string {
  return `${String(l.id).padStart(6)}  ${l.state.padEnd(10)} ${formatTime(l.lastFailedAt).padEnd(21)} ${l.source.padEnd(32)} replays ${l.replayCount}  ${l.requestId ?? ''}  ${l.error.slice(0, 100)}`;
}

export { whyNotReplayable };

function ids(positionals: string[]): number[] {
  return positionals.map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`dead letter ids are positive integers, got '${p}'`);
    return n;
  });
}

type DeadLetterFlags = Flags<typeof DEAD_LETTERS_OPTIONS>;

interface ReplayAnswer {
  claimed: number;
  ids: number[];
  refused: { id: number; why: string }[];
  atCap: number;
  maxReplays: number;
}

/** replay and discard by the running runtime's control endpoint (with its token). */
async function throughRuntime(verb: 'replay' | 'discard', address: ControlAddress, chosen: number[], flags: DeadLetterFlags, db: string, out: CommandOutput, env: Record<string, string | undefined>): Promise<number> {
  let token: string;
  try {
    token = tokenFor(db, flags.token, env);
  } catch (e) {
    out.stderr(`shoal dead-letters: ${(e as Error).message} (give --token or $SHOAL_TOKEN)\n`);
    return 2;
  }
  try {
    if (verb === 'replay') {
      const body = { ...(chosen.length > 0 ? { ids: chosen } : {}), ...(flags.source !== undefined ? { source: flags.source } : {}), ...(flags.all ? { all: true } : {}), ...(flags['max-replays'] !== undefined ? { maxReplays: flags['max-replays'] } : {}) };
      const r = await call<ReplayAnswer>(address, 'POST', '/v1/dead-letters/replay', { token, body });
      for (const x of r.refused) out.stderr(`dead letter ${x.id} not replayed: ${x.why}\n`);
      if (r.atCap > 0) out.stderr(`${r.atCap} dead letter(s) not replayed: at the cap of ${r.maxReplays} replays; --max-replays N to raise it\n`);
      out.stdout(`${r.claimed} dead letter(s) replaying now${r.claimed > 0 ? `: ${r.ids.join(', ')}; the running runtime (pid ${address.pid}) is delivering ${r.claimed === 1 ? 'it' : 'them'}` : ''}\n`);
      return r.refused.length > 0 ? 1 : 0;
    }
    let failed = 0;
    const p = progress(chosen.length > 20 && processTerminal(env).stderrTty);
    for (const [i, id] of chosen.entries()) {
      p.update(`discarding ${i + 1}/${chosen.length}`);
      try {
        await call(address, 'POST', `/v1/dead-letters/${id}/discard`, { token, body: flags.reason !== undefined ? { reason: flags.reason } : {} });
        p.done();
        out.stdout(`dead letter ${id} discarded\n`);
      } catch (e) {
        if (!(e instanceof RefusedError) || e.exitCode !== 1) throw e;
        failed++;
        p.done();
        out.stderr(`dead letter ${id} not discarded: ${e.message}\n`);
      }
    }
    p.done();
    return failed > 0 ? 1 : 0;
  } catch (e) {
    if (e instanceof UnreachableError) {
      out.stderr(`shoal dead-letters: no runtime reachable: ${e.message}; nothing was changed (run again to act on the database directly once the runtime is gone)\n`);
      return NO_RUNTIME;
    }
    if (e instanceof RefusedError) {
      out.stderr(`shoal dead-letters: refused: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

export async function deadLettersCommand(argv: string[], out: CommandOutput, env: Record<string, string | undefined> = process.env): Promise<number> {
  return runCommand('dead-letters', DEAD_LETTERS_USAGE, out, async () => {
    const { flags, positionals, help } = parseFlags(argv, DEAD_LETTERS_OPTIONS, { allowPositionals: true });
    if (help) {
      out.stdout(DEAD_LETTERS_USAGE);
      return 0;
    }
    const [verb = 'list', ...rest] = positionals;
    const allowed = ACTION_OPTIONS[verb];
    if (!allowed) throw new UsageError(`unknown action '${verb}' (known: ${Object.keys(ACTION_OPTIONS).join(', ')})`);
    const stray = Object.keys(flags).filter((f) => f !== 'db' && !allowed.includes(f));
    if (stray.length > 0) throw new UsageError(`option --${stray[0]} does not apply to '${verb}'`);
    if (verb === 'list' && rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' (list takes options only)`);
    if (verb === 'show' && rest.length !== 1) throw new UsageError(rest.length === 0 ? 'show needs a dead letter id' : `show takes one dead letter id, got ${rest.length}`);
    const chosen = ids(rest);
    if (verb === 'replay' && chosen.length === 0 && flags.source === undefined && !flags.all) throw new UsageError('replay needs ids, --source PATH or --all');
    if (verb === 'discard' && chosen.length === 0) throw new UsageError('discard needs dead letter ids');
    const write = verb === 'replay' || verb === 'discard';
    if (write) {
      // A running runtime does it at once, through its endpoint; with none, the store is changed
      // directly and the next runtime carries the replays out at its start.
      const link = findRuntime(dbPathFrom(flags.db, env));
      if (link.up) return throughRuntime(verb, link.address, chosen, flags, dbPathFrom(flags.db, env), out, env);
    }
    const store = await openDatabase('dead-letters', dbPathFrom(flags.db, env), out, { write });
    if (!store) return 2;
    try {
      switch (verb) {
        case 'list': {
          const letters = listDeadLetters(store, { state: (flags.state as DeadLetterState | undefined) ?? 'dead', source: flags.source, requestId: flags.request, limit: flags.limit ?? 50 });
          if (flags.json) out.stdout(`${JSON.stringify(letters, null, 2)}\n`);
          else if (letters.length === 0) out.stdout('no dead letters\n');
          else out.stdout(`${letters.map(line).join('\n')}\n`);
          return 0;
        }
        case 'show': {
          const [id] = chosen;
          const l = getDeadLetter(store, id);
          if (!l) {
            out.stderr(`shoal dead-letters: no dead letter ${id}\n`);
            return 1;
          }
          out.stdout(flags.json ? `${JSON.stringify(l, null, 2)}\n` : `${line(l)}\nmessage: ${JSON.stringify(l.message, null, 2)}\n${l.stack ? `stack:\n${l.stack}\n` : ''}`);
          return 0;
        }
        case 'replay': {
          const maxReplays = flags['max-replays'] ?? defaultReplayPolicy.maxReplays;
          const refusals = chosen.flatMap((id) => {
            const why = whyNotReplayable(id, getDeadLetter(store, id), maxReplays);
            return why ? [{ id, why }] : [];
          });
          const claimable = chosen.filter((id) => !refusals.some((r) => r.id === id));
          const atCap = chosen.length === 0 ? countAtReplayCap(store, flags.source, maxReplays) : 0;
          let letters: DeadLetter[] = [];
          let underWay = 0;
          if (chosen.length === 0 || claimable.length > 0) {
            // A claim also returns letters already replaying; only the newly marked are news.
            const before = new Set(listDeadLetters(store, { state: 'replaying', source: flags.source, limit: 10_000 }).map((l) => l.id));
            const [o] = applyBatch(store, [{ type: 'claimDeadLettersForReplay', ids: chosen.length > 0 ? claimable : undefined, source: flags.source, limit: 10_000, maxReplays }], Date.now());
            const claimed = o.type === 'claimDeadLettersForReplay' && o.status === 'claimed' ? o.letters : [];
            letters = claimed.filter((l) => !before.has(l.id));
            underWay = claimed.length - letters.length;
          }
          for (const r of refusals) out.stderr(`dead letter ${r.id} not replayed: ${r.why}\n`);
          if (atCap > 0) out.stderr(`${atCap} dead letter(s) not replayed: at the cap of ${maxReplays} replays; --max-replays N to raise it\n`);
          const holder = runtimeHolder(store.path);
          const them = letters.length === 1 ? 'it' : 'them';
          const who = holder.running
            ? `the running runtime${holder.pid ? ` (pid ${holder.pid})` : ''} delivers ${them} within seconds`
            : `no runtime is running: ${letters.length === 1 ? 'it' : 'they'} will be replayed at the next start`;
          out.stdout(`${letters.length} dead letter(s) marked for replay${letters.length > 0 ? `: ${letters.map((l) => l.id).join(', ')}; ${who}` : ''}${underWay > 0 ? `; ${underWay} already under way` : ''}\n`);
          return refusals.length > 0 ? 1 : 0;
        }
        default: {
          const outcomes = applyBatch(store, chosen.map((id) => ({ type: 'discardDeadLetter' as const, id, reason: flags.reason })), Date.now());
          let failed = 0;
          outcomes.forEach((o, i) => {
            if (o.status === 'discarded') out.stdout(`dead letter ${chosen[i]} discarded\n`);
            else {
              failed++;
              out.stderr(`dead letter ${chosen[i]} not discarded: ${'state' in o ? `it is ${o.state ?? 'missing'}` : JSON.stringify(o)}\n`);
            }
          });
          return failed > 0 ? 1 : 0;
        }
      }
    } finally {
      store.close();
    }
  });
}
