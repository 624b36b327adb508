/**
 * The embedded library: start the OOS flow inside the trading host, enqueue requests, inspect
 * and replay. Everything durable is in the SQLite file; a restart picks up where it stopped.
 */
import { type ActorRef, type ActorSystem, type Clock, type SystemEvent, type TreeNode, start } from '../runtime/index.ts';
import { startSupervisor, type Supervisor } from '../supervisors/index.ts';
import { DeadLetterSpool } from '../persistence/dead-letter-spool.ts';
import { acquireRuntimeLock, lockFileOf, type RuntimeLock } from '../persistence/runtime-lock.ts';
import { assertWritable } from '../persistence/write-access.ts';
import type { StrategyInput } from '../persistence/commands.ts';
import type { SupervisorEventKind } from '../persistence/schema.ts';
import { createTraceparent } from '../protocol/index.ts';
import { PersistedDeadLetterSink } from '../actors/dead-letter-sink.ts';
import { writeCommand, writeCommands } from '../actors/db-client.ts';
import type { DbWriterMessage } from '../actors/db-writer.ts';
import type { ReplayerMessage, ReplayReport } from '../actors/replayer.ts';
import type { DataGateMessage, GateReply } from '../actors/data-gate.ts';
import type { OosRequestInput } from '../domain/request.ts';
import { NotificationChannel } from '../actors/notifier.ts';
import type { CycleReport, RankEvaluatorMessage } from '../actors/rank-evaluator.ts';
import { VerdictCache } from '../domain/candles/index.ts';
import { writeSnapshot } from './snapshot-file.ts';
import { oosReplayRoutes } from './replay-routes.ts';
import { oosConfig, type OosConfig } from './config.ts';
import { newOosStats, oosTree, paths, ROOT, type OosStats } from './tree.ts';

export type { OosRequestInput } from '../domain/request.ts';

export interface ShoalOptions {
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Called with the actual result endpoint after each bind (useful with port 0). */
  readonly onResultsBound?: (endpoint: string) => void;
}

const EVENT_KINDS: Partial<Record<SystemEvent['type'], SupervisorEventKind>> = {
  actor_crashed: 'crash',
  actor_restarted: 'restart',
  give_up: 'give_up',
  escalated: 'escalate',
  start_failed: 'crash',
  system_stopped: 'stop',
};

export class Shoal {
  private snapshotTimer: ReturnType<Clock['setTimeout']> | undefined;

  private constructor(
    readonly system: ActorSystem,
    readonly root: Supervisor,
    readonly config: OosConfig,
    readonly stats: OosStats,
    /** Every notification (data gate rejections, daily summaries, ...), for the host to subscribe to. */
    readonly notifications: NotificationChannel,
    readonly spool: DeadLetterSpool,
    private readonly unsubscribe: () => void,
    private readonly lock: RuntimeLock,
  ) {}

  /**
   * Starts the runtime on `config.dbPath`. Refused, with one line and before any actor starts,
   * when this process may not write the database or its directory, or when another runtime holds
   * the database (whatever its ports; the message names its pid). A child that fails to start
   * rejects with the cause first and its path as context.
   */
  static async start(config: Partial<OosConfig> & { dbPath: string; resultsLoopbackOnly?: boolean }, options: ShoalOptions = {}): Promise<Shoal> {
    const cfg = oosConfig(config);
    assertWritable(cfg.dbPath, runtimeSideFiles(cfg));
    const lock = acquireRuntimeLock(cfg.dbPath);
    try {
      return await Shoal.startHolding(cfg, lock, options);
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  private static async startHolding(cfg: OosConfig, lock: RuntimeLock, options: ShoalOptions): Promise<Shoal> {
    const system = start({ name: ROOT, clock: options.clock, random: options.random });
    // The lock lives as long as the system: released once it has stopped (the writer closed),
    // however it stops, and kept referenced until then.
    void system.terminated.then(() => lock.release());
    const spool = new DeadLetterSpool(`${cfg.dbPath}.deadletters.jsonl`);
    system.deadLetterSink = new PersistedDeadLetterSink(system, paths.dbWriter, spool);
    const stats = newOosStats();
    const notifications = new NotificationChannel();
    // Supervisor events are persisted for the inspector and the daily report (fire and forget: an
    // event lost with a failing database is still counted in the writer's health).
    const unsubscribe = system.events.subscribe((e) => {
      const kind = EVENT_KINDS[e.type];
      const writer = system.lookup(paths.dbWriter);
      if (!kind || !writer || e.path === paths.dbWriter) return;
      writer.tell({
        kind: 'write',
        commands: [{ type: 'recordSupervisorEvent', kind, path: e.path, childId: e.childId, detail: [e.reason, e.error].filter(Boolean).join(': ') || undefined }],
      } satisfies DbWriterMessage);
    });
    const replayRoutes = oosReplayRoutes({ writer: paths.dbWriter, sender: paths.sender, resultHandler: paths.resultHandler });
    const tree = oosTree(cfg, { stats, spool, notifications, verdicts: new VerdictCache(), replayRoutes, onResultsBound: options.onResultsBound });
    let root: Supervisor;
    try {
      root = await startSupervisor(system, tree, ROOT);
    } catch (e) {
      unsubscribe();
      await system.stop(`start failed: ${(e as Error).message}`);
      throw e;
    }
    const shoal = new Shoal(system, root, cfg, stats, notifications, spool, unsubscribe, lock);
    shoal.publishSnapshot();
    return shoal;
  }

  /** Writes the tree and counters for `shoal tree` in another process, and schedules the next write. */
  private publishSnapshot(stopped?: string): void {
    if (this.config.snapshotIntervalMs <= 0) return;
    try {
      writeSnapshot(this.config.dbPath, {
        at: this.system.clock.now(),
        pid: process.pid,
        intervalMs: this.config.snapshotIntervalMs,
        stopped,
        tree: this.system.snapshot(),
        stats: { ...this.stats, deadLetters: this.system.stats },
      });
    } catch {
      // The snapshot is a convenience for the inspector; the runtime does not depend on it.
    }
    if (!stopped) this.snapshotTimer = this.system.clock.setTimeout(() => this.publishSnapshot(), this.config.snapshotIntervalMs);
  }

  private get writer(): ActorRef<DbWriterMessage> {
    const w = this.system.lookup(paths.dbWriter);
    if (!w) throw new Error(`the db-writer (${paths.dbWriter}) is not running`);
    return w as ActorRef<DbWriterMessage>;
  }

  /** Inserts or updates strategies (definition and in-sample metrics); resolves once committed. */
  async upsertStrategies(strategies: readonly StrategyInput[]): Promise<void> {
    const outcomes = await writeCommands(this.system, this.writer, strategies.map((strategy) => ({ type: 'upsertStrategy' as const, strategy })));
    const failed = outcomes.find((o) => o.status === 'error');
    if (failed) throw new Error(`upsert failed: ${(failed as { error: string }).error}`);
  }

  /**
   * Asks for an OOS backtest of a strategy: the data gate validates the candle file the request
   * names (a failed check blocks it, records `data_invalid` and notifies), then the request goes
   * into the durable outbox. Resolves once committed (or rejected). At most one live request per
   * strategy (a second one answers `duplicate_live`).
   */
  enqueue(strategyName: string, input: OosRequestInput, options: { requestId?: string; oosWindowDays?: number; timeoutMs?: number } = {}): Promise<GateReply> {
    const gate = this.system.lookup(paths.gate) as ActorRef<DataGateMessage> | undefined;
    if (!gate) return Promise.reject(new Error(`the data gate (${paths.gate}) is not running`));
    return this.system.query<DataGateMessage, GateReply>(
      gate,
      (replyTo) => ({ kind: 'enqueue', strategyName, request: input, requestId: options.requestId, oosWindowDays: options.oosWindowDays, replyTo }),
      options.timeoutMs ?? 300_000,
    );
  }

  /** Runs a rank evaluation cycle now (incremental; `full` reads every strategy). */
  evaluateRanks(full = false, timeoutMs = 300_000): Promise<CycleReport> {
    const r = this.system.lookup(paths.rankEvaluator) as ActorRef<RankEvaluatorMessage> | undefined;
    if (!r) return Promise.reject(new Error('the rank evaluator is not running'));
    return this.system.query<RankEvaluatorMessage, CycleReport>(r, (replyTo) => ({ kind: full ? 'full_scan' : 'cycle', replyTo }), timeoutMs);
  }

  /** Replays dead letters now: by ids, by source, or all eligible. */
  replay(filter: { ids?: number[]; source?: string } = {}, timeoutMs = 30_000): Promise<ReplayReport> {
    const r = this.system.lookup(paths.replayer) as ActorRef<ReplayerMessage> | undefined;
    if (!r) return Promise.reject(new Error('the replayer is not running'));
    return this.system.query<ReplayerMessage, ReplayReport>(r, (replyTo) => ({ kind: 'replay', ...filter, replyTo }), timeoutMs);
  }

  /** Marks a dead letter discarded (kept, never deleted). */
  async discard(id: number, reason?: string): Promise<boolean> {
    const [o] = await writeCommands(this.system, this.writer, [{ type: 'discardDeadLetter', id, reason }]);
    return o.status === 'discarded';
  }

  snapshot(): TreeNode[] {
    return this.system.snapshot();
  }

  async stop(reason = 'stopped by the host'): Promise<void> {
    if (this.snapshotTimer) this.system.clock.clearTimeout(this.snapshotTimer);
    await this.system.stop(reason);
    this.lock.release();
    this.unsubscribe();
    this.publishSnapshot(reason);
  }
}

/** Files the runtime writes beside the database; any that exists must be writable too. */
function runtimeSideFiles(cfg: OosConfig): string[] {
  const db = cfg.dbPath;
  // The tree snapshot is replaced by a rename: its directory is what counts, and that is checked.
  return [`${db}-wal`, `${db}-shm`, lockFileOf(db), `${db}.deadletters.jsonl`, cfg.notificationsFile];
}
