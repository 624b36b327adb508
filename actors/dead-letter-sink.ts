import type { ActorPath, ActorSystem, DeadLetter, DeadLetterSink } from '../runtime/index.ts';
import { describeError } from '../runtime/index.ts';
import type { InsertDeadLetterCommand } from '../persistence/dead-letters.ts';
import type { DeadLetterSpool } from '../persistence/dead-letter-spool.ts';
import { messageToJson } from '../persistence/message-json.ts';
import { writeCommands } from './db-client.ts';
import type { DbWriterMessage } from './db-writer.ts';

/** The request id a message carries, if any (so dead letters can be found by request). */
function requestIdOf(message: unknown): string | undefined {
  if (message === null || typeof message !== 'object') return undefined;
  const m = message as Record<string, unknown>;
  for (const k of ['requestId', 'request_id']) if (typeof m[k] === 'string') return m[k] as string;
  return undefined;
}

function traceparentOf(message: unknown): string | undefined {
  if (message === null || typeof message !== 'object') return undefined;
  const t = (message as Record<string, unknown>).traceparent;
  return typeof t === 'string' ? t : undefined;
}

export function letterToCommand(letter: DeadLetter): InsertDeadLetterCommand {
  return {
    type: 'insertDeadLetter',
    source: letter.target,
    message: JSON.parse(messageToJson(letter.message)),
    error: `${letter.reason}: ${letter.error ?? describeReason(letter)}`,
    stack: letter.stack,
    attempts: letter.attempts ?? 0,
    firstFailedAt: letter.at,
    requestId: requestIdOf(letter.message),
    traceparent: traceparentOf(letter.message),
  };
}

function describeReason(l: DeadLetter): string {
  switch (l.reason) {
    case 'stopped':
      return `actor ${l.target} was stopped`;
    case 'unknown':
      return `no actor at ${l.target}`;
    case 'mailbox_full':
      return `mailbox of ${l.target} was full`;
    case 'late_reply':
      return 'reply arrived after its query timed out';
    default:
      return 'message could not be processed';
  }
}

/**
 * The persisted dead-letter mailbox, plugged into the kernel. A letter is written through the
 * db-writer and the returned promise resolves only after the commit, so the kernel drops a poison
 * message from its mailbox only once it is durable. Letters for the db-writer itself, or while it
 * cannot be reached, go to the fsynced spool that the writer imports at its next start.
 */
export class PersistedDeadLetterSink implements DeadLetterSink {
  readonly counts = { persisted: 0, spooled: 0, returned: 0, failed: 0 };

  constructor(
    private readonly system: ActorSystem,
    private readonly writerPath: ActorPath<DbWriterMessage>,
    private readonly spool: DeadLetterSpool,
    private readonly timeoutMs = 10_000,
  ) {}

  record(letter: DeadLetter): void | Promise<void> {
    const writer = this.system.lookup(this.writerPath);
    const command = letterToCommand(letter);
    if (!writer || letter.target === this.writerPath || letter.target.startsWith(`${this.writerPath}#`)) {
      this.spool.append(command);
      this.counts.spooled++;
      return;
    }
    const commands =
      letter.replayOf !== undefined
        ? [{ type: 'deadLetterReturned' as const, id: letter.replayOf, error: command.error, stack: command.stack }]
        : [command];
    return writeCommands(this.system, writer, commands, this.timeoutMs).then(
      (outcomes) => {
        if (outcomes[0].status === 'error') throw new Error(`dead letter not stored: ${(outcomes[0] as { error: string }).error}`);
        if (letter.replayOf !== undefined) this.counts.returned++;
        else this.counts.persisted++;
      },
      (e) => {
        // The writer is failing: fall back to the spool rather than lose the letter.
        this.counts.failed++;
        this.spool.append({ ...command, error: `${command.error} (spooled: ${describeError(e).error})` });
        this.counts.spooled++;
      },
    );
  }
}
