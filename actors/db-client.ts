import type { ActorRef, ActorSystem } from '../runtime/index.ts';
import type { CommandOutcome, OutcomeOf, WriteCommand } from '../persistence/commands.ts';
import { DbWriteError, type DbWriteReply, type DbWriterMessage } from './db-writer.ts';

/** Sends commands to the db-writer and resolves with their outcomes once committed. */
export async function writeCommands(system: ActorSystem, writer: ActorRef<DbWriterMessage>, commands: readonly WriteCommand[], timeoutMs = 30_000): Promise<CommandOutcome[]> {
  const reply = await system.query<DbWriterMessage, DbWriteReply>(writer, (replyTo) => ({ kind: 'write', commands, replyTo }), timeoutMs);
  if (reply.kind === 'write_failed') throw new DbWriteError(reply.code, reply.error);
  return reply.outcomes;
}

/** One command, its outcome typed; a command that failed on its own data rejects with its error. */
export async function writeCommand<C extends WriteCommand>(system: ActorSystem, writer: ActorRef<DbWriterMessage>, command: C, timeoutMs = 30_000): Promise<Exclude<OutcomeOf<C>, { status: 'error' }>> {
  const [outcome] = await writeCommands(system, writer, [command], timeoutMs);
  if (outcome.status === 'error') throw new DbWriteError('other', (outcome as { error: string }).error);
  return outcome as Exclude<OutcomeOf<C>, { status: 'error' }>;
}
