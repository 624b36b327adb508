/** `shoal dead-letters`: list, show, replay and discard what could not be processed. */
import { applyBatch } from '../persistence/commands.ts';
import { getDeadLetter, listDeadLetters } from '../persistence/dead-letters.ts';
import { DEAD_LETTER_STATES, type DeadLetterState } from '../persistence/schema.ts';
import type { DeadLetter } from '../persistence/records.ts';
import { defaultReplayPolicy } from '../actors/replayer.ts';
import { type CommandOutput, UsageError, dbPathFrom, formatTime, parseFlags, runCommand } from './args.ts';
import { openDatabase } from './open-db.ts';

export const DEAD_LETTERS_USAGE = `Usage:
  shoal dead-letters [list] [--state STATE] [--source PATH] [--request ID] [--limit N] [--json]
  shoal dead-letters show ID [--json]
  shoal dead-letters replay (ID... | --source PATH | --all) [--max-replays N]
  shoal dead-letters discard ID... [--reason TEXT]

Dead letters are messages and requests that could not be processed: poison messages, requests
that used all their attempts or got a non-retryable error, undecodable or orphan results. None
is ever deleted.

  replay    marks letters for replay; the running runtime delivers them (a dead request goes
            back to the outbox with fresh attempts) within its scan interval. A letter is
            replayed at most --max-replays times (default ${defaultReplayPolicy.maxReplays}).
  discard   marks letters discarded (kept for the record, never replayed).

  --db PATH       database (default $SHOAL_DB or ./shoal.db)
  --state STATE   one of ${DEAD_LETTER_STATES.join(', ')} (list; default dead)
  -h, --help      show this help
`;

function line(l: DeadLetter): string {
  return `${String(l.id).padStart(6)}  ${l.state.padEnd(10)} ${formatTime(l.lastFailedAt).padEnd(21)} ${l.source.padEnd(32)} replays ${l.replayCount}  ${l.requestId ?? ''}  ${l.error.slice(0, 100)}`;
}

function ids(positionals: string[]): number[] {
  return positionals.map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`dead letter ids are positive integers, got '${p}'`);
    return n;
  });
}

export async function deadLettersCommand(argv: string[], out: CommandOutput): Promise<number> {
  return runCommand('dead-letters', DEAD_LETTERS_USAGE, out, () => {
    const { flags, positionals } = parseFlags(argv, {
      db: { type: 'string' },
      state: { type: 'string' },
      source: { type: 'string' },
      request: { type: 'string' },
      limit: { type: 'number' },
      json: { type: 'boolean' },
      all: { type: 'boolean' },
      reason: { type: 'string' },
      'max-replays': { type: 'number' },
      help: { type: 'boolean', short: 'h' },
    });
    if (flags.help) {
      out.stdout(DEAD_LETTERS_USAGE);
      return 0;
    }
    const [verb = 'list', ...rest] = positionals;
    if (!['list', 'show', 'replay', 'discard'].includes(verb)) throw new UsageError(`unknown action '${verb}'`);
    if (flags.state !== undefined && !(DEAD_LETTER_STATES as readonly string[]).includes(flags.state)) throw new UsageError(`--state must be one of ${DEAD_LETTER_STATES.join(', ')}`);
    const write = verb === 'replay' || verb === 'discard';
    const store = openDatabase('dead-letters', dbPathFrom(flags.db), out, { write });
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
          const [id] = ids(rest);
          if (id === undefined) throw new UsageError('show needs a dead letter id');
          const l = getDeadLetter(store, id);
          if (!l) {
            out.stderr(`shoal dead-letters: no dead letter ${id}\n`);
            return 1;
          }
          out.stdout(flags.json ? `${JSON.stringify(l, null, 2)}\n` : `${line(l)}\nmessage: ${JSON.stringify(l.message, null, 2)}\n${l.stack ? `stack:\n${l.stack}\n` : ''}`);
          return 0;
        }
        case 'replay': {
          const chosen = ids(rest);
          if (chosen.length === 0 && !flags.source && !flags.all) throw new UsageError('replay needs ids, --source PATH or --all');
          const maxReplays = flags['max-replays'] ?? defaultReplayPolicy.maxReplays;
          const [o] = applyBatch(store, [{ type: 'claimDeadLettersForReplay', ids: chosen.length > 0 ? chosen : undefined, source: flags.source, limit: 10_000, maxReplays }], Date.now());
          const letters = o.type === 'claimDeadLettersForReplay' && o.status === 'claimed' ? o.letters : [];
          out.stdout(`${letters.length} dead letter(s) marked for replay${letters.length > 0 ? `: ${letters.map((l) => l.id).join(', ')}` : ''}; the running runtime delivers them\n`);
          return letters.length > 0 || chosen.length === 0 ? 0 : 1;
        }
        default: {
          const chosen = ids(rest);
          if (chosen.length === 0) throw new UsageError('discard needs dead letter ids');
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
