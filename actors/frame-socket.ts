/**
 * What the actors that bind a PULL socket for frames from outside (the result-handler, the
 * bridge's intake) share: a read loop that feeds the mailbox and holds back while it is behind,
 * and the dead letter that keeps a frame that could not be used, bytes and all.
 */
import type { ActorContext } from '../runtime/index.ts';
import type { WriteCommand } from '../persistence/commands.ts';
import type { PullChannel } from '../transport/pull-channel.ts';

/** Reads frames into the actor's mailbox as `{ kind: 'frame', frame, receivedAt }` until the socket closes; pauses while the mailbox holds more than `highWater`. */
export async function readFramesIntoMailbox<M>(
  state: { readonly pull: PullChannel; readonly closed: boolean },
  ctx: ActorContext<M>,
  highWater: number,
  what: string,
): Promise<void> {
  try {
    for (;;) {
      const frame = await state.pull.receive();
      ctx.self.tell({ kind: 'frame', frame, receivedAt: ctx.clock.now() } as M);
      while (ctx.mailboxLength() > highWater && !state.closed) await new Promise((r) => setImmediate(r));
    }
  } catch (e) {
    if (!state.closed) ctx.crash(new Error(`${what} ${state.pull.endpoint} failed: ${(e as Error).message}`));
  }
}

/** Keeps a frame that could not be used as a dead letter of kind `kind`; a replayed frame that fails again goes back to its letter. */
export function frameLetter(source: string, kind: string, frame: Buffer, why: string, requestId: string | undefined, replayOf: number | undefined): WriteCommand {
  return replayOf !== undefined
    ? { type: 'deadLetterReturned', id: replayOf, error: why }
    : {
        type: 'insertDeadLetter',
        source,
        message: { kind, frame: { $bytes: frame.toString('base64') }, text: frame.toString('utf8').slice(0, 2_000) },
        error: why,
        attempts: 1,
        requestId,
      };
}
