/**
 * Dead letters: every message the kernel cannot deliver or process ends here, never silently.
 * The sink is pluggable; the in-memory sink is the default and the persisted sink (persistence/)
 * makes a dead letter durable before the message leaves its mailbox.
 */
export type DeadLetterReason =
  | 'stopped' // target actor was stopped (or stopped with messages still queued)
  | 'unknown' // no actor at that path
  | 'mailbox_full' // bounded mailbox overflow
  | 'poison' // the message crashed its actor more times than allowed
  | 'late_reply'; // a reply to a query that had already timed out

export interface DeadLetter {
  readonly reason: DeadLetterReason;
  /** Path of the intended receiver. */
  readonly target: string;
  /** Path of the sender when known. */
  readonly sender?: string;
  readonly message: unknown;
  readonly error?: string;
  readonly stack?: string;
  /** Processing attempts made (poison messages). */
  readonly attempts?: number;
  readonly at: number;
  /** Set when the message was itself a replay of the persisted dead letter with this id. */
  readonly replayOf?: number;
}

export interface DeadLetterSink {
  /**
   * Records a dead letter. A returned promise means "durable once resolved": the kernel keeps a
   * poison message at the head of its mailbox until then.
   */
  record(letter: DeadLetter): void | Promise<void>;
}

/** Keeps the most recent letters in memory and counts every letter by reason. */
export class InMemoryDeadLetterSink implements DeadLetterSink {
  readonly letters: DeadLetter[] = [];
  readonly counts: Record<DeadLetterReason, number> = { stopped: 0, unknown: 0, mailbox_full: 0, poison: 0, late_reply: 0 };

  constructor(private readonly keep = 10_000) {}

  record(letter: DeadLetter): void {
    this.counts[letter.reason]++;
    this.letters.push(letter);
    if (this.letters.length > this.keep) this.letters.splice(0, this.letters.length - this.keep);
  }

  total(): number {
    let n = 0;
    for (const k of Object.keys(this.counts) as DeadLetterReason[]) n += this.counts[k];
    return n;
  }
}

export function describeError(err: unknown): { error: string; stack?: string } {
  if (err instanceof Error) return { error: `${err.name}: ${err.message}`, stack: err.stack };
  return { error: String(err) };
}

/** The one-line text of an error, without formatting its stack (which is costly, and far more so with source maps). */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
