/**
 * What a write command is, in one place: its `type`, what it does inside a batch's transaction
 * (`apply`, giving its outcome) and one line naming it (`describe`, for errors). The module that
 * owns a command's table defines the command with this; the registry (commands.ts) lists every
 * command, and the executor (batch.ts) runs batches of them. Nothing here knows any command.
 */
import type { Store } from './connection.ts';

export interface CommandSpec<C extends { readonly type: string }, O> {
  readonly type: C['type'];
  /** Runs inside the batch's transaction at the batch's time `now` (Unix ms); throws on bad data. */
  apply(store: Store, command: C, now: number): O;
  /** The command, its main table and key, e.g. `retryRequest (oos_requests) request=R`. */
  describe(command: C): string;
}

/** Work a module does around every write transaction (begin first, end just before the commit). */
export interface BatchScope {
  begin(store: Store): void;
  end(store: Store): void;
}
