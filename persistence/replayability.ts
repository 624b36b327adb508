/** Whether a dead letter can be marked for replay now: one rule for the CLI and the control endpoint. */
import type { DeadLetter } from './records.ts';

/** Why a letter cannot be marked for replay now, or undefined when it can. */
export function whyNotReplayable(id: number, letter: DeadLetter | undefined, maxReplays: number): string | undefined {
  if (!letter) return `no such letter (${id})`;
  switch (letter.state) {
    case 'replayed':
      return `already replayed${letter.note ? ` (${letter.note})` : ''}`;
    case 'discarded':
      return `discarded${letter.note ? ` (${letter.note})` : ''}; a discarded letter is kept, never replayed`;
    case 'replaying':
      return letter.requestId ? `its replay is under way (request ${letter.requestId} is back in the outbox)` : 'already marked for replay';
    default:
      return letter.replayCount >= maxReplays ? `at the cap: ${letter.replayCount} of ${maxReplays} replays used; --max-replays N to raise it` : undefined;
  }
}
