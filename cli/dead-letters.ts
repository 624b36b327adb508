/** `shoal dead-letters`: list, show, replay and discard what could not be processed. */
import { applyBatch } from '../persistence/batch.ts';
import { getDeadLetter, listDeadLetters } from '../persistence/dead-letters.ts';
import { DEAD_LETTER_STATES, type DeadLetterState } from '../persistence/schema.ts';
import type { DeadLetter } from '../persistence/records.ts';
import { whyNotReplayable } from '../persistence/replayability.ts';
import { countAtReplayCap } from '../persistence/operator-reads.ts';
import { defaultReplayPolicy } from '../actors/replayer.ts';
import { type CommandOutput, type FlagSpec, UsageError, dbPathFrom, formatTime, parseFlags, runCommand } from './args.ts';
import { openDatabase } from './open-db.ts';
import { runtimeHolder } from '../persistence/runtime-lock.ts';

export const DEAD_LETTERS_USAGE = `Usage:
  shoal dead-letters [list] [--state STATE] [--source PATH] [--request ID] [--limit N] [--json]
  shoal dead-letters show ID [--json]
  shoal dead-letters replay (ID... | --source PATH | --all) [--max-replays N]
  shoal dead-letters discard ID... [--reason TEXT]

Dead letters are messages and requests that could not be processed: poison messages, requests
that used all their attempts or got a non-retryable error, undecodable or orphan results. None
is ever deleted.

  list      lists letters, oldest first (the default action)
  show      prints one letter with its message and stack
  replay    marks letters for replay; the running runtime delivers them within its scan
            interval, or the next runtime at its start. A dead request goes back to the outbox
            with fresh attempts under the same id, and its letter reads 'replayed' only once the
            request completes. Each letter that cannot be replayed is named with why.
  discard   marks letters discarded (kept for the record, never replayed)

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
  -h, --help         show this help

Examples:
  shoal dead-letters --db /var/lib/shoal/shoal.db
  shoal dead-letters show 12 --json
  shoal dead-letters replay 12 13
  shoal dead-letters replay --source /shoal/pipeline/sender --max-replays 5
  shoal dead-letters discard 14 --reason "strategy retired"

Exit codes: 0 done, 1 a letter not found, not replayed or not discarded, 2 bad usage or no
usable database.
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
} as const satisfies FlagSpec;

/** The options each action takes (--db and --help go with all). */
const ACTION_OPTIONS: Record<string, readonly string[]> = {
  list: ['state', 'source', 'request', 'limit', 'json'],
  show: ['json'],
  replay: ['source', 'all', 'max-replays'],
  discard: ['reason'],
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

export async function deadLettersCommand(argv: string[], out: CommandOutput): Promise<number> {
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
    const store = await openDatabase('dead-letters', dbPathFrom(flags.db), out, { write });
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
