/**
 * The embedded library: start the OOS flow inside the trading host, enqueue requests, inspect
 * and replay. Everything durable is in the SQLite file; a restart picks up where it stopped.
 */
import { type ActorRef, type ActorSystem, type Clock, type SystemEvent, type TreeNode, start } from '../runtime/index.ts';
import { startSupervisor, type Supervisor } from '../supervisors/index.ts';
import { DeadLetterSpool } from '../persistence/dead-letter-spool.ts';
import type { EnqueueOutcome, StrategyInput } from '../persistence/commands.ts';
import type { DeadLetter } from '../persistence/records.ts';
import type { SupervisorEventKind } from '../persistence/schema.ts';
import { createTraceparent, type BacktestRequest } from '../protocol/index.ts';
import { PersistedDeadLetterSink } from '../actors/dead-letter-sink.ts';
import { writeCommand, writeCommands } from '../actors/db-client.ts';
import type { DbWriterMessage } from '../actors/db-writer.ts';
import type { ReplayerMessage, ReplayReport } from '../actors/replayer.ts';
import type { SenderMessage } from '../actors/sender.ts';
import { oosConfig, type OosConfig } from './config.ts';
import { newOosStats, oosTree, paths, ROOT, type OosStats } from './tree.ts';

/** What the host asks for: a backtest request without the id and trace context shoal assigns. */
export type OosRequestInput = Omit<BacktestRequest, 'requestId' | 'traceparent'>;

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
  private constructor(
    readonly system: ActorSystem,
    readonly root: Supervisor,
    readonly config: OosConfig,
    readonly stats: OosStats,
    readonly spool: DeadLetterSpool,
    private readonly unsubscribe: () => void,
  ) {}

  static async start(config: Partial<OosConfig> & { dbPath: string }, options: ShoalOptions = {}): Promise<Shoal> {
    const cfg = oosConfig(config);
    const system = start({ name: ROOT, clock: options.clock, random: options.random });
    const spool = new DeadLetterSpool(`${cfg.dbPath}.deadletters.jsonl`);
    system.deadLetterSink = new PersistedDeadLetterSink(system, paths.dbWriter, spool);
    const stats = newOosStats();
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
    const shoal = { system } as { system: ActorSystem };
    const replayHandlers = {
      // A dead request is replayed by putting it back in the outbox with fresh attempts.
      [paths.sender]: (letter: DeadLetter) => requeue(shoal.system, letter),
    };
    const root = await startSupervisor(system, oosTree(cfg, { stats, spool, replayHandlers, onResultsBound: options.onResultsBound }), ROOT);
    return new Shoal(system, root, cfg, stats, spool, unsubscribe);
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
   * Puts an OOS request for a strategy in the durable outbox; resolves once committed. At most one
   * live request per strategy (a second one answers `duplicate_live`).
   */
  async enqueue(strategyName: string, input: OosRequestInput, options: { requestId?: string; nextAttemptAt?: number } = {}): Promise<EnqueueOutcome> {
    const outcome = await writeCommand(this.system, this.writer, {
      type: 'enqueueRequest',
      strategyName,
      payload: input as unknown as Record<string, unknown>,
      traceparent: createTraceparent(),
      requestId: options.requestId,
      nextAttemptAt: options.nextAttemptAt,
    });
    if (outcome.status === 'enqueued') this.system.lookup(paths.sender)?.tell({ kind: 'wake' } satisfies SenderMessage);
    return outcome;
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
    await this.system.stop(reason);
    this.unsubscribe();
  }
}

/** A dead request is replayed by putting it back in the outbox with fresh attempts (and the letter marked replayed, atomically). */
async function requeue(system: ActorSystem, letter: DeadLetter): Promise<void> {
  const writer = system.lookup(paths.dbWriter) as ActorRef<DbWriterMessage>;
  const [o] = letter.requestId
    ? await writeCommands(system, writer, [{ type: 'requeueRequest', requestId: letter.requestId, deadLetterId: letter.id }])
    : [undefined];
  if (o?.status === 'requeued') {
    system.lookup(paths.sender)?.tell({ kind: 'wake' } satisfies SenderMessage);
    return;
  }
  const why = o === undefined ? 'the letter names no request' : `request ${letter.requestId} could not be requeued (${o.status}${'state' in o && o.state ? `: ${o.state}` : ''})`;
  await writeCommands(system, writer, [{ type: 'deadLetterReturned', id: letter.id, error: `replay: ${why}` }]);
}
