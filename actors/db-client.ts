import type { ActorPath, ActorRef, ActorSystem } from '../runtime/index.ts';
import type { CommandOutcome, OutcomeOf, WriteCommand } from '../persistence/commands.ts';
import { DbWriteError, type DbWriteReply, type DbWriterMessage } from './db-writer.ts';

/** The db-writer to write through: its path, looked up at each call so a restarted writer is found, or a ref. */
export type WriterAddress = ActorPath<DbWriterMessage> | ActorRef<DbWriterMessage>;

function writerRef(system: ActorSystem, writer: WriterAddress): ActorRef<DbWriterMessage> {
  if (typeof writer !== 'string') return writer;
  const ref = system.lookup(writer);
  if (!ref) throw new Error(`db-writer ${writer} is not running`);
  return ref;
}

/** Sends commands to the db-writer and resolves with their outcomes once committed. */
export async function writeCommands(system: ActorSystem, writer: WriterAddress, commands: readonly WriteCommand[], timeoutMs = 30_000): Promise<CommandOutcome[]> {
  const reply = await system.query<DbWriterMessage, DbWriteReply>(writerRef(system, writer), (replyTo) => ({ kind: 'write', commands, replyTo }), timeoutMs);
  if (reply.kind === 'write_failed') throw new DbWriteError(reply.code, reply.error);
  return reply.outcomes;
}

/** One command, its outcome typed; a command that failed on its own data rejects with its error. */
export async function writeCommand<C extends WriteCommand>(system: ActorSystem, writer: WriterAddress, command: C, timeoutMs = 30_000): Promise<Exclude<OutcomeOf<C>, { status: 'error' }>> {
  const [outcome] = await writeCommands(system, writer, [command], timeoutMs);
  if (outcome.status === 'error') throw new DbWriteError('other', (outcome as { error: string }).error);
  return outcome as Exclude<OutcomeOf<C>, { status: 'error' }>;
}
