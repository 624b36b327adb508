/**
 * A batch of write commands put together for one db-writer call, and each command's outcome once
 * the call returns. `add` hands back the command's own handle, whose outcome is typed by the
 * command: callers keep no indexes into the outcome list.
 */
import type { ActorSystem } from '../runtime/index.ts';
import type { CommandOutcome, OutcomeOf, WriteCommand } from '../persistence/commands.ts';
import { writeCommands, type WriterAddress } from './db-client.ts';

/** One command of a batch. */
export interface PendingCommand<C extends WriteCommand> {
  readonly command: C;
  /** Its outcome once the batch was written (or failed: then an error naming why); throws before. */
  outcome(): OutcomeOf<C>;
}

export class CommandBatch {
  private readonly commands: WriteCommand[] = [];
  private outcomes: readonly CommandOutcome[] | undefined;

  add<C extends WriteCommand>(command: C): PendingCommand<C> {
    if (this.outcomes !== undefined) throw new Error(`command batch: ${command.type} added after the batch was written`);
    const index = this.commands.push(command) - 1;
    // The writer answers one outcome per command, in command order: the one at `index` is this command's.
    return { command, outcome: () => this.outcomeAt(index) as OutcomeOf<C> };
  }

  get size(): number {
    return this.commands.length;
  }

  /** Writes every command added in one db-writer call; rejects, leaving no outcomes, when it did not commit. */
  async write(system: ActorSystem, writer: WriterAddress, timeoutMs?: number): Promise<void> {
    this.outcomes = await writeCommands(system, writer, this.commands, timeoutMs);
  }

  /** The write did not commit: each command's outcome becomes an error that says why. */
  fail(error: unknown): void {
    const why = error instanceof Error ? error.message : String(error);
    this.outcomes = this.commands.map((c) => ({ type: c.type, status: 'error', error: why }));
  }

  private outcomeAt(index: number): CommandOutcome {
    if (this.outcomes === undefined) throw new Error(`command batch: the outcome of ${this.commands[index].type} (#${index}) read before the batch was written`);
    return this.outcomes[index];
  }
}
