import type { Clock } from './clock.ts';
import { RingQueue } from './ring-queue.ts';
import { describeError, errorText } from './dead-letters.ts';
import type { ActorSystem } from './system.ts';

/** Why an actor stopped. A crash is reported through FaultHandler.actorFailed, not as a stop reason. */
export type StopReason = 'normal' | 'shutdown' | 'restart';

export interface ActorContext<M> {
  readonly self: ActorRef<M>;
  readonly path: string;
  readonly name: string;
  readonly system: ActorSystem;
  readonly clock: Clock;
  /** Sender of the message being handled, when the dispatcher named one. */
  sender: ActorRef<any> | undefined;
  /** In a batch handler: the sender of each message of the batch, by index. */
  senders: readonly (ActorRef<any> | undefined)[];
  /** Fails this actor now, from an I/O callback (see Cell.crash); no message is blamed. */
  crash(error: unknown): void;
  /** Stops this actor with reason 'normal' once the current message is done. */
  stop(): void;
  /** Messages waiting in this actor's mailbox (lets an I/O loop feeding the actor pause when it is behind). */
  mailboxLength(): number;
  /** Failed attempts so far of the message being handled (0 the first time; equals maxMessageRetries on its last chance). */
  attempt(): number;
  /** Times the message being handled may be retried after a crash. */
  readonly maxMessageRetries: number;
}

/** What an actor does. `receive` and `receiveBatch` are alternatives; a batch handler gets every message drained in one turn. */
export interface Behaviour<S, M> {
  /** Initial state; called at every (re)start. Throwing (or rejecting) is a start failure. */
  init?: (ctx: ActorContext<M>) => S | Promise<S>;
  initialState?: S;
  receive?: (state: S, msg: M, ctx: ActorContext<M>) => S | Promise<S>;
  receiveBatch?: (state: S, msgs: readonly M[], ctx: ActorContext<M>) => S | Promise<S>;
  /** Runs on a graceful stop, and with reason 'restart' before a restart after a crash (to release sockets and the like); not on a hard kill. */
  onStop?: (state: S, reason: StopReason, ctx: ActorContext<M>) => void | Promise<void>;
  /**
   * The actor's protocol as a check on an untyped value. Typed senders never need it; whatever
   * delivers messages that come back from storage (dead-letter replay) asks it first, so a
   * message of another actor's protocol is refused instead of crashing this one.
   */
  accepts?: (message: unknown) => message is M;
}

export interface ActorOptions {
  /** Bounded mailbox; an overflowing message becomes a dead letter. */
  mailboxCapacity?: number;
  /** Times a message that crashed its actor is retried before it is dead-lettered as poison. */
  maxMessageRetries?: number;
  /** Messages handled per scheduling turn before other actors and I/O get a go (Akka's throughput). */
  throughput?: number;
  /** Largest batch handed to receiveBatch (defaults to throughput). */
  batchSize?: number;
}

export const defaultActorOptions = Object.freeze({
  mailboxCapacity: 10_000,
  maxMessageRetries: 2,
  throughput: 64,
});

/** Decides what happens when an actor fails: a supervisor, or the system's default handler. */
export interface FaultHandler {
  actorFailed(cell: Cell, error: unknown, phase: 'receive' | 'init'): void;
  /** The actor stopped itself with ctx.stop(). */
  actorExited(cell: Cell, reason: StopReason): void;
}

export const enum CellStatus {
  New = 0,
  Starting = 1,
  Running = 2,
  Busy = 3,
  Failed = 4,
  Restarting = 5,
  Stopping = 6,
  Stopped = 7,
}

export type PublicStatus = 'starting' | 'running' | 'restarting' | 'stopped';

export class ActorRef<M> {
  /** Phantom field so refs of different message types do not mix. */
  declare readonly __message?: (m: M) => void;
  constructor(readonly path: string) {}
  /** Delivers a message (never throws; undeliverable messages become dead letters). Returns whether it was queued. */
  tell(_msg: M, _sender?: ActorRef<any>): boolean {
    return false;
  }
}

/**
 * A sender that wants to know when its message has been handled: used to replay dead letters
 * (`replayOf` is the dead letter's id; a replayed message that fails again carries it back).
 */
export class ReceiptRef extends ActorRef<unknown> {
  constructor(path: string, readonly replayOf: number, readonly onHandled: () => void) {
    super(path);
  }
}

export class CellRef<M> extends ActorRef<M> {
  constructor(readonly cell: Cell) {
    super(cell.path);
  }
  override tell(msg: M, sender?: ActorRef<any>): boolean {
    return this.cell.enqueue(msg, sender);
  }
}

/**
 * The actor cell: one mailbox, one state, one behaviour. The message being handled stays at the
 * head of the mailbox until it succeeds, so a crash neither loses nor copies anything, and a
 * restart (which keeps the cell) resumes with the same message.
 */
export class Cell {
  readonly ref: CellRef<any>;
  readonly ctx: ActorContext<any>;
  readonly mailbox: RingQueue<unknown, ActorRef<any>>;
  readonly capacity: number;
  readonly maxMessageRetries: number;
  readonly throughput: number;
  readonly batchSize: number;
  status: CellStatus = CellStatus.New;
  state: unknown = undefined;
  /** Queued in the scheduler's run queue. */
  queued = false;
  /** Processing attempts of the head message (consecutive crashes on it). */
  headAttempts = 0;
  /** After a batch crashes, messages are retried one at a time to isolate the poison one. */
  private isolating = 0;
  /** Bumped at every (re)start and kill so that late async completions of an old incarnation are ignored. */
  private generation = 0;
  private stopRequested = false;
  /** A stop for a restart is in progress: messages keep queueing for the next incarnation. */
  private keepingMailbox = false;
  private inFlight: Promise<unknown> | undefined;
  /** The crashed incarnation's onStop and state, run with reason 'restart' before the next init. */
  private cleanup: { onStop: NonNullable<Behaviour<any, any>['onStop']>; state: unknown } | undefined;
  restartCount = 0;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  processed = 0;
  readonly children = new Set<Cell>();

  constructor(
    readonly system: ActorSystem,
    readonly path: string,
    readonly name: string,
    public behaviour: Behaviour<any, any>,
    options: ActorOptions,
    public faultHandler: FaultHandler,
    readonly parent: Cell | undefined,
  ) {
    this.capacity = options.mailboxCapacity ?? defaultActorOptions.mailboxCapacity;
    this.maxMessageRetries = options.maxMessageRetries ?? defaultActorOptions.maxMessageRetries;
    this.throughput = options.throughput ?? defaultActorOptions.throughput;
    this.batchSize = options.batchSize ?? this.throughput;
    if (!(this.capacity >= 1)) throw new RangeError(`${path}: mailboxCapacity must be >= 1`);
    if (!(this.maxMessageRetries >= 0)) throw new RangeError(`${path}: maxMessageRetries must be >= 0`);
    if (!(this.throughput >= 1)) throw new RangeError(`${path}: throughput must be >= 1`);
    if (!behaviour.receive === !behaviour.receiveBatch) throw new TypeError(`${path}: a behaviour needs exactly one of receive or receiveBatch`);
    this.mailbox = new RingQueue(Math.min(this.capacity, 16));
    this.ref = new CellRef(this);
    const cell = this;
    this.ctx = {
      self: this.ref,
      path,
      name,
      system,
      clock: system.clock,
      sender: undefined,
      senders: [],
      stop() {
        cell.stopRequested = true;
      },
      crash(error: unknown) {
        cell.crash(error);
      },
      mailboxLength() {
        return cell.mailbox.length;
      },
      attempt() {
        return cell.headAttempts;
      },
      maxMessageRetries: this.maxMessageRetries,
    };
  }

  get publicStatus(): PublicStatus {
    switch (this.status) {
      case CellStatus.New:
      case CellStatus.Starting:
        return 'starting';
      case CellStatus.Running:
      case CellStatus.Busy:
        return 'running';
      case CellStatus.Failed:
      case CellStatus.Restarting:
        return 'restarting';
      default:
        return 'stopped';
    }
  }

  get isStopped(): boolean {
    return this.status === CellStatus.Stopped;
  }

  /** Queues a message; a stopped target or a full mailbox yields a dead letter. */
  enqueue(msg: unknown, sender: ActorRef<any> | undefined): boolean {
    if (this.status === CellStatus.Stopped || (this.status === CellStatus.Stopping && !this.keepingMailbox)) {
      this.system.deadLetter({ reason: 'stopped', target: this.path, sender: sender?.path, message: msg, at: this.system.clock.now() });
      return false;
    }
    if (this.mailbox.length >= this.capacity) {
      this.system.deadLetter({
        reason: 'mailbox_full',
        target: this.path,
        sender: sender?.path,
        message: msg,
        error: `mailbox capacity ${this.capacity} reached`,
        at: this.system.clock.now(),
      });
      return false;
    }
    this.mailbox.push(msg, sender);
    if (!this.queued && this.status === CellStatus.Running) this.system.scheduler.schedule(this);
    return true;
  }

  /** Runs init and marks the cell running. Rejects/throws on start failure (the caller decides what that means). */
  start(): void | Promise<void> {
    const gen = ++this.generation;
    this.status = CellStatus.Starting;
    this.stopRequested = false;
    const cleanup = this.cleanup;
    if (cleanup) {
      this.cleanup = undefined;
      const done = this.runCleanup(cleanup);
      if (done) return done.then(() => (gen === this.generation ? this.init(gen) : undefined));
    }
    return this.init(gen);
  }

  private runCleanup(c: NonNullable<Cell['cleanup']>): void | Promise<void> {
    try {
      const r = c.onStop(c.state, 'restart', this.ctx);
      if (isThenable(r)) return Promise.resolve(r).then(() => undefined, (e) => this.noteError(e));
    } catch (e) {
      this.noteError(e);
    }
  }

  private init(gen: number): void | Promise<void> {
    const b = this.behaviour;
    const initial = b.init ? b.init(this.ctx) : b.initialState;
    if (isThenable(initial)) {
      return Promise.resolve(initial).then(
        (s) => {
          if (gen === this.generation) this.started(s);
        },
        (e) => {
          if (gen === this.generation) this.status = CellStatus.Failed;
          throw e;
        },
      );
    }
    this.started(initial);
  }

  private started(state: unknown): void {
    this.state = state;
    this.status = CellStatus.Running;
    if (this.mailbox.length > 0) this.system.scheduler.schedule(this);
  }

  /** Starts again after a failure, keeping the mailbox. An init failure is reported to the fault handler. */
  restart(): void {
    this.restartCount++;
    let r: void | Promise<void>;
    try {
      r = this.start();
    } catch (e) {
      this.initFailed(e);
      return;
    }
    if (r) r.catch((e) => this.initFailed(e));
  }

  private initFailed(e: unknown): void {
    if (this.status === CellStatus.Stopped) return;
    this.status = CellStatus.Failed;
    this.noteError(e);
    this.faultHandler.actorFailed(this, e, 'init');
  }

  /**
   * Fails the actor from outside message handling (an I/O callback saw its socket die, an
   * operator injects a fault): the supervisor decides as for any crash, but no message is blamed,
   * so nothing is retried or dead-lettered for it. A message being handled asynchronously stays
   * at the head of the mailbox and is handled again after the restart.
   */
  crash(e: unknown): boolean {
    if (this.status !== CellStatus.Running && this.status !== CellStatus.Busy) return false;
    this.generation++;
    this.inFlight = undefined;
    this.status = CellStatus.Failed;
    this.noteError(e);
    if (this.behaviour.onStop) this.cleanup = { onStop: this.behaviour.onStop, state: this.state };
    this.faultHandler.actorFailed(this, e, 'receive');
    return true;
  }

  /** Marks the cell as waiting for a delayed restart (messages keep queueing). */
  markRestarting(): void {
    if (this.status !== CellStatus.Stopped) this.status = CellStatus.Restarting;
  }

  /** Handles up to `budget` messages; returns how many were handled. Called by the scheduler only. */
  drain(budget: number): number {
    if (this.behaviour.receiveBatch) return this.drainBatch(budget);
    const receive = this.behaviour.receive!;
    const mailbox = this.mailbox;
    const ctx = this.ctx;
    let n = 0;
    while (n < budget && this.status === CellStatus.Running && mailbox.length > 0) {
      const msg = mailbox.peek();
      ctx.sender = mailbox.peekAux();
      const observer = this.system.handleObserver;
      const observed = observer === undefined ? undefined : observer(this.path, [msg]);
      let next: unknown;
      try {
        next = receive(this.state, msg, ctx);
      } catch (e) {
        observed?.(e);
        this.failed(e, 1);
        return n;
      }
      if (isThenable(next)) {
        this.awaitHandler(next, 1, observed);
        return n + 1;
      }
      observed?.();
      this.state = next;
      const sender = ctx.sender;
      mailbox.drop();
      this.headAttempts = 0;
      this.processed++;
      n++;
      if (sender !== undefined && sender instanceof ReceiptRef) sender.onHandled();
      if (this.stopRequested) {
        this.exitNormally();
        return n;
      }
    }
    return n;
  }

  private drainBatch(budget: number): number {
    if (this.status !== CellStatus.Running || this.mailbox.length === 0) return 0;
    const size = this.isolating > 0 ? 1 : Math.min(this.batchSize, budget, this.mailbox.length);
    const msgs = new Array(size);
    const senders = new Array<ActorRef<any> | undefined>(size);
    for (let i = 0; i < size; i++) {
      msgs[i] = this.mailbox.at(i);
      senders[i] = this.mailbox.atAux(i);
    }
    this.ctx.sender = undefined;
    this.ctx.senders = senders;
    const observer = this.system.handleObserver;
    const observed = observer === undefined ? undefined : observer(this.path, msgs);
    let next: unknown;
    try {
      next = this.behaviour.receiveBatch!(this.state, msgs, this.ctx);
    } catch (e) {
      observed?.(e);
      this.failed(e, size);
      return 0;
    }
    if (isThenable(next)) {
      this.awaitHandler(next, size, observed);
      return size;
    }
    observed?.();
    this.handled(next, size);
    return size;
  }

  private handled(next: unknown, count: number): void {
    this.state = next;
    for (let i = 0; i < count; i++) {
      const sender = this.mailbox.peekAux();
      this.mailbox.drop();
      if (sender !== undefined && sender instanceof ReceiptRef) sender.onHandled();
    }
    if (this.isolating > 0) this.isolating = Math.max(0, this.isolating - count);
    this.headAttempts = 0;
    this.processed += count;
    if (this.stopRequested) this.exitNormally();
  }

  private awaitHandler(p: PromiseLike<unknown>, count: number, observed?: (error?: unknown) => void): void {
    const gen = this.generation;
    this.status = CellStatus.Busy;
    const done = Promise.resolve(p).then(
      (next) => {
        observed?.();
        if (gen !== this.generation) return;
        if (this.status === CellStatus.Busy) this.status = CellStatus.Running;
        this.handled(next, count);
        if (this.status === CellStatus.Running && this.mailbox.length > 0) this.system.scheduler.schedule(this);
      },
      (e) => {
        observed?.(e);
        if (gen !== this.generation) return;
        if (this.status === CellStatus.Stopping) return; // a stop is in progress; the crash no longer matters
        this.failed(e, count);
      },
    );
    this.inFlight = done;
    void done.finally(() => {
      if (this.inFlight === done) this.inFlight = undefined;
    });
  }

  private noteError(e: unknown): void {
    this.lastError = errorText(e);
    this.lastErrorAt = this.system.clock.now();
  }

  /** A handler threw while processing `count` messages from the head of the mailbox. */
  private failed(e: unknown, count: number): void {
    this.status = CellStatus.Failed;
    this.noteError(e);
    if (this.behaviour.onStop) this.cleanup = { onStop: this.behaviour.onStop, state: this.state };
    if (count > 1) {
      // A batch crashed: retry its messages one by one so that only the poison one is dead-lettered.
      this.isolating = count;
      this.faultHandler.actorFailed(this, e, 'receive');
      return;
    }
    this.headAttempts++;
    const sender = this.mailbox.peekAux();
    // A replayed dead letter already used its retries when it first failed: one try, then it
    // goes back to its letter, so a replay costs at most one restart.
    if (this.headAttempts <= this.maxMessageRetries && !(sender instanceof ReceiptRef)) {
      this.faultHandler.actorFailed(this, e, 'receive');
      return;
    }
    // Poison: durable dead letter first, then drop it from the mailbox, then report the crash.
    const msg = this.mailbox.peek();
    const { error, stack } = describeError(e);
    const letter = {
      reason: 'poison' as const,
      target: this.path,
      sender: sender?.path,
      message: msg,
      error,
      stack,
      attempts: this.headAttempts,
      at: this.system.clock.now(),
      replayOf: sender instanceof ReceiptRef ? sender.replayOf : undefined,
    };
    const gen = this.generation;
    const afterRecorded = () => {
      if (gen !== this.generation || this.status === CellStatus.Stopped) return;
      this.mailbox.drop();
      this.headAttempts = 0;
      if (this.isolating > 0) this.isolating--;
      this.system.events.emit({ type: 'poison_message', at: this.system.clock.now(), path: this.path, error, restartCount: this.restartCount });
      this.faultHandler.actorFailed(this, e, 'receive');
    };
    this.system.recordDeadLetterDurably(letter, afterRecorded);
  }

  private exitNormally(): void {
    this.stopRequested = false;
    this.status = CellStatus.Stopping;
    const finish = () => this.faultHandler.actorExited(this, 'normal');
    const r = this.runOnStop('normal');
    if (r) r.then(finish, finish);
    else finish();
  }

  private runOnStop(reason: StopReason): void | Promise<void> {
    const onStop = this.behaviour.onStop;
    if (!onStop) return;
    try {
      const r = onStop(this.state, reason, this.ctx);
      if (isThenable(r)) return Promise.resolve(r).then(() => undefined, (e) => this.noteError(e));
    } catch (e) {
      this.noteError(e);
    }
  }

  /**
   * Stops the actor: lets an in-flight async message finish, runs onStop, all within `timeoutMs`;
   * past it (or with 'brutal') the actor is killed. With `keepMailbox` the cell stays registered
   * and queues messages for a later restart; otherwise queued messages become dead letters.
   * Resolves to how it ended.
   */
  async stop(reason: StopReason, timeoutMs: number | 'brutal' | 'infinity', keepMailbox: boolean): Promise<'graceful' | 'killed' | 'already'> {
    if (this.status === CellStatus.Stopped) return 'already';
    for (const child of [...this.children].reverse()) await child.stop('shutdown', timeoutMs, false);
    let outcome: 'graceful' | 'killed' = 'graceful';
    const wasRunning = this.status === CellStatus.Running || this.status === CellStatus.Busy;
    this.keepingMailbox = keepMailbox;
    if (timeoutMs === 'brutal') {
      outcome = 'killed';
    } else {
      this.status = CellStatus.Stopping;
      const graceful = (async () => {
        if (this.inFlight) await this.inFlight.catch(() => undefined);
        if (wasRunning) await this.runOnStop(reason);
        else if (this.cleanup) {
          // A crashed incarnation still holds its resources: release them now.
          const c = this.cleanup;
          this.cleanup = undefined;
          await this.runCleanup(c);
        }
      })();
      if (timeoutMs === 'infinity') await graceful;
      else outcome = await raceTimeout(graceful, timeoutMs, this.system.clock);
    }
    this.generation++;
    this.inFlight = undefined;
    this.keepingMailbox = false;
    // Attempts belong to the head message: a bystander restart (keepMailbox) is no failure of it.
    if (keepMailbox) {
      this.status = CellStatus.Restarting;
    } else {
      this.status = CellStatus.Stopped;
      this.headAttempts = 0;
      this.isolating = 0;
      this.system.unregister(this);
      const now = this.system.clock.now();
      for (const { item, aux } of this.mailbox.drain()) {
        this.system.deadLetter({ reason: 'stopped', target: this.path, sender: aux?.path, message: item, at: now });
      }
    }
    return outcome;
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

function raceTimeout(p: Promise<void>, ms: number, clock: Clock): Promise<'graceful' | 'killed'> {
  return new Promise((resolve) => {
    let settled = false;
    const timer = clock.setTimeout(() => {
      if (!settled) {
        settled = true;
        resolve('killed');
      }
    }, ms);
    p.then(() => {
      if (!settled) {
        settled = true;
        clock.clearTimeout(timer);
        resolve('graceful');
      }
    });
  });
}
