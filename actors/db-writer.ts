/**
 * db-writer: the only writer to the SQLite store. Other actors send it commands; every command
 * that arrives in one turn goes into one transaction (group commit), and each caller is told the
 * outcome after the commit, so "accepted" always means durable.
 *
 * Failures: SQLITE_BUSY is retried here with backoff (the connection's busy_timeout is kept short
 * because better-sqlite3 waits synchronously); full, I/O, corrupt or read-only errors crash the
 * actor. The batch stays at the head of the mailbox, so after the supervisor restarts the writer
 * the commands are retried one by one; a command that keeps failing is dead-lettered (to the
 * spool, as the database is what fails) and its caller gets the error then.
 *
 * Checkpoints: every `checkpointIntervalMs` the WAL is copied into the database. Each one is told
 * to `onCheckpoint` as it starts (with the WAL's size) and as it finishes (frames copied, how
 * long), and counted in the health, so an operator sees a checkpoint that is slow or never
 * catches up; a checkpoint that throws crashes the writer like a failed batch.
 */
import { statSync } from 'node:fs';
import { kindGuard, type ActorContext, type ActorRef } from '../runtime/index.ts';
import { type BackoffPolicy, backoffDelay } from '../runtime/backoff.ts';
import type { Clock } from '../runtime/clock.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import type { CommandOutcome, WriteCommand } from '../persistence/commands.ts';
import { applyBatch } from '../persistence/batch.ts';
import { type CheckpointMode, type Store, type SynchronousMode, checkpoint, openStore } from '../persistence/connection.ts';
import { StoreError, type StoreErrorCode } from '../persistence/errors.ts';
import type { DeadLetterSpool } from '../persistence/dead-letter-spool.ts';

// ---- protocol ----------------------------------------------------------------------------------

export interface DbWrite {
  readonly kind: 'write';
  readonly commands: readonly WriteCommand[];
  readonly replyTo?: ActorRef<DbWriteReply>;
  /** Echoed in the reply so a caller can match it. */
  readonly tag?: unknown;
}

export interface DbCheckpoint {
  readonly kind: 'checkpoint';
}

export type DbWriterMessage = DbWrite | DbCheckpoint;

export const isDbWriterMessage = kindGuard<DbWriterMessage>({ write: (m) => Array.isArray(m.commands), checkpoint: true });

/** A periodic WAL checkpoint starting, or finished (a checkpoint that throws crashes the writer instead). */
export type CheckpointEvent =
  | { readonly phase: 'started'; readonly mode: CheckpointMode; readonly walBytes: number }
  | {
      readonly phase: 'finished';
      readonly mode: CheckpointMode;
      /** Readers or a writer kept it from copying every frame. */
      readonly busy: boolean;
      readonly walFrames: number;
      readonly checkpointedFrames: number;
      readonly durationMs: number;
    };

export type DbWriteReply =
  | { readonly kind: 'written'; readonly tag: unknown; readonly outcomes: CommandOutcome[] }
  | { readonly kind: 'write_failed'; readonly tag: unknown; readonly error: string; readonly code: StoreErrorCode };

// ---- configuration -----------------------------------------------------------------------------

export interface DbWriterConfig {
  readonly path: string;
  readonly synchronous?: SynchronousMode;
  /** Short on purpose: better-sqlite3 blocks the event loop while it waits. Default 100 ms. */
  readonly busyTimeoutMs?: number;
  /** Retries of a batch that met SQLITE_BUSY, with `busyBackoff` between them. Default 8. */
  readonly busyRetries?: number;
  readonly busyBackoff?: BackoffPolicy;
  /** WAL checkpoint period (TRUNCATE when idle keeps the WAL bounded). Default 30 s; 0 disables. */
  readonly checkpointIntervalMs?: number;
  /** SQLite's own checkpoint after a commit leaves this many WAL pages (0: only the periodic ones). Default 1000. */
  readonly walAutocheckpointPages?: number;
  /** Told as each periodic checkpoint starts and finishes. A throwing observer is counted. */
  readonly onCheckpoint?: (event: CheckpointEvent) => void;
  /** Messages merged into one transaction at most. Default 512. */
  readonly maxBatchMessages?: number;
  readonly maxMessageRetries?: number;
  readonly mailboxCapacity?: number;
  readonly spool?: DeadLetterSpool;
  /** A quota on the database size in pages (SQLite max_page_count), read at every (re)start. */
  readonly maxPageCount?: number;
  /**
   * Told each committed batch, commands with their outcomes, after the commit and before callers
   * get their replies: what the facade turns into events. A throwing observer is counted, never
   * allowed to fail the batch.
   */
  readonly onCommitted?: (commands: readonly WriteCommand[], outcomes: readonly CommandOutcome[]) => void;
  /** Told each batch the database refused as a whole (full, read-only, I/O, ...): what alerts come from. A throwing observer is counted. */
  readonly onBatchFailed?: (error: StoreError) => void;
}

/** What survives restarts of the writer: counters and failures still to be recorded in the store. */
export class DbWriterHealth {
  batches = 0;
  commands = 0;
  largestBatch = 0;
  busyRetries = 0;
  failedBatches = 0;
  lastError: string | undefined;
  /** db_error failure events waiting for the database to accept writes again. */
  readonly pendingFailures: WriteCommand[] = [];
  spoolImported = 0;
  spoolImportFailures = 0;
  observerErrors = 0;
  /** Periodic checkpoints finished, those readers kept from copying every frame, frames copied, and the last one's duration. */
  checkpoints = 0;
  busyCheckpoints = 0;
  checkpointedFrames = 0;
  lastCheckpointMs: number | undefined;
}

const defaultBusyBackoff: BackoffPolicy = { minMs: 5, maxMs: 500, factor: 2, jitter: 0.2, resetAfterMs: 0, firstImmediate: false };

interface WriterState {
  readonly store: Store;
  timer?: ReturnType<Clock['setTimeout']>;
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((r) => clock.setTimeout(r, ms));
}

/** The db-writer's definition for a supervisor child spec: `start: () => dbWriter(config, health)`. */
export function dbWriter(config: DbWriterConfig, health = new DbWriterHealth()): ActorDefinition<WriterState, DbWriterMessage> {
  const busyRetries = config.busyRetries ?? 8;
  const busyBackoff = config.busyBackoff ?? defaultBusyBackoff;
  const interval = config.checkpointIntervalMs ?? 30_000;

  const schedule = (state: WriterState, ctx: ActorContext<DbWriterMessage>) => {
    if (interval > 0) state.timer = ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'checkpoint' }), interval);
  };

  const reply = (w: DbWrite, r: DbWriteReply) => w.replyTo?.tell(r);

  const toldCheckpoint = (event: CheckpointEvent) => {
    if (!config.onCheckpoint) return;
    try {
      config.onCheckpoint(event);
    } catch (e) {
      health.observerErrors++;
      health.lastError = `checkpoint observer failed: ${(e as Error).message}`;
    }
  };

  const runCheckpoint = (state: WriterState, mode: CheckpointMode, ctx: ActorContext<DbWriterMessage>) => {
    toldCheckpoint({ phase: 'started', mode, walBytes: walBytes(config.path) });
    const started = ctx.clock.now();
    // TRUNCATE reports 0 frames once it has emptied the WAL: a PASSIVE pass first copies them and counts.
    const r = checkpoint(state.store, 'PASSIVE');
    if (mode === 'TRUNCATE') r.busy = checkpoint(state.store, 'TRUNCATE').busy || r.busy;
    const durationMs = ctx.clock.now() - started;
    health.checkpoints++;
    if (r.busy) health.busyCheckpoints++;
    health.checkpointedFrames += Math.max(0, r.checkpointedFrames);
    health.lastCheckpointMs = durationMs;
    toldCheckpoint({ phase: 'finished', mode, busy: r.busy, walFrames: r.logFrames, checkpointedFrames: r.checkpointedFrames, durationMs });
  };

  const committed = (commands: readonly WriteCommand[], outcomes: readonly CommandOutcome[]) => {
    if (!config.onCommitted) return;
    try {
      config.onCommitted(commands, outcomes);
    } catch (e) {
      health.observerErrors++;
      health.lastError = `commit observer failed: ${(e as Error).message}`;
    }
  };

  /** Letters that could not reach the database earlier; a failure leaves them spooled for the next try. */
  const importSpool = (store: Store, now: number) => {
    const spooled = config.spool?.read() ?? [];
    if (spooled.length === 0) return;
    try {
      committed(spooled, applyBatch(store, spooled, now));
      config.spool!.clear();
      health.spoolImported += spooled.length;
    } catch (e) {
      health.spoolImportFailures++;
      health.lastError = `spool import failed: ${(e as Error).message}`;
    }
  };

  /** Applies the batch, retrying SQLITE_BUSY; throws StoreError for anything else. */
  const commit = async (state: WriterState, commands: WriteCommand[], ctx: ActorContext<DbWriterMessage>): Promise<CommandOutcome[]> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return applyBatch(state.store, commands, ctx.clock.now());
      } catch (e) {
        if (!(e instanceof StoreError) || e.code !== 'busy' || attempt >= busyRetries) throw e;
        health.busyRetries++;
        await sleep(ctx.clock, backoffDelay(attempt, busyBackoff, Math.random));
      }
    }
  };

  const handle = (state: WriterState, msgs: readonly DbWriterMessage[], ctx: ActorContext<DbWriterMessage>): WriterState | Promise<WriterState> => {
    const writes: DbWrite[] = [];
    let wantCheckpoint = false;
    for (const m of msgs) {
      if (m.kind === 'write') writes.push(m);
      else wantCheckpoint = true;
    }
    if (wantCheckpoint) {
      // PASSIVE never blocks; TRUNCATE only when nothing else is waiting, to bound the WAL file.
      runCheckpoint(state, ctx.mailboxLength() > msgs.length ? 'PASSIVE' : 'TRUNCATE', ctx);
      importSpool(state.store, ctx.clock.now());
      schedule(state, ctx);
    }
    if (writes.length === 0) return state;
    const pending = health.pendingFailures.length;
    const commands: WriteCommand[] = pending > 0 ? [...health.pendingFailures] : [];
    for (const w of writes) for (const c of w.commands) commands.push(c);
    const done = (outcomes: CommandOutcome[]): WriterState => {
      health.pendingFailures.splice(0, pending);
      health.batches++;
      health.commands += commands.length;
      if (commands.length > health.largestBatch) health.largestBatch = commands.length;
      committed(commands, outcomes);
      let i = pending;
      for (const w of writes) {
        const n = w.commands.length;
        reply(w, { kind: 'written', tag: w.tag, outcomes: outcomes.slice(i, i + n) });
        i += n;
      }
      return state;
    };
    const failed = (e: unknown): never => {
      health.failedBatches++;
      const err = e instanceof StoreError ? e : new StoreError('other', String(e), undefined, commands.length);
      health.lastError = err.message;
      if (config.onBatchFailed) {
        try {
          config.onBatchFailed(err);
        } catch (e) {
          health.observerErrors++;
          health.lastError = `batch failure observer failed: ${(e as Error).message}`;
        }
      }
      if (health.pendingFailures.length < 1_000) {
        health.pendingFailures.push({ type: 'recordFailure', kind: 'db_error', source: ctx.path, detail: err.message.slice(0, 2_000) });
      }
      // A lone command on its last chance: tell its caller now; the kernel dead-letters it next.
      if (writes.length === 1 && ctx.attempt() >= ctx.maxMessageRetries) {
        reply(writes[0], { kind: 'write_failed', tag: writes[0].tag, error: err.message, code: err.code });
      }
      throw err;
    };
    // Fast path: no busy retry needed, so no promise.
    try {
      return done(applyBatch(state.store, commands, ctx.clock.now()));
    } catch (e) {
      if (!(e instanceof StoreError) || e.code !== 'busy') return failed(e);
    }
    return commit(state, commands, ctx).then(done, failed);
  };

  return {
    accepts: isDbWriterMessage,
    init: (ctx) => {
      const store = openStore({ path: config.path, synchronous: config.synchronous ?? 'FULL', busyTimeoutMs: config.busyTimeoutMs ?? 100, walAutocheckpointPages: config.walAutocheckpointPages });
      if (config.maxPageCount !== undefined) store.sqlite.pragma(`max_page_count = ${Math.floor(config.maxPageCount)}`);
      importSpool(store, ctx.clock.now());
      const state: WriterState = { store };
      schedule(state, ctx);
      return state;
    },
    receiveBatch: handle,
    onStop: (state, _reason, ctx) => {
      if (state.timer) ctx.clock.clearTimeout(state.timer);
      state.store.close();
    },
    options: {
      batchSize: config.maxBatchMessages ?? 512,
      throughput: config.maxBatchMessages ?? 512,
      maxMessageRetries: config.maxMessageRetries ?? 3,
      mailboxCapacity: config.mailboxCapacity ?? 100_000,
    },
  };
}

/** Bytes in the WAL file now (0 when there is none, e.g. an in-memory database). */
function walBytes(dbPath: string): number {
  try {
    return statSync(`${dbPath}-wal`).size;
  } catch {
    return 0;
  }
}

export class DbWriteError extends Error {
  override readonly name = 'DbWriteError';
  constructor(readonly code: StoreErrorCode, message: string) {
    super(message);
  }
}
