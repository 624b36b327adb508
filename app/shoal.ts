/**
 * The embedded library: start the OOS flow inside the trading host, enqueue requests, inspect
 * and replay. Everything durable is in the SQLite file; a restart picks up where it stopped.
 */
import { EventStream, type ActorRef, type ActorSystem, type Clock, type SystemEvent, type TreeNode, start } from '../runtime/index.ts';
import { startSupervisor, type Supervisor } from '../supervisors/index.ts';
import { DeadLetterSpool } from '../persistence/dead-letter-spool.ts';
import { acquireRuntimeLock, lockFileOf, type RuntimeLock } from '../persistence/runtime-lock.ts';
import { assertWritable } from '../persistence/write-access.ts';
import type { CommandOutcome, WriteCommand } from '../persistence/commands.ts';
import { openStore, type Store } from '../persistence/connection.ts';
import { countDeadLettersByState, listDeadLetters, REQUEST_LETTER_KIND } from '../persistence/dead-letters.ts';
import { countByState, countInFlight, getRequest, oldestLiveEnqueuedAt } from '../persistence/outbox.ts';
import { getResult } from '../persistence/results.ts';
import type { SupervisorEventKind } from '../persistence/schema.ts';
import { isValidTraceparent } from '../protocol/index.ts';
import { PersistedDeadLetterSink } from '../actors/dead-letter-sink.ts';
import { writeCommands } from '../actors/db-client.ts';
import type { CheckpointEvent, DbWriterMessage } from '../actors/db-writer.ts';
import type { ReplayerMessage, ReplayReport } from '../actors/replayer.ts';
import type { SenderMessage, SendingState } from '../actors/sender.ts';
import type { DataGateMessage, GateReply } from '../actors/data-gate.ts';
import type { OosRequestInput } from '../domain/request.ts';
import { NotificationChannel, raiseAlert } from '../actors/notifier.ts';
import { storeUnwritableAlert, supervisorGaveUpAlert } from '../domain/alerts.ts';
import type { CycleReport, RankEvaluatorMessage } from '../actors/rank-evaluator.ts';
import type { RetentionPass } from '../actors/janitor.ts';
import { VerdictCache } from '../domain/candles/index.ts';
import { writeSnapshot } from './snapshot-file.ts';
import { oosReplayRoutes } from './replay-routes.ts';
import { oosConfig, type OosConfig, type OosConfigInput } from './config.ts';
import { loadCurve, type SocketCurve } from './curve.ts';
import { DRAIN_FIRST, DRAIN_PIPELINE_FIRST, newOosStats, oosTree, paths, ROOT, type OosStats } from './tree.ts';
import { enqueueResult, resultFromRecord, strategyInput, type EnqueueResult, type RequestOutcome, type ShoalEvent, type ShoalEventType, type ShoalStatus, type Strategy } from './api.ts';
import { eventsFromCommit } from './events.ts';
import { actorObserverOf, OosTelemetry, type TelemetryOptions } from './telemetry.ts';

export type { OosRequestInput } from '../domain/request.ts';

export interface ShoalOptions {
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Called with the actual result endpoint after each bind (useful with port 0). */
  readonly onResultsBound?: (endpoint: string) => void;
  /** Bridge mode: called with the intake's endpoint after each bind. */
  readonly onIntakeBound?: (endpoint: string) => void;
  /** Tracer and meter providers; default the API's globals (no-op without an SDK). */
  readonly telemetry?: TelemetryOptions;
}

/** How often a drain looks at the in-flight count between results. */
const DRAIN_POLL_MS = 100;

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

  private readonly startedAt: number;
  private readonly reader: Store;
  /** Unregisters the metrics gauges (they read the store this runtime closes on stop). */
  private stopGauges: () => void = () => {};

  private constructor(
    readonly system: ActorSystem,
    readonly root: Supervisor,
    readonly config: OosConfig,
    readonly stats: OosStats,
    /** Every notification (data gate rejections, daily summaries, ...), for the host to subscribe to. */
    readonly notifications: NotificationChannel,
    readonly spool: DeadLetterSpool,
    /** Results, failures, dead letters, rank changes and restarts, each told once durable (see `on`). */
    readonly events: EventStream<ShoalEvent>,
    private readonly unsubscribe: () => void,
    private readonly lock: RuntimeLock,
  ) {
    this.startedAt = system.clock.now();
    this.reader = openStore({ path: config.dbPath, readonly: true });
  }

  /**
   * Starts the runtime on `config.dbPath`. Refused, with one line and before any actor starts,
   * when this process may not write the database or its directory, or when another runtime holds
   * the database (whatever its ports; the message names its pid). A child that fails to start
   * rejects with the cause first and its path as context.
   */
  static async start(config: OosConfigInput, options: ShoalOptions = {}): Promise<Shoal> {
    const cfg = oosConfig(config);
    // Key files are read before anything opens: a bad one refuses the start with one line.
    const curve = loadCurve(cfg.curve);
    assertWritable(cfg.dbPath, runtimeSideFiles(cfg));
    const lock = acquireRuntimeLock(cfg.dbPath);
    try {
      return await Shoal.startHolding(cfg, lock, options, curve);
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  private static async startHolding(cfg: OosConfig, lock: RuntimeLock, options: ShoalOptions, curve: SocketCurve | undefined): Promise<Shoal> {
    const system = start({ name: ROOT, clock: options.clock, random: options.random, handleObserver: actorObserverOf(options.telemetry) });
    // The lock lives as long as the system: released once it has stopped (the writer closed),
    // however it stops, and kept referenced until then.
    void system.terminated.then(() => lock.release());
    const spool = new DeadLetterSpool(`${cfg.dbPath}.deadletters.jsonl`);
    system.deadLetterSink = new PersistedDeadLetterSink(system, paths.dbWriter, spool);
    const stats = newOosStats();
    const notifications = new NotificationChannel();
    const events = new EventStream<ShoalEvent>();
    const telemetry = new OosTelemetry(system, cfg.rankCriteria, options.telemetry);
    // Supervisor events are persisted for the inspector and the daily report (fire and forget: an
    // event lost with a failing database is still counted in the writer's health).
    const unsubscribe = system.events.subscribe((e) => {
      if (e.type === 'actor_restarted') {
        events.emit({ type: 'restart', path: e.path, ...(e.error ? { error: e.error } : {}) });
        telemetry.restarted(e.path);
      }
      if (e.type === 'give_up') raiseAlert(system, paths.notifier, supervisorGaveUpAlert(e.path, [e.reason, e.error].filter(Boolean).join(': ') || undefined));
      const kind = EVENT_KINDS[e.type];
      const writer = system.lookup(paths.dbWriter);
      if (!kind || !writer || e.path === paths.dbWriter) return;
      writer.tell({
        kind: 'write',
        commands: [{ type: 'recordSupervisorEvent', kind, path: e.path, childId: e.childId, detail: [e.reason, e.error].filter(Boolean).join(': ') || undefined }],
      } satisfies DbWriterMessage);
    });
    const replayRoutes = oosReplayRoutes({ writer: paths.dbWriter, sender: paths.sender, resultHandler: paths.resultHandler, ...(cfg.bridge ? { intake: paths.intake, forwarder: paths.forwarder } : {}) });
    const onCommitted = (commands: readonly WriteCommand[], outcomes: readonly CommandOutcome[]) => {
      telemetry.committed(commands, outcomes);
      // Nothing to derive when nobody listens: the writer's hot path stays as it was.
      if (!events.hasSubscribers) return;
      for (const e of eventsFromCommit(commands, outcomes)) events.emit(e);
    };
    const onRetentionPass = (p: RetentionPass) => events.emit({ type: 'retention', ...p });
    const onCheckpoint = (c: CheckpointEvent) => events.emit({ type: 'checkpoint', ...c });
    const onBatchFailed = (error: { code: string; message: string }) => {
      const alert = storeUnwritableAlert(error.code, error.message);
      if (alert) raiseAlert(system, paths.notifier, alert);
    };
    const tree = oosTree(cfg, { stats, spool, notifications, verdicts: new VerdictCache(), replayRoutes, onResultsBound: options.onResultsBound, onIntakeBound: options.onIntakeBound, onCommitted, onRetentionPass, onBatchFailed, onCheckpoint, curve, tracing: telemetry.tracing });
    let root: Supervisor;
    try {
      root = await startSupervisor(system, tree, ROOT);
    } catch (e) {
      unsubscribe();
      await system.stop(`start failed: ${(e as Error).message}`);
      throw e;
    }
    const shoal = new Shoal(system, root, cfg, stats, notifications, spool, events, unsubscribe, lock);
    shoal.stopGauges = telemetry.observe(() => shoal.status());
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
    return w;
  }

  /** Inserts or updates strategies (definition and in-sample metrics); resolves once committed. */
  async upsertStrategies(strategies: readonly Strategy[]): Promise<void> {
    const outcomes = await writeCommands(this.system, this.writer, strategies.map((s) => ({ type: 'upsertStrategy' as const, strategy: strategyInput(s) })));
    const failed = outcomes.find((o) => o.status === 'error');
    if (failed) throw new Error(`upsert failed: ${(failed as { error: string }).error}`);
  }

  /**
   * Asks for an OOS backtest of a strategy: the data gate validates the candle file the request
   * names (a failed check blocks it, records `data_invalid` and notifies), then the request goes
   * into the durable outbox. Resolves once committed (or refused). At most one live request per
   * strategy (a second one answers `duplicateLive`). A caller's W3C `traceparent` is continued:
   * the request joins the caller's trace.
   */
  async enqueue(strategyName: string, input: OosRequestInput, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    const gate = this.system.lookup(paths.gate);
    if (!gate) throw new Error(`the data gate (${paths.gate}) is not running`);
    if (options.traceparent !== undefined && !isValidTraceparent(options.traceparent)) {
      throw new TypeError(`enqueue of ${strategyName}: traceparent must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>), got ${JSON.stringify(options.traceparent)}`);
    }
    const reply = await this.system.query<DataGateMessage, GateReply>(
      gate,
      (replyTo) => ({ kind: 'enqueue', strategyName, request: input, requestId: options.requestId, oosWindowDays: options.oosWindowDays, traceparent: options.traceparent, replyTo }),
      options.timeoutMs ?? 300_000,
    );
    return enqueueResult(reply);
  }

  /**
   * How a request ended: done with its result, failed, or dead-lettered (see RequestOutcome).
   * Resolves at once for a request that has ended, else when it ends; rejects for an unknown id,
   * or after `timeoutMs` when one is given.
   */
  outcome(requestId: string, options: { timeoutMs?: number } = {}): Promise<RequestOutcome> {
    return new Promise<RequestOutcome>((resolve, reject) => {
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      // Listen before reading the store, so an end between the two is not missed.
      const stop = this.events.subscribe((e) => {
        if ((e.type === 'result' || e.type === 'failed') && e.requestId === requestId) finish(() => resolve(outcomeOf(e)));
      });
      const finish = (then: () => void) => {
        stop();
        if (timer) this.system.clock.clearTimeout(timer);
        then();
      };
      let ended: RequestOutcome | undefined;
      try {
        ended = storedOutcome(this.reader, requestId);
      } catch (e) {
        finish(() => reject(e));
        return;
      }
      if (ended) finish(() => resolve(ended));
      else if (options.timeoutMs !== undefined) {
        timer = this.system.clock.setTimeout(() => finish(() => reject(new Error(`request ${requestId} has not ended within ${options.timeoutMs} ms`))), options.timeoutMs);
      }
    });
  }

  /** Listens to one kind of event; returns the function that stops listening. */
  on<T extends ShoalEventType>(type: T, listener: (event: Extract<ShoalEvent, { type: T }>) => void): () => void {
    return this.events.subscribe((e) => {
      if (e.type === type) listener(e as Extract<ShoalEvent, { type: T }>);
    });
  }

  /** One look at the runtime: up or not, the outbox by state, the oldest live request's age, dead letters, restarts. */
  status(): ShoalStatus {
    const now = this.system.clock.now();
    const oldest = oldestLiveEnqueuedAt(this.reader);
    const letters = countDeadLettersByState(this.reader);
    return {
      running: !this.system.isStopped,
      pid: process.pid,
      startedAt: this.startedAt,
      uptimeMs: now - this.startedAt,
      outbox: countByState(this.reader),
      oldestLiveAgeMs: oldest === null ? null : Math.max(0, now - oldest),
      deadLetters: { dead: letters.dead, replaying: letters.replaying },
      restarts: sumRestarts(this.system.snapshot()),
    };
  }

  /** Runs a rank evaluation cycle now (incremental; `full` reads every strategy). */
  evaluateRanks(full = false, timeoutMs = 300_000): Promise<CycleReport> {
    const r = this.system.lookup(paths.rankEvaluator);
    if (!r) return Promise.reject(new Error('the rank evaluator is not running'));
    return this.system.query<RankEvaluatorMessage, CycleReport>(r, (replyTo) => ({ kind: full ? 'full_scan' : 'cycle', replyTo }), timeoutMs);
  }

  /**
   * Replays dead letters now: by ids, by source, or all eligible; claimed and queued at once.
   * `maxReplays` raises the cap for this call, `limit` how many are claimed (default the policy's batch).
   */
  replay(filter: { ids?: number[]; source?: string; maxReplays?: number; limit?: number } = {}, timeoutMs = 30_000): Promise<ReplayReport> {
    const r = this.system.lookup(paths.replayer);
    if (!r) return Promise.reject(new Error('the replayer is not running'));
    return this.system.query<ReplayerMessage, ReplayReport>(r, (replyTo) => ({ kind: 'replay', ...filter, replyTo }), timeoutMs);
  }

  /** Stops sending new requests until resumeSending (in-flight results are still handled). Resolves once the sender has it. */
  pauseSending(timeoutMs = 10_000): Promise<SendingState> {
    return this.tellSender('pause', timeoutMs);
  }

  /** Sends again what is due, after pauseSending. */
  resumeSending(timeoutMs = 10_000): Promise<SendingState> {
    return this.tellSender('resume', timeoutMs);
  }

  private tellSender(kind: 'pause' | 'resume', timeoutMs: number): Promise<SendingState> {
    const s = this.system.lookup(paths.sender);
    if (!s) return Promise.reject(new Error(`the sender (${paths.sender}) is not running; try again once it has restarted`));
    return this.system.query<SenderMessage, SendingState>(s, (replyTo) => ({ kind, replyTo }), timeoutMs);
  }

  /** Marks a dead letter discarded (kept, never deleted). */
  async discard(id: number, reason?: string): Promise<boolean> {
    const [o] = await writeCommands(this.system, this.writer, [{ type: 'discardDeadLetter', id, reason }]);
    return o.status === 'discarded';
  }

  snapshot(): TreeNode[] {
    return this.system.snapshot();
  }

  /**
   * Stops taking new work and waits for the requests in flight to end, before a stop: the
   * children that bring in work (tree.ts DRAIN_FIRST) and the sender stop, so nothing is enqueued
   * or sent any more, while results still come in and are stored. Resolves once no request is in
   * flight, or after `timeoutMs` with those still in flight (their leases keep them: they are sent
   * again, under the same id, after the next start). The runtime is not usable for new work
   * afterwards: call stop().
   */
  async drain(timeoutMs: number): Promise<{ inFlight: number; waitedMs: number }> {
    const stopChildren = async (sup: Supervisor | undefined, ids: readonly string[]) => {
      for (const id of ids) {
        if (sup?.whichChildren().some((c) => c.id === id && c.status !== 'stopped')) await sup.terminateChild(id);
      }
    };
    await stopChildren(this.root, DRAIN_FIRST);
    await stopChildren(this.root.childSupervisor('pipeline'), DRAIN_PIPELINE_FIRST);
    const clock = this.system.clock;
    const started = clock.now();
    const inFlight = await new Promise<number>((resolve) => {
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      let done = false;
      // An ended request is told by an event; one retried (back to pending) only by the store,
      // so the count is also looked at on a short period.
      const unsubscribe = this.events.subscribe((e) => {
        if (e.type === 'result' || e.type === 'failed') check();
      });
      const check = () => {
        if (done) return;
        const n = countInFlight(this.reader);
        const waited = clock.now() - started;
        if (n > 0 && waited < timeoutMs) {
          if (!timer) timer = clock.setTimeout(() => ((timer = undefined), check()), Math.min(DRAIN_POLL_MS, timeoutMs - waited));
          return;
        }
        done = true;
        unsubscribe();
        if (timer) clock.clearTimeout(timer);
        resolve(n);
      };
      check();
    });
    return { inFlight, waitedMs: clock.now() - started };
  }

  async stop(reason = 'stopped by the host'): Promise<void> {
    if (this.snapshotTimer) this.system.clock.clearTimeout(this.snapshotTimer);
    await this.system.stop(reason);
    this.stopGauges();
    this.lock.release();
    this.unsubscribe();
    this.reader.close();
    this.publishSnapshot(reason);
  }
}

export interface EnqueueOptions {
  /** Caller-chosen request id (an idempotent enqueue); default a new UUIDv7. */
  readonly requestId?: string;
  /** Without start_time/end_time in the request: the last this many days of data (default from config). */
  readonly oosWindowDays?: number;
  /** The caller's W3C traceparent: the request joins that trace. */
  readonly traceparent?: string;
  /** How long to wait for the gate and the commit. Default 300 s. */
  readonly timeoutMs?: number;
}

function outcomeOf(e: Extract<ShoalEvent, { type: 'result' | 'failed' }>): RequestOutcome {
  const { type: _type, ...outcome } = e;
  return outcome as RequestOutcome;
}

/** A request's outcome from the store, or undefined while it is live. Throws for an unknown id. */
function storedOutcome(store: Store, requestId: string): RequestOutcome | undefined {
  const req = getRequest(store, requestId);
  if (!req) throw new Error(`no request ${requestId} in the outbox`);
  if (req.state === 'done') {
    const r = getResult(store, requestId);
    if (!r) throw new Error(`request ${requestId} is done but has no result row`);
    return { status: 'done', requestId, strategyName: req.strategyName, result: resultFromRecord(r) };
  }
  if (req.state !== 'dead') return undefined;
  const letter = listDeadLetters(store, { requestId, state: undefined, limit: 100 })
    .filter((l) => (l.message as { kind?: unknown } | null)?.kind === REQUEST_LETTER_KIND)
    .at(-1);
  if (!letter) throw new Error(`request ${requestId} is dead but has no dead letter`);
  const retryable = (letter.message as { retryable?: unknown }).retryable !== false;
  return { status: retryable ? 'deadLettered' : 'failed', requestId, strategyName: req.strategyName, reason: letter.error, deadLetterId: letter.id };
}

function sumRestarts(nodes: readonly TreeNode[]): number {
  let n = 0;
  for (const node of nodes) n += (node.kind === 'supervisor' ? 0 : node.restartCount) + sumRestarts(node.children);
  return n;
}

/** Files the runtime writes beside the database; any that exists must be writable too. */
function runtimeSideFiles(cfg: OosConfig): string[] {
  const db = cfg.dbPath;
  // The tree snapshot is replaced by a rename: its directory is what counts, and that is checked.
  return [`${db}-wal`, `${db}-shm`, lockFileOf(db), `${db}.deadletters.jsonl`, cfg.notificationsFile];
}
