/**
 * The batch executor: applies write commands (commands.ts) in batches, group commit. A batch
 * runs ALL its commands in ONE `BEGIN IMMEDIATE` transaction, so it costs one commit (one fsync
 * with synchronous=FULL) whatever its size.
 *
 * A command that fails on its own data (a constraint, a bad value) is rolled back alone and
 * yields an `error` outcome while the others commit. Cheaply: the batch first runs without
 * savepoints; only when a command fails is the whole transaction rolled back and the batch run
 * again with a savepoint per command, which ends exactly as savepoints always would. A failure of
 * the database itself (busy, full, I/O, corrupt, read-only) rolls back the whole batch and throws
 * a StoreError; nothing of the batch is committed then.
 *
 * Outcomes come back in command order. Commands see the effects of the commands before them in
 * the same batch. `now` (Unix ms) is the batch's time for every timestamp it writes.
 */
import type { Store } from './connection.ts';
import { applyCommand, BATCH_SCOPES, describeCommand, type CommandFailed, type CommandOutcome, type OutcomeOf, type WriteCommand } from './commands.ts';
import { classifySqliteCode, hintFor, isBatchFatal, messageOf, sqliteCodeOf, StoreError } from './errors.ts';
import { perConnection } from './prepared.ts';

function failed(c: WriteCommand, err: unknown): CommandFailed {
  const sqliteCode = sqliteCodeOf(err);
  const out: CommandFailed = {
    type: c.type,
    status: 'error',
    error: `${describeCommand(c)} failed: ${messageOf(err)}${sqliteCode ? ` [${sqliteCode}]` : ''}`,
  };
  if (sqliteCode !== undefined) out.sqliteCode = sqliteCode;
  return out;
}

/** Carries the failing command's index out of the transaction function. */
class BatchAbort extends Error {
  constructor(
    readonly index: number,
    readonly failure: unknown,
  ) {
    super(messageOf(failure));
  }
}

const transactions = perConnection((store: Store) => {
  const { sqlite } = store;
  // One wrapper each, made once: called inside the batch, better-sqlite3 turns it into a savepoint.
  const isolated = sqlite.transaction((c: WriteCommand, now: number) => applyCommand(store, c, now));
  const batch = sqlite.transaction((commands: readonly WriteCommand[], now: number, savepoints: boolean) => {
    for (const scope of BATCH_SCOPES) scope.begin(store);
    const outcomes = new Array<CommandOutcome>(commands.length);
    for (let i = 0; i < commands.length; i++) {
      const c = commands[i];
      try {
        outcomes[i] = savepoints ? isolated(c, now) : applyCommand(store, c, now);
      } catch (err) {
        // SQLite may already have rolled the whole transaction back (e.g. after SQLITE_FULL).
        if (!savepoints || isBatchFatal(err) || !sqlite.inTransaction) throw new BatchAbort(i, err);
        outcomes[i] = failed(c, err);
      }
    }
    for (const scope of BATCH_SCOPES) scope.end(store);
    return outcomes;
  });
  return { batch };
});

function toStoreError(err: unknown, commands: readonly WriteCommand[]): StoreError {
  const cause = err instanceof BatchAbort ? err.failure : err;
  const sqliteCode = sqliteCodeOf(cause);
  const code = classifySqliteCode(sqliteCode);
  const where = err instanceof BatchAbort ? ` at command #${err.index} (${describeCommand(commands[err.index])})` : '';
  const message =
    `write batch of ${commands.length} command(s) rolled back, nothing of it committed${where}: ` +
    `${messageOf(cause)}${sqliteCode ? ` [${sqliteCode}]` : ''}; ${code}: ${hintFor(code)}`;
  return new StoreError(code, message, sqliteCode, commands.length, { cause });
}

/**
 * Applies a batch in one BEGIN IMMEDIATE transaction (see the top of this file). Returns one
 * outcome per command, in order; throws StoreError when the batch as a whole failed.
 */
export function applyBatch(store: Store, commands: readonly WriteCommand[], now: number): CommandOutcome[] {
  if (commands.length === 0) return [];
  if (!Number.isInteger(now)) throw new TypeError(`applyBatch: now must be integer Unix ms, got ${now}`);
  if (store.sqlite.inTransaction) throw new Error('applyBatch: a transaction is already open on this connection');
  const { batch } = transactions(store);
  try {
    try {
      return batch.immediate(commands, now, false);
    } catch (err) {
      // The first run was rolled back as a whole, so running the batch again starts clean.
      if (!(err instanceof BatchAbort) || isBatchFatal(err.failure)) throw err;
      return batch.immediate(commands, now, true);
    }
  } catch (err) {
    throw toStoreError(err, commands);
  }
}

/** One command in its own transaction, with its outcome typed. */
export function applyOne<C extends WriteCommand>(store: Store, command: C, now: number): OutcomeOf<C> {
  return applyBatch(store, [command], now)[0] as OutcomeOf<C>;
}
