/**
 * rank-evaluator: keeps strategy ranks in line with the rank criteria (domain/ranks.ts) and asks for
 * OOS validation where it is due, reading only what changed.
 *
 * Every `intervalMs` (default 60 s, on the injected clock) a cycle reads the strategies whose
 * change_seq is above the evaluator's watermark, in batches of `batchSize` (default 1,000), from a
 * read-only connection. For each batch it
 *   1. decides each strategy's rank; a change is a guarded changeRank (expectedFrom = rank read);
 *   2. asks the data gate to enqueue OOS for B strategies that need it (at most once per
 *      `oosRetryMs` per strategy, the host's 600 s rule);
 *   3. writes the rank changes, the failures met, and the watermark advance in ONE db-writer call,
 *      so they commit together: a crash before the commit redoes the batch (guarded writes and
 *      the one-live-request rule make that harmless), after it nothing is redone or skipped.
 * The watermark lives in the `cursors` table, so a restarted evaluator goes on where the last
 * committed batch ended; a full scan happens only on `{ kind: 'full_scan' }`.
 *
 * A cycle reads only what changed before it began (up to the change sequence's value at its
 * start). Its own rank changes bump the rows' change_seq, so the NEXT cycle reads them once more:
 * that is how a strategy promoted INCUBATOR->B is considered for OOS, and B->A for S, one step
 * per cycle.
 *
 * Strategies whose OOS ask was refused (bad data, gate unreachable) or deferred by the 600 s rule
 * are kept in memory and re-checked by name once their time has come ("revisited"). That memory
 * does not survive a restart: after one, such a strategy is asked again when it next changes, or
 * on a full scan.
 *
 * Failures of the cycle itself go to failure_events (durable, per day): DB errors (db_error),
 * strategies whose record cannot make a request (data_invalid), a gate that does not answer
 * (timeout). Gate rejections are recorded by the gate itself (data_invalid, with the file's
 * problems), so they are counted here but not written twice.
 */
import { kindGuard, type ActorContext, type ActorPath, type ActorRef } from '../runtime/index.ts';
import type { TimerHandle } from '../runtime/clock.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import type { ChangeRankCommand } from '../persistence/strategies.ts';
import type { RecordFailureCommand } from '../persistence/events.ts';
import { openStore, type Store } from '../persistence/connection.ts';
import { getCursor } from '../persistence/cursors.ts';
import type { StrategyRecord } from '../persistence/records.ts';
import { currentChangeSeq, liveRequestsFor } from '../persistence/report.ts';
import { getStrategy, readAllStrategies, readStrategiesChangedUpTo } from '../persistence/strategies.ts';
import { oosRequestFor } from '../domain/request.ts';
import { DEFAULT_RANK_CRITERIA, evaluateRank, needsOos, validateRankCriteria, type RankCriteria } from '../domain/ranks.ts';
import { CommandBatch } from './command-batch.ts';
import type { DbWriterMessage } from './db-writer.ts';
import type { DataGateMessage, GateReply } from './data-gate.ts';

// ---- protocol ----------------------------------------------------------------------------------

export type RankEvaluatorMessage =
  /** Run an incremental cycle now (the timer sends `tick`, which also schedules the next one). */
  | { readonly kind: 'cycle'; readonly replyTo?: ActorRef<CycleReport> }
  /** Read and evaluate every strategy (by name, in batches); then the watermark covers them all. */
  | { readonly kind: 'full_scan'; readonly replyTo?: ActorRef<CycleReport> }
  | { readonly kind: 'tick' };

export const isRankEvaluatorMessage = kindGuard<RankEvaluatorMessage>({ cycle: true, full_scan: true, tick: true });

export interface CycleReport {
  readonly kind: 'incremental' | 'full_scan';
  /** Strategy rows read by the changed-since (or full) read. */
  rowsRead: number;
  /** Strategy rows re-read by name for deferred OOS asks. */
  revisited: number;
  batches: number;
  rankChanges: number;
  /** Guarded rank changes refused because the rank had moved meanwhile. */
  conflicts: number;
  oosAsked: number;
  oosEnqueued: number;
  gateRejections: number;
  /** Asks put off by the re-request rule. */
  oosDeferred: number;
  failuresRecorded: number;
  /** Watermark (change_seq) after the cycle. */
  watermark: number;
  /** More changed rows than maxBatchesPerCycle allowed: another cycle was queued at once. */
  more: boolean;
  startedAt: number;
  durationMs: number;
  error?: string;
}

// ---- configuration -----------------------------------------------------------------------------

export interface RankEvaluatorConfig {
  readonly dbPath: string;
  readonly writerPath: ActorPath<DbWriterMessage>;
  readonly gatePath: ActorPath<DataGateMessage>;
  /** Candle files are `<dataDir>/<SYMBOL>_M1.csv`. */
  readonly dataDir: string;
  readonly criteria?: RankCriteria;
  /** Default 60 s. */
  readonly intervalMs?: number;
  /** Rows per read and per write. Default 1,000. */
  readonly batchSize?: number;
  /** Batches per cycle at most; the rest is left to an immediately queued cycle. Default 100. */
  readonly maxBatchesPerCycle?: number;
  /** OOS window: the last this many days of data. Default 180. */
  readonly oosWindowDays?: number;
  /** OOS is asked at most once per this period per strategy. Default 600 s. */
  readonly oosRetryMs?: number;
  /** How long to wait for the gate (it may read a multi-year file). Default 300 s. */
  readonly gateTimeoutMs?: number;
  /** Default 'rank-evaluator'. */
  readonly cursorName?: string;
  /** Run a cycle at (re)start, to catch up at once. Default true. */
  readonly runAtStart?: boolean;
}

/** Counters over the evaluator's life (kept across restarts when the caller keeps the object). */
export class RankEvaluatorStats {
  cycles = 0;
  fullScans = 0;
  rowsRead = 0;
  revisited = 0;
  rankChanges = 0;
  conflicts = 0;
  oosAsked = 0;
  oosEnqueued = 0;
  gateRejections = 0;
  gateErrors = 0;
  oosDeferred = 0;
  failuresRecorded = 0;
  dbErrors = 0;
  lastCycle: CycleReport | undefined;
  lastError: string | undefined;
}

interface EvaluatorState {
  reader: Store | undefined;
  watermark: number;
  timer?: TimerHandle;
  /** Strategy name -> clock time of the last OOS ask. */
  readonly lastAsked: Map<string, number>;
  /** Strategy name -> when to re-check it for OOS. */
  readonly revisit: Map<string, number>;
  /** Failures met and not yet committed; written with the next batch. */
  readonly pendingFailures: RecordFailureCommand[];
}

const MAX_PENDING_FAILURES = 1_000;

// ---- pure pieces -------------------------------------------------------------------------------

export interface BatchPlan {
  /** Guarded rank changes, in read order. */
  changes: ChangeRankCommand[];
  /** B strategies that need OOS, before the live-request and re-request checks. */
  oosCandidates: StrategyRecord[];
}

/** Decides a batch of rows read: pure (the rank rules and the OOS rule), so tested by itself. */
export function planBatch(rows: readonly StrategyRecord[], criteria: RankCriteria): BatchPlan {
  const changes: ChangeRankCommand[] = [];
  const oosCandidates: StrategyRecord[] = [];
  for (const s of rows) {
    const d = evaluateRank(s, criteria);
    if (d.rank !== s.rank) changes.push({ type: 'changeRank', name: s.name, expectedFrom: s.rank, to: d.rank, reason: d.reason, metrics: d.metrics });
    else if (needsOos(s, criteria, false)) oosCandidates.push(s);
  }
  return { changes, oosCandidates };
}

function emptyReport(kind: CycleReport['kind'], startedAt: number, watermark: number): CycleReport {
  return { kind, rowsRead: 0, revisited: 0, batches: 0, rankChanges: 0, conflicts: 0, oosAsked: 0, oosEnqueued: 0, gateRejections: 0, oosDeferred: 0, failuresRecorded: 0, watermark, more: false, startedAt, durationMs: 0 };
}

/** A write that did not commit; its failures go back to the pending list. */
class BatchNotWritten extends Error {}

// ---- behaviour ---------------------------------------------------------------------------------

export function rankEvaluator(config: RankEvaluatorConfig, stats = new RankEvaluatorStats()): ActorDefinition<EvaluatorState, RankEvaluatorMessage> {
  const criteria = validateRankCriteria(config.criteria ?? DEFAULT_RANK_CRITERIA);
  const intervalMs = config.intervalMs ?? 60_000;
  const batchSize = config.batchSize ?? 1_000;
  const maxBatches = config.maxBatchesPerCycle ?? 100;
  const windowDays = config.oosWindowDays ?? 180;
  const retryMs = config.oosRetryMs ?? 600_000;
  const gateTimeoutMs = config.gateTimeoutMs ?? 300_000;
  const cursorName = config.cursorName ?? 'rank-evaluator';
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`rank-evaluator: batchSize must be an integer >= 1, got ${batchSize}`);
  if (!(Number.isInteger(maxBatches) && maxBatches >= 1)) throw new RangeError(`rank-evaluator: maxBatchesPerCycle must be an integer >= 1, got ${maxBatches}`);
  if (!(intervalMs > 0)) throw new RangeError(`rank-evaluator: intervalMs must be > 0, got ${intervalMs}`);

  const fail = (state: EvaluatorState, ctx: ActorContext<RankEvaluatorMessage>, kind: RecordFailureCommand['kind'], detail: string) => {
    stats.lastError = detail;
    if (state.pendingFailures.length < MAX_PENDING_FAILURES) state.pendingFailures.push({ type: 'recordFailure', kind, source: ctx.path, detail: detail.slice(0, 2_000) });
  };

  const reader = (state: EvaluatorState): Store => {
    state.reader ??= openStore({ path: config.dbPath, readonly: true });
    return state.reader;
  };

  /**
   * Writes the batch with the failures met so far in one db-writer call; throws BatchNotWritten
   * (after re-queuing those failures) when it did not commit.
   */
  const write = async (state: EvaluatorState, ctx: ActorContext<RankEvaluatorMessage>, batch: CommandBatch, report: CycleReport): Promise<void> => {
    const own = batch.size;
    const failures = state.pendingFailures.splice(0);
    const recording = failures.map((f) => batch.add(f));
    if (batch.size === 0) return;
    try {
      await batch.write(ctx.system, config.writerPath);
    } catch (e) {
      stats.dbErrors++;
      state.pendingFailures.unshift(...failures);
      const detail = `rank-evaluator write of ${own} command(s) failed: ${(e as Error).message}`;
      fail(state, ctx, 'db_error', detail);
      throw new BatchNotWritten(detail);
    }
    const recorded = recording.filter((r) => r.outcome().status === 'recorded').length;
    report.failuresRecorded += recorded;
    stats.failuresRecorded += recorded;
  };

  const deferAsk = (state: EvaluatorState, name: string, at: number) => {
    const due = state.revisit.get(name);
    if (due === undefined || at < due) state.revisit.set(name, at);
  };

  /** Asks the gate for one strategy's OOS, honouring the re-request rule. */
  const ask = async (state: EvaluatorState, ctx: ActorContext<RankEvaluatorMessage>, s: StrategyRecord, report: CycleReport) => {
    const now = ctx.clock.now();
    const last = state.lastAsked.get(s.name);
    if (last !== undefined && now - last < retryMs) {
      report.oosDeferred++;
      stats.oosDeferred++;
      deferAsk(state, s.name, last + retryMs);
      return;
    }
    const built = oosRequestFor(s, config.dataDir);
    if (!built.ok) {
      // Missing data: asking again cannot help until the record changes (then it is read again).
      state.revisit.delete(s.name);
      fail(state, ctx, 'data_invalid', built.error);
      return;
    }
    state.lastAsked.set(s.name, now);
    state.revisit.delete(s.name);
    report.oosAsked++;
    stats.oosAsked++;
    let reply: GateReply;
    try {
      const gate = ctx.system.lookup(config.gatePath);
      if (!gate) throw new Error(`data gate ${config.gatePath} is not running`);
      reply = await ctx.system.query<DataGateMessage, GateReply>(
        gate,
        (replyTo) => ({ kind: 'enqueue', strategyName: s.name, request: built.request, oosWindowDays: windowDays, replyTo }),
        gateTimeoutMs,
      );
    } catch (e) {
      stats.gateErrors++;
      deferAsk(state, s.name, now + retryMs);
      fail(state, ctx, 'timeout', `strategy ${s.name}: OOS ask to ${config.gatePath} got no answer: ${(e as Error).message}`);
      return;
    }
    if (reply.status === 'enqueued') {
      report.oosEnqueued++;
      stats.oosEnqueued++;
    } else if (reply.status === 'rejected') {
      report.gateRejections++;
      stats.gateRejections++;
      deferAsk(state, s.name, now + retryMs);
    } else if (reply.status === 'error') {
      stats.gateErrors++;
      deferAsk(state, s.name, now + retryMs);
      if (!reply.recorded) fail(state, ctx, 'db_error', `strategy ${s.name}: ${reply.error}`);
    }
    // exists / duplicate_live: a live request is there; its result will change the row.
  };

  /** Evaluates rows, asks for OOS, then commits changes + failures (+ the watermark) in one write. */
  const processRows = async (state: EvaluatorState, ctx: ActorContext<RankEvaluatorMessage>, rows: readonly StrategyRecord[], cursor: number | undefined, report: CycleReport) => {
    const plan = planBatch(rows, criteria);
    if (plan.oosCandidates.length > 0) {
      const live = liveRequestsFor(reader(state), plan.oosCandidates.map((s) => s.name));
      for (const s of plan.oosCandidates) {
        if (live.has(s.name)) state.revisit.delete(s.name);
        else await ask(state, ctx, s, report);
      }
    }
    const batch = new CommandBatch();
    const changes = plan.changes.map((c) => batch.add(c));
    if (cursor !== undefined) batch.add({ type: 'setCursor', name: cursorName, value: cursor });
    await write(state, ctx, batch, report);
    report.batches++;
    for (const change of changes) {
      const o = change.outcome();
      if (o.status === 'changed') {
        report.rankChanges++;
        stats.rankChanges++;
      } else if (o.status === 'conflict') {
        report.conflicts++;
        stats.conflicts++;
      } else {
        fail(state, ctx, 'db_error', o.error);
      }
    }
    if (cursor !== undefined) state.watermark = cursor;
  };

  /** Re-checks, by name, strategies whose OOS ask was refused or deferred and whose time has come. */
  const revisitDue = async (state: EvaluatorState, ctx: ActorContext<RankEvaluatorMessage>, report: CycleReport) => {
    const now = ctx.clock.now();
    const due = [...state.revisit].filter(([, at]) => at <= now).slice(0, batchSize).map(([name]) => name);
    if (due.length === 0) return;
    const rows: StrategyRecord[] = [];
    for (const name of due) {
      const s = getStrategy(reader(state), name);
      report.revisited++;
      stats.revisited++;
      if (s && needsOos(s, criteria, false)) rows.push(s);
      else state.revisit.delete(name);
    }
    const live = liveRequestsFor(reader(state), rows.map((s) => s.name));
    for (const s of rows) {
      if (live.has(s.name)) state.revisit.delete(s.name);
      else await ask(state, ctx, s, report);
    }
  };

  const runCycle = async (state: EvaluatorState, ctx: ActorContext<RankEvaluatorMessage>, kind: CycleReport['kind']): Promise<CycleReport> => {
    const startedAt = ctx.clock.now();
    const report = emptyReport(kind, startedAt, state.watermark);
    try {
      if (kind === 'full_scan') {
        // Rows written after this point have a higher change_seq: the incremental path gets them.
        const upTo = currentChangeSeq(reader(state));
        let after: string | null = null;
        do {
          const page = readAllStrategies(reader(state), { after, limit: batchSize });
          report.rowsRead += page.strategies.length;
          after = page.next;
          await processRows(state, ctx, page.strategies, after === null ? Math.max(state.watermark, upTo) : undefined, report);
        } while (after !== null);
      } else {
        const upTo = currentChangeSeq(reader(state));
        for (let b = 0; ; b++) {
          if (b === maxBatches) {
            report.more = true;
            ctx.self.tell({ kind: 'cycle' });
            break;
          }
          // Bounded by upTo: the cycle's own rank writes move rows past the watermark, for the next cycle.
          const batch = readStrategiesChangedUpTo(reader(state), state.watermark, upTo, batchSize);
          report.rowsRead += batch.fetched;
          if (batch.strategies.length > 0) await processRows(state, ctx, batch.strategies, batch.lastSeq, report);
          if (batch.done) break;
        }
        await revisitDue(state, ctx, report);
      }
      // Failures met outside a batch (revisits, a cycle with nothing changed) still get written.
      if (state.pendingFailures.length > 0) await write(state, ctx, new CommandBatch(), report);
    } catch (e) {
      report.error = (e as Error).message;
      if (!(e instanceof BatchNotWritten)) {
        // A read failed: count it, reopen the connection next time, and try to record it now.
        stats.dbErrors++;
        fail(state, ctx, 'db_error', `rank-evaluator ${kind} read failed: ${(e as Error).message}`);
        state.reader?.close();
        state.reader = undefined;
        await write(state, ctx, new CommandBatch(), report).catch(() => undefined);
      }
    }
    report.watermark = state.watermark;
    report.durationMs = ctx.clock.now() - startedAt;
    stats.rowsRead += report.rowsRead;
    stats.lastCycle = report;
    if (kind === 'full_scan') stats.fullScans++;
    else stats.cycles++;
    return report;
  };

  const schedule = (state: EvaluatorState, ctx: ActorContext<RankEvaluatorMessage>) => {
    if (state.timer) ctx.clock.clearTimeout(state.timer);
    state.timer = ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'tick' }), intervalMs);
  };

  return {
    accepts: isRankEvaluatorMessage,
    init: (ctx) => {
      const store = openStore({ path: config.dbPath, readonly: true });
      const state: EvaluatorState = {
        reader: store,
        watermark: getCursor(store, cursorName) ?? 0,
        lastAsked: new Map(),
        revisit: new Map(),
        pendingFailures: [],
      };
      if (config.runAtStart ?? true) ctx.self.tell({ kind: 'tick' });
      else schedule(state, ctx);
      return state;
    },
    receive: async (state, msg, ctx) => {
      switch (msg.kind) {
        case 'tick':
          try {
            await runCycle(state, ctx, 'incremental');
          } finally {
            schedule(state, ctx);
          }
          break;
        case 'cycle':
        case 'full_scan': {
          const report = await runCycle(state, ctx, msg.kind === 'cycle' ? 'incremental' : 'full_scan');
          msg.replyTo?.tell(report);
          break;
        }
        default:
          throw new TypeError(`rank-evaluator ${ctx.path}: unknown message kind ${String((msg as { kind?: unknown }).kind)}`);
      }
      return state;
    },
    onStop: (state, _reason, ctx) => {
      if (state.timer) ctx.clock.clearTimeout(state.timer);
      state.reader?.close();
    },
  };
}
