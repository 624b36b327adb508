import { type Clock, systemClock } from './clock.ts';
import { type DeadLetter, type DeadLetterSink, InMemoryDeadLetterSink, errorText } from './dead-letters.ts';
import { ActorStartError, ActorStoppedError, MailboxFullError, QueryTimeoutError, SystemStoppedError } from './errors.ts';
import { EventStream, type SystemEvent } from './events.ts';
import { Scheduler } from './scheduler.ts';
import { ActorRef, type ActorOptions, type Behaviour, Cell, CellStatus, type FaultHandler, type StopReason } from './cell.ts';
import type { TreeNode } from './tree.ts';
import type { ActorPath } from './actor-path.ts';

export interface SystemOptions {
  name?: string;
  clock?: Clock;
  deadLetterSink?: DeadLetterSink;
  /** Messages handled per scheduler turn before yielding to I/O. */
  turnBudget?: number;
  /** Retry delay when a durable dead-letter sink fails (the poison message stays queued meanwhile). */
  deadLetterRetryMs?: number;
  /** Source of randomness for jitter; injectable so tests are deterministic. */
  random?: () => number;
  /** Told each handling of messages by an actor (tracing hooks in here); none by default, and then it costs nothing. */
  handleObserver?: HandleObserver;
}

/**
 * Called before an actor handles messages (one call per message, or per batch for a batch
 * handler); the function it returns, if any, is called once the handling ended, with the error
 * when it crashed.
 */
export type HandleObserver = (path: string, messages: readonly unknown[]) => ((error?: unknown) => void) | undefined;

/** A node the system can snapshot and stop: a top-level supervisor or a plain actor. */
export interface RootNode {
  readonly path: string;
  snapshot(): TreeNode;
  shutdown(): Promise<void>;
}

interface PendingQuery {
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Clock time at which it times out. */
  deadline: number;
  path: string;
  timeoutMs: number;
}

/** Reply address of one query: delivering to it resolves the query, once. */
class ReplyRef<R> extends ActorRef<R> {
  constructor(private readonly system: ActorSystem, readonly correlationId: number, path: string) {
    super(path);
  }
  override tell(msg: R, sender?: ActorRef<any>): boolean {
    return this.system.resolveQuery(this.correlationId, this.path, msg, sender);
  }
}

export class ActorSystem {
  readonly name: string;
  readonly clock: Clock;
  readonly random: () => number;
  readonly scheduler: Scheduler;
  readonly handleObserver: HandleObserver | undefined;
  readonly events = new EventStream<SystemEvent>();
  deadLetterSink: DeadLetterSink;
  readonly stats = { deadLetters: 0, lateReplies: 0, deadLetterSinkFailures: 0 };
  private readonly cells = new Map<string, Cell>();
  private readonly roots = new Map<string, RootNode>();
  private readonly pendingQueries = new Map<number, PendingQuery>();
  /**
   * One timer for all queries, armed at the earliest deadline: a query that is answered costs no
   * timer of its own (asks are the db-writer's hot path). When it fires, every query past its
   * deadline is rejected and the timer is armed again for the earliest one left.
   */
  private queryTimer: { at: number; handle: ReturnType<Clock['setTimeout']> } | undefined;
  private correlationSeq = 0;
  private nameSeq = 0;
  private readonly deadLetterRetryMs: number;
  private stoppedReason: string | undefined;
  private resolveTerminated!: (reason: string) => void;
  /** Resolves with the reason once the system has stopped. */
  readonly terminated: Promise<string>;

  /** Restarts crashed unsupervised actors in place; an actor whose init fails is stopped. */
  private readonly defaultFaultHandler: FaultHandler = {
    actorFailed: (cell, error, phase) => {
      this.events.emit({ type: 'actor_crashed', at: this.clock.now(), path: cell.path, error: errorText(error), reason: phase });
      if (phase === 'init') {
        void cell.stop('shutdown', 'brutal', false);
        return;
      }
      cell.restart();
      this.events.emit({ type: 'actor_restarted', at: this.clock.now(), path: cell.path, restartCount: cell.restartCount });
    },
    actorExited: (cell, reason) => {
      void cell.stop(reason, 'brutal', false).then(() => this.events.emit({ type: 'actor_stopped', at: this.clock.now(), path: cell.path, reason }));
    },
  };

  constructor(options: SystemOptions = {}) {
    this.name = options.name ?? 'shoal';
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.handleObserver = options.handleObserver;
    this.deadLetterSink = options.deadLetterSink ?? new InMemoryDeadLetterSink();
    this.scheduler = new Scheduler(options.turnBudget);
    this.deadLetterRetryMs = options.deadLetterRetryMs ?? 1_000;
    this.terminated = new Promise((r) => (this.resolveTerminated = r));
  }

  get isStopped(): boolean {
    return this.stoppedReason !== undefined;
  }

  get stopReason(): string | undefined {
    return this.stoppedReason;
  }

  // ---- spawning -------------------------------------------------------------------------------

  /** Creates a cell (not started). Used by spawn and by supervisors, which pass themselves as the fault handler. */
  createCell(parentPath: string, name: string | undefined, behaviour: Behaviour<any, any>, options: ActorOptions, faultHandler?: FaultHandler, parent?: Cell): Cell {
    if (this.isStopped) throw new SystemStoppedError(this.stoppedReason!);
    const actorName = name ?? `$${++this.nameSeq}`;
    if (!/^[A-Za-z0-9_$.:@-]+$/.test(actorName)) throw new TypeError(`invalid actor name '${actorName}': use letters, digits and _ $ . : @ -`);
    const path = `${parentPath}/${actorName}`;
    if (this.cells.has(path)) throw new Error(`an actor already exists at ${path}`);
    const cell = new Cell(this, path, actorName, behaviour, options, faultHandler ?? this.defaultFaultHandler, parent);
    this.cells.set(path, cell);
    parent?.children.add(cell);
    return cell;
  }

  /** Spawns and starts an actor under `parent` (a path prefix or a parent ref). Init failures throw (or reject). */
  spawnCell(parent: ActorRef<any> | undefined, behaviour: Behaviour<any, any>, name?: string, options: ActorOptions = {}): Cell {
    const parentCell = parent ? this.cells.get(parent.path) : undefined;
    if (parent && !parentCell) throw new ActorStoppedError(parent.path, 'is not a live actor and cannot have children');
    const cell = this.createCell(parent ? parent.path : '', name, behaviour, options, undefined, parentCell);
    if (!parentCell) this.roots.set(cell.path, cellRoot(cell));
    let r: void | Promise<void>;
    try {
      r = cell.start();
    } catch (e) {
      void cell.stop('shutdown', 'brutal', false);
      this.events.emit({ type: 'start_failed', at: this.clock.now(), path: cell.path, error: errorText(e) });
      throw new ActorStartError(cell.path, e);
    }
    if (r) {
      r.catch(() => {
        this.events.emit({ type: 'start_failed', at: this.clock.now(), path: cell.path, error: cell.lastError });
        void cell.stop('shutdown', 'brutal', false);
      });
    }
    this.events.emit({ type: 'actor_started', at: this.clock.now(), path: cell.path });
    return cell;
  }

  unregister(cell: Cell): void {
    if (this.cells.get(cell.path) === cell) this.cells.delete(cell.path);
    cell.parent?.children.delete(cell);
    const root = this.roots.get(cell.path);
    if (root && root.path === cell.path && (root as { cell?: Cell }).cell === cell) this.roots.delete(cell.path);
  }

  registerRoot(node: RootNode): void {
    if (this.roots.has(node.path)) throw new Error(`a root node already exists at ${node.path}`);
    this.roots.set(node.path, node);
  }

  unregisterRoot(path: string): void {
    this.roots.delete(path);
  }

  /**
   * The actor running at `path`, typed by the path; undefined when none runs there now. Look up
   * at use: a child its supervisor stopped and started again is a new cell, and a ref kept from
   * before is stale.
   */
  lookup<M>(path: ActorPath<M>): ActorRef<M> | undefined {
    return this.cells.get(path)?.ref;
  }

  /**
   * Whether the actor at `path` declares that `message` belongs to its protocol: 'accepted',
   * 'refused', 'no_guard' (the actor declares no protocol check) or 'no_actor'.
   */
  accepts(path: string, message: unknown): 'accepted' | 'refused' | 'no_guard' | 'no_actor' {
    const cell = this.cells.get(path);
    if (!cell || cell.isStopped) return 'no_actor';
    const guard = cell.behaviour.accepts;
    if (!guard) return 'no_guard';
    try {
      return guard(message) ? 'accepted' : 'refused';
    } catch {
      return 'refused';
    }
  }

  /** Delivers by path; an unknown path yields a dead letter. */
  dispatchPath(path: string, msg: unknown, sender?: ActorRef<any>): boolean {
    const cell = this.cells.get(path);
    if (!cell) {
      this.deadLetter({ reason: 'unknown', target: path, sender: sender?.path, message: msg, at: this.clock.now() });
      return false;
    }
    return cell.enqueue(msg, sender);
  }

  // ---- dead letters ---------------------------------------------------------------------------

  deadLetter(letter: DeadLetter): void {
    this.stats.deadLetters++;
    try {
      const r = this.deadLetterSink.record(letter);
      if (r) r.catch(() => this.stats.deadLetterSinkFailures++);
    } catch {
      this.stats.deadLetterSinkFailures++;
    }
  }

  /** Records a letter and calls `then` once it is durable; a failing sink is retried after a delay. */
  recordDeadLetterDurably(letter: DeadLetter, then: () => void): void {
    const attempt = () => {
      let r: void | Promise<void>;
      try {
        r = this.deadLetterSink.record(letter);
      } catch {
        this.stats.deadLetterSinkFailures++;
        this.clock.setTimeout(attempt, this.deadLetterRetryMs);
        return;
      }
      if (r) {
        r.then(
          () => {
            this.stats.deadLetters++;
            then();
          },
          () => {
            this.stats.deadLetterSinkFailures++;
            this.clock.setTimeout(attempt, this.deadLetterRetryMs);
          },
        );
      } else {
        this.stats.deadLetters++;
        then();
      }
    };
    attempt();
  }

  // ---- queries --------------------------------------------------------------------------------

  /**
   * Asks an actor and waits for one reply. `makeMessage` receives the reply address; the reply is
   * matched by a unique correlation id. A timeout is mandatory; a reply arriving after it is
   * dropped, counted and dead-lettered.
   */
  query<M, R>(ref: ActorRef<M>, makeMessage: (replyTo: ActorRef<R>) => M, timeoutMs: number): Promise<R> {
    if (!(typeof timeoutMs === 'number' && timeoutMs > 0 && Number.isFinite(timeoutMs))) {
      return Promise.reject(new TypeError(`query to ${ref.path} needs a finite timeout in ms > 0, got ${String(timeoutMs)}`));
    }
    const id = ++this.correlationSeq;
    const replyTo = new ReplyRef<R>(this, id, `${ref.path}#query-${id}`);
    return new Promise<R>((resolve, reject) => {
      const deadline = this.clock.now() + timeoutMs;
      this.pendingQueries.set(id, { resolve: resolve as (v: unknown) => void, reject, deadline, path: ref.path, timeoutMs });
      const target = (ref as { cell?: Cell }).cell ?? this.cells.get(ref.path);
      const queued = target ? target.enqueue(makeMessage(replyTo), replyTo) : this.dispatchPath(ref.path, makeMessage(replyTo), replyTo);
      if (queued) this.armQueryTimer(deadline);
      else {
        this.pendingQueries.delete(id);
        if (target && !target.isStopped && target.mailbox.length >= target.capacity) reject(new MailboxFullError(ref.path, target.capacity));
        else reject(new ActorStoppedError(ref.path, target ? 'is stopped' : 'does not exist'));
      }
    });
  }

  /** Called by a reply address. */
  resolveQuery(id: number, path: string, msg: unknown, sender?: ActorRef<any>): boolean {
    const pending = this.pendingQueries.get(id);
    if (!pending) {
      this.stats.lateReplies++;
      this.deadLetter({ reason: 'late_reply', target: path, sender: sender?.path, message: msg, at: this.clock.now() });
      return false;
    }
    this.pendingQueries.delete(id);
    pending.resolve(msg);
    return true;
  }

  private armQueryTimer(deadline: number): void {
    if (this.queryTimer !== undefined && this.queryTimer.at <= deadline) return;
    if (this.queryTimer !== undefined) this.clock.clearTimeout(this.queryTimer.handle);
    const handle = this.clock.setTimeout(() => this.expireQueries(), Math.max(0, deadline - this.clock.now()));
    this.queryTimer = { at: deadline, handle };
  }

  private expireQueries(): void {
    this.queryTimer = undefined;
    const now = this.clock.now();
    let next = Infinity;
    for (const [id, q] of this.pendingQueries) {
      if (q.deadline <= now) {
        this.pendingQueries.delete(id);
        q.reject(new QueryTimeoutError(q.path, id, q.timeoutMs));
      } else if (q.deadline < next) next = q.deadline;
    }
    if (next !== Infinity) this.armQueryTimer(next);
  }

  get pendingQueryCount(): number {
    return this.pendingQueries.size;
  }

  // ---- introspection --------------------------------------------------------------------------

  /** A snapshot of every root (supervisors and top-level actors) and everything under them. */
  snapshot(): TreeNode[] {
    return [...this.roots.values()].map((r) => r.snapshot());
  }

  actorCount(): number {
    return this.cells.size;
  }

  livePaths(): string[] {
    return [...this.cells.keys()];
  }

  /** Resolves once no actor has queued work, no async handler is in flight and no turn is pending. */
  async whenIdle(maxTurns = 100_000): Promise<void> {
    for (let i = 0; i < maxTurns; i++) {
      await new Promise((r) => setImmediate(r));
      if (this.scheduler.idle && ![...this.cells.values()].some((c) => c.status === CellStatus.Busy || c.status === CellStatus.Starting || (c.mailbox.length > 0 && c.status === CellStatus.Running))) {
        return;
      }
    }
    throw new Error('system did not become idle');
  }

  // ---- stopping -------------------------------------------------------------------------------

  /** Stops every root in reverse order of creation, then the system. Idempotent. */
  async stop(reason = 'normal'): Promise<void> {
    if (this.stoppedReason !== undefined) return;
    this.stoppedReason = reason;
    for (const root of [...this.roots.values()].reverse()) await root.shutdown();
    if (this.queryTimer !== undefined) this.clock.clearTimeout(this.queryTimer.handle);
    this.queryTimer = undefined;
    this.pendingQueries.clear();
    this.events.emit({ type: 'system_stopped', at: this.clock.now(), path: '', reason });
    this.resolveTerminated(reason);
  }

  /** Fails an actor as if its I/O had died (fault injection, operator action); false if it is not running. */
  crashActor(ref: ActorRef<any>, error: unknown): boolean {
    return this.cells.get(ref.path)?.crash(error) ?? false;
  }

  stopActor(ref: ActorRef<any>, reason: StopReason = 'shutdown', timeoutMs: number | 'brutal' | 'infinity' = 5_000): Promise<void> {
    const cell = this.cells.get(ref.path);
    if (!cell) return Promise.resolve();
    return cell.stop(reason, timeoutMs, false).then(() => {
      this.events.emit({ type: 'actor_stopped', at: this.clock.now(), path: cell.path, reason });
    });
  }
}

function cellRoot(cell: Cell): RootNode & { cell: Cell } {
  return {
    path: cell.path,
    cell,
    snapshot: () => cellSnapshot(cell, 'actor'),
    shutdown: async () => {
      await cell.stop('shutdown', 5_000, false);
    },
  };
}

export function cellSnapshot(cell: Cell, kind: 'actor' | 'worker', extra: Partial<TreeNode> = {}): TreeNode {
  return {
    path: cell.path,
    kind,
    status: cell.publicStatus,
    restartCount: cell.restartCount,
    restartWindow: [],
    mailboxLength: cell.mailbox.length,
    processed: cell.processed,
    lastError: cell.lastError,
    lastErrorAt: cell.lastErrorAt,
    children: [...cell.children].map((c) => cellSnapshot(c, 'actor')),
    ...extra,
  };
}
