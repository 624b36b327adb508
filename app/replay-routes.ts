/**
 * How the OOS flow replays its dead letters, by what each holds (the replayer tries these in
 * order; any other letter goes back to the actor it failed in, if that actor's protocol takes it):
 * - a dead request, whichever actor gave up on it, goes back into the outbox with fresh attempts
 *   under the same request id; its letter is settled when the request ends;
 * - a result frame (undecodable, orphan, not applicable) is handed to the result-handler again,
 *   which decodes and applies it if it now can, or returns the letter;
 * - bridge mode: a host request frame the intake could not take (undecodable, refused by the
 *   gate) is handed to the intake again (e.g. once the candle file is fixed), which takes it in
 *   or returns the letter;
 * - bridge mode: a result never handed to the host (its forward dead) is pending again with a
 *   fresh budget, and the letter is replayed once the forward is revived.
 */
import { isRecord, type ActorPath } from '../runtime/index.ts';
import type { ReplayRoute } from '../actors/replayer.ts';
import { letterMessage } from '../actors/replayer.ts';
import { writeCommand } from '../actors/db-client.ts';
import type { DbWriterMessage } from '../actors/db-writer.ts';
import type { SenderMessage } from '../actors/sender.ts';
import type { ResultHandlerMessage } from '../actors/result-handler.ts';
import { INTAKE_LETTER_KIND, type IntakeMessage } from '../actors/intake.ts';
import type { ForwarderMessage } from '../actors/forwarder.ts';
import { FORWARD_LETTER_KIND } from '../persistence/host-forwards.ts';
import { REQUEST_LETTER_KIND } from '../persistence/dead-letters.ts';
import type { DeadLetter } from '../persistence/records.ts';

export interface ReplayRoutePaths {
  readonly writer: ActorPath<DbWriterMessage>;
  readonly sender: ActorPath<SenderMessage>;
  readonly resultHandler: ActorPath<ResultHandlerMessage>;
  readonly intake?: ActorPath<IntakeMessage>;
  readonly forwarder?: ActorPath<ForwarderMessage>;
}

const kindOf = (letter: DeadLetter): unknown => (isRecord(letter.message) ? letter.message.kind : undefined);

export function oosReplayRoutes(paths: ReplayRoutePaths): ReplayRoute[] {
  const requestRoute: ReplayRoute = {
    name: 'dead request -> outbox',
    matches: (letter) => kindOf(letter) === REQUEST_LETTER_KIND && typeof letter.requestId === 'string',
    replay: async (letter, ctx) => {
      const o = await writeCommand(ctx.system, paths.writer, { type: 'requeueRequest', requestId: letter.requestId! });
      if (o.status === 'requeued') {
        ctx.system.lookup(paths.sender)?.tell({ kind: 'wake' });
        return { kind: 'under_way' };
      }
      if (o.status === 'duplicate_live') return { kind: 'return', reason: `request ${o.requestId} not requeued: its strategy has a newer live request ${o.existingRequestId}` };
      // Requeued by an earlier pass that did not see its outcome (a crash between the two).
      if (o.state === 'pending' || o.state === 'in_flight') return { kind: 'under_way' };
      if (o.state === 'done') return { kind: 'replayed' };
      return { kind: 'return', reason: `request ${o.requestId} is not in the outbox` };
    },
  };
  const frameRoute: ReplayRoute = {
    name: 'result frame -> result-handler',
    matches: (letter) => kindOf(letter) === 'frame',
    replay: async (letter, ctx) => {
      const stored = letterMessage(letter, ctx) as { frame?: unknown };
      return { kind: 'deliver', to: paths.resultHandler, message: { kind: 'frame', frame: stored.frame, receivedAt: ctx.clock.now() } };
    },
  };
  const { intake, forwarder } = paths;
  if (intake === undefined || forwarder === undefined) return [requestRoute, frameRoute];
  const intakeRoute: ReplayRoute = {
    name: 'host request frame -> intake',
    matches: (letter) => kindOf(letter) === INTAKE_LETTER_KIND,
    replay: async (letter, ctx) => {
      const stored = letterMessage(letter, ctx) as { frame?: unknown };
      return { kind: 'deliver', to: intake, message: { kind: 'frame', frame: stored.frame, receivedAt: ctx.clock.now() } };
    },
  };
  const forwardRoute: ReplayRoute = {
    name: 'dead forward -> forwarder',
    matches: (letter) => kindOf(letter) === FORWARD_LETTER_KIND && typeof letter.requestId === 'string',
    replay: async (letter, ctx) => {
      const o = await writeCommand(ctx.system, paths.writer, { type: 'reviveForward', requestId: letter.requestId! });
      if (o.status === 'revived') {
        ctx.system.lookup(forwarder)?.tell({ kind: 'wake' });
        return { kind: 'replayed' };
      }
      // Revived by an earlier pass that did not see its outcome, or forwarded since.
      if (o.state === 'pending' || o.state === 'forwarded') return { kind: 'replayed' };
      return { kind: 'return', reason: `no forward of request ${o.requestId} to revive` };
    },
  };
  return [requestRoute, frameRoute, intakeRoute, forwardRoute];
}
