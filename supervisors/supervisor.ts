import { type Cell, CellStatus, type FaultHandler, type StopReason } from '../runtime/cell.ts';
import { type BackoffPolicy, backoffDelay, consecutiveAttempts } from '../runtime/backoff.ts';
import type { TimerHandle } from '../runtime/clock.ts';
import { errorText } from '../runtime/dead-letters.ts';
import type { SystemEvent } from '../runtime/events.ts';
import { type ActorSystem, cellSnapshot } from '../runtime/system.ts';
import type { TreeNode } from '../runtime/tree.ts';
import { RingQueue } from '../runtime/ring-queue.ts';
import { recordRestart, restartsInWindow } from './intensity.ts';
import { type ExitKind, restartsAfter } from './restart-policy.ts';
import {
  type ActorDefinition,
  type AnySupervisorSpec,
  type ChildSpec,
  type NormalizedChildSpec,
  type Shutdown,
  type SupervisorSpec,
  SpecError,
  normalizeChildSpec,
  supervisorDefaults,
  validateSupervisorSpec,
} from './spec.ts';

/**
 * A child failed to start. The message leads with the cause and gives the path as context
 * ("cannot open database /x/y.db: read-only file (while starting /shoal/pipeline/db-writer)"):
 * nested supervisors do not wrap it again, they keep the deepest path and the original error,
 * which is `cause`.
 */
export class SupervisorStartError extends Error {
  override readonly name = 'SupervisorStartError';
  /** The supervisor whose child failed to start (the innermost one). */
  readonly supervisorPath: string;
  readonly childId: string;
  /** Path of the child that failed to start. */
  readonly childPath: string;
  override readonly cause: unknown;

  constructor(supervisorPath: string, childId: string, cause: unknown) {
    const inner = cause instanceof SupervisorStartError ? cause : undefined;
    const childPath = inner ? inner.childPath : `${supervisorPath}/${childId}`;
    const root = inner ? inner.cause : cause;
    super(`${causeText(root)} (while starting ${childPath})`);
    this.supervisorPath = inner ? inner.supervisorPath : supervisorPath;
    this.childId = inner ? inner.childId : childId;
    this.childPath = childPath;
    this.cause = root;
  }
}

/** JavaScript's own error kinds say what went wrong ("TypeError: ..."); other errors speak in their message. */
const TELLING_NAMES = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'URIError']);

function causeText(e: unknown): string {
  return e instanceof Error && !TELLING_NAMES.has(e.name) ? e.message : errorText(e);
}

type ChildStatus = 'starting' | 'running' | 'restarting' | 'stopped';

/** What the supervisor knows of one child. Worker cells are kept across restarts, so are their mailboxes. */
interface ChildRecord {
  spec: NormalizedChildSpec;
  cell?: Cell;
  sup?: Supervisor;
  status: ChildStatus;
  restarts: number;
  consecutive: number;
  lastFailureAt?: number;
  lastError?: string;
  lastErrorAt?: number;
  /** When the current incarnation started (an operator's "uptime"). */
  startedAt?: number;
  timer?: TimerHandle;
}

export interface ChildInfo {
  readonly id: string;
  readonly path: string;
  readonly type: 'worker' | 'supervisor';
  readonly restart: string;
  readonly status: ChildStatus;
  readonly restartCount: number;
}

export interface ChildCounts {
  readonly specs: number;
  readonly active: number;
  readonly supervisors: number;
  readonly workers: number;
}

interface Exit {
  readonly kind: ExitKind;
  readonly error?: unknown;
  readonly reason: string;
}

/**
 * The generic supervisor. Children are started in order and stopped in reverse order; a failed
 * child is restarted according to the strategy, within the restart intensity and after a backoff;
 * past the intensity the supervisor stops its children and escalates to its parent (at the root:
 * the system stops). All decisions run one at a time through an operation queue.
 */
export class Supervisor implements FaultHandler {
  private children: ChildRecord[] = [];
  private history = new RingQueue<number>(16);
  private ops: Promise<void> = Promise.resolve();
  private dynamicSeq = 0;
  /** Operations queued or running in `ops`. */
  private pending = 0;
  status: ChildStatus = 'starting';
  restartCount = 0;
  lastError?: string;
  lastErrorAt?: number;
  private startedAt?: number;
  private spec!: AnySupervisorSpec;

  constructor(
    readonly system: ActorSystem,
    readonly path: string,
    private readonly makeSpec: () => AnySupervisorSpec,
    private readonly parent?: { supervisor: Supervisor; record: ChildRecord },
  ) {}

  private get intensity(): number {
    return this.spec.intensity ?? supervisorDefaults.intensity;
  }
  private get periodMs(): number {
    return this.spec.periodMs ?? supervisorDefaults.periodMs;
  }
  private get backoff(): BackoffPolicy {
    return this.spec.backoff ?? supervisorDefaults.backoff;
  }
  get strategy(): string {
    return this.spec.strategy;
  }

  private emit(type: SystemEvent['type'], fields: Omit<SystemEvent, 'type' | 'at' | 'path'> & { path?: string } = {}): void {
    if (!this.system.events.hasSubscribers) return;
    this.system.events.emit({ at: this.system.clock.now(), path: this.path, supervisor: this.parent?.supervisor.path, ...fields, type } as SystemEvent);
  }

  /** Runs `op` after every earlier operation; failures of one op never block the next. */
  private serial<T>(op: () => Promise<T> | T): Promise<T> {
    this.pending++;
    const run = this.ops.then(op);
    this.ops = run.then(
      () => void this.pending--,
      () => void this.pending--,
    );
    return run;
  }

  /**
   * Runs a supervision decision at once when nothing else is queued (the common crash: a
   * one_for_one restart with no delay completes synchronously, inside the scheduler's turn),
   * otherwise after the queued operations. Whatever part of it is asynchronous joins the queue.
   */
  private decide(op: () => void | Promise<void>): void {
    if (this.pending > 0) {
      void this.serial(op);
      return;
    }
    let r: void | Promise<void>;
    try {
      r = op();
    } catch {
      return;
    }
    if (r) void this.serial(() => r);
  }

  // ---- start ----------------------------------------------------------------------------------

  /** Reads the spec and starts the children in order. A child that fails to start stops the started ones in reverse order. */
  async start(): Promise<void> {
    const spec = this.makeSpec();
    const normalized = validateSupervisorSpec(spec, this.path);
    this.spec = spec;
    this.history = new RingQueue<number>(16);
    const keep = new Map(this.children.map((r) => [r.spec.id, r]));
    this.children = normalized.map((s) => {
      const old = keep.get(s.id);
      return old ? Object.assign(old, { spec: s, status: 'starting' as const }) : { spec: s, status: 'starting' as const, restarts: 0, consecutive: 0 };
    });
    const started: ChildRecord[] = [];
    for (const rec of this.children) {
      try {
        await this.startChildRecord(rec);
        started.push(rec);
      } catch (e) {
        rec.status = 'stopped';
        if (rec.cell) await rec.cell.stop('shutdown', 'brutal', false);
        this.noteChildError(rec, e);
        this.emit('start_failed', { path: this.childPath(rec), childId: rec.spec.id, error: errorText(e) });
        for (const r of started.reverse()) await this.stopChild(r, 'shutdown', false);
        this.children = [];
        this.status = 'stopped';
        throw new SupervisorStartError(this.path, rec.spec.id, e);
      }
    }
    this.status = 'running';
    this.startedAt = this.system.clock.now();
    this.emit('supervisor_started');
  }

  private childPath(rec: ChildRecord): string {
    return `${this.path}/${rec.spec.id}`;
  }

  /** Starts (or restarts, keeping the cell and mailbox) one child; throws (or rejects) on start failure. Synchronous when the child's init is. */
  private startChildRecord(rec: ChildRecord): void | Promise<void> {
    rec.status = 'starting';
    let r: void | Promise<void>;
    if (rec.spec.type === 'supervisor') {
      if (!rec.sup) rec.sup = new Supervisor(this.system, this.childPath(rec), () => rec.spec.start(...rec.spec.args) as SupervisorSpec, { supervisor: this, record: rec });
      r = rec.sup.start();
    } else {
      const def = rec.spec.start(...rec.spec.args) as ActorDefinition;
      if (def === null || typeof def !== 'object') throw new SpecError(`${this.childPath(rec)}: start() must return an actor definition`);
      if (rec.cell && !rec.cell.isStopped) {
        rec.cell.behaviour = def;
        rec.cell.markRestarting();
      } else {
        rec.cell = this.system.createCell(this.path, rec.spec.id, def, def.options ?? {}, this);
      }
      r = rec.cell.start();
    }
    if (r) return r.then(() => this.childStarted(rec));
    this.childStarted(rec);
  }

  private childStarted(rec: ChildRecord): void {
    rec.status = 'running';
    rec.startedAt = this.system.clock.now();
    this.emit('actor_started', { path: this.childPath(rec), childId: rec.spec.id });
  }

  private noteChildError(rec: ChildRecord, e: unknown): void {
    rec.lastError = errorText(e);
    rec.lastErrorAt = this.system.clock.now();
  }

  // ---- failures ---------------------------------------------------------------------------------

  actorFailed(cell: Cell, error: unknown, phase: 'receive' | 'init'): void {
    const rec = this.children.find((r) => r.cell === cell);
    if (!rec) return;
    this.decide(() => this.childExited(rec, { kind: 'crash', error, reason: phase === 'init' ? 'start_failed' : 'crash' }));
  }

  actorExited(cell: Cell, reason: StopReason): void {
    const rec = this.children.find((r) => r.cell === cell);
    if (!rec) return;
    this.decide(() => this.childExited(rec, { kind: reason === 'normal' ? 'normal' : 'shutdown', reason }));
  }

  /**
   * A child supervisor gave up: it stopped its children and itself with reason `shutdown`, as in
   * OTP, so it is restarted only if it is permanent. `error` says why it gave up.
   */
  private childSupervisorGaveUp(rec: ChildRecord, error: unknown): void {
    void this.serial(() => this.childExited(rec, { kind: 'shutdown', error, reason: 'shutdown' }));
  }

  private childExited(rec: ChildRecord, exit: Exit): void | Promise<void> {
    if (this.status === 'stopped' || !this.children.includes(rec)) return;
    const now = this.system.clock.now();
    const errText = exit.error === undefined ? undefined : errorText(exit.error);
    if (exit.error !== undefined) this.noteChildError(rec, exit.error);
    if (exit.kind === 'crash') {
      this.emit('actor_crashed', { path: this.childPath(rec), childId: rec.spec.id, error: errText, reason: exit.reason, restartCount: rec.restarts });
    } else {
      // A child supervisor that gave up also lands here: it stopped, it did not crash.
      this.emit('actor_stopped', { path: this.childPath(rec), childId: rec.spec.id, reason: exit.reason, error: errText });
    }
    if (!restartsAfter(rec.spec.restart, exit.kind)) return this.removeChild(rec, exit);
    if (recordRestart(this.history, now, this.intensity, this.periodMs) === 'give_up') return this.giveUp(rec, exit);
    rec.consecutive = consecutiveAttempts(rec.consecutive, rec.lastFailureAt, now, this.backoff);
    const delay = backoffDelay(rec.consecutive, this.backoff, this.system.random);
    rec.consecutive++;
    rec.lastFailureAt = now;
    const targets = this.restartTargets(rec);
    if (targets.length === 1 && delay === 0) {
      // The common case, kept synchronous: restart just this child, now.
      rec.status = 'restarting';
      return this.restartTargetsNow(targets);
    }
    return this.groupRestart(rec, targets, delay);
  }

  private async removeChild(rec: ChildRecord, exit: Exit): Promise<void> {
    await this.stopChild(rec, exit.kind === 'normal' ? 'normal' : 'shutdown', false, 'brutal');
    if (rec.spec.restart === 'temporary') this.children = this.children.filter((r) => r !== rec);
  }

  private async groupRestart(rec: ChildRecord, targets: ChildRecord[], delay: number): Promise<void> {
    // Siblings restarted with the failed child are stopped first, in reverse start order, keeping their mailboxes.
    for (const r of [...targets].reverse()) {
      if (r === rec) continue;
      await this.stopChild(r, 'shutdown', true);
      // A temporary sibling is not restarted when it is stopped as a bystander (OTP semantics).
      if (r.spec.restart === 'temporary') {
        await this.stopChild(r, 'shutdown', false, 'brutal');
        this.children = this.children.filter((c) => c !== r);
      }
    }
    const live = targets.filter((r) => this.children.includes(r));
    for (const r of live) {
      r.status = 'restarting';
      r.cell?.markRestarting();
    }
    if (delay > 0) {
      this.emit('restart_scheduled', { path: this.childPath(rec), childId: rec.spec.id, delayMs: delay });
      rec.timer = this.system.clock.setTimeout(() => {
        rec.timer = undefined;
        void this.serial(() => this.restartTargetsNow(live));
      }, delay);
      return;
    }
    await this.restartTargetsNow(live);
  }

  private restartTargets(rec: ChildRecord): ChildRecord[] {
    switch (this.spec.strategy) {
      case 'one_for_all':
        return [...this.children];
      case 'rest_for_one':
        return this.children.slice(this.children.indexOf(rec));
      default:
        return [rec];
    }
  }

  /** Starts the targets in order; synchronous as long as their inits are. A start failure counts as a failure of that child. */
  private restartTargetsNow(targets: ChildRecord[], from = 0): void | Promise<void> {
    if (this.status === 'stopped') return;
    for (let i = from; i < targets.length; i++) {
      const r = targets[i];
      if (!this.children.includes(r) || r.status !== 'restarting') continue;
      r.restarts++;
      if (r.cell) r.cell.restartCount = r.restarts;
      if (r.sup) r.sup.restartCount = r.restarts;
      let started: void | Promise<void>;
      try {
        started = this.startChildRecord(r);
      } catch (e) {
        this.startFailedDuringRestart(r, e);
        return;
      }
      if (started) {
        return started.then(
          () => {
            this.restarted(r);
            return this.restartTargetsNow(targets, i + 1);
          },
          (e) => this.startFailedDuringRestart(r, e),
        );
      }
      this.restarted(r);
    }
  }

  private restarted(r: ChildRecord): void {
    this.emit('actor_restarted', { path: this.childPath(r), childId: r.spec.id, restartCount: r.restarts });
  }

  private startFailedDuringRestart(r: ChildRecord, e: unknown): void {
    r.status = 'restarting';
    this.noteChildError(r, e);
    this.emit('start_failed', { path: this.childPath(r), childId: r.spec.id, error: errorText(e) });
    void this.serial(() => this.childExited(r, { kind: 'crash', error: e, reason: 'start_failed' }));
  }

  private async giveUp(rec: ChildRecord, exit: Exit): Promise<void> {
    const reason = `restart intensity exceeded (more than ${this.intensity} restarts in ${this.periodMs} ms); last failure: child '${rec.spec.id}' ${exit.reason}${
      exit.error === undefined ? '' : `: ${errorText(exit.error)}`
    }`;
    this.lastError = reason;
    this.lastErrorAt = this.system.clock.now();
    this.emit('give_up', { reason, childId: rec.spec.id, error: exit.error === undefined ? undefined : errorText(exit.error) });
    // Children keep their mailboxes while a parent may restart this subtree; a root shutdown drops them to dead letters.
    await this.stopAll(this.parent !== undefined);
    this.status = this.parent ? 'restarting' : 'stopped';
    if (this.parent) {
      this.emit('escalated', { reason });
      this.parent.supervisor.childSupervisorGaveUp(this.parent.record, new Error(`supervisor ${this.path} gave up: ${reason}`));
    } else {
      this.emit('supervisor_stopped', { reason });
      void this.system.stop(`supervisor ${this.path} gave up: ${reason}`);
    }
  }

  // ---- stopping ---------------------------------------------------------------------------------

  private async stopChild(rec: ChildRecord, reason: StopReason, keepMailbox: boolean, override?: Shutdown): Promise<void> {
    if (rec.timer) {
      this.system.clock.clearTimeout(rec.timer);
      rec.timer = undefined;
    }
    const shutdown = override ?? rec.spec.shutdown;
    if (rec.sup) {
      await rec.sup.shutdownWithin(shutdown, keepMailbox);
    } else if (rec.cell) {
      const outcome = await rec.cell.stop(reason, shutdown, keepMailbox);
      if (outcome === 'killed' && override === undefined) this.emit('child_killed', { path: this.childPath(rec), childId: rec.spec.id, reason: shutdown === 'brutal' ? 'brutal' : `shutdown timeout ${String(shutdown)} ms` });
      if (outcome !== 'already') this.emit('actor_stopped', { path: this.childPath(rec), childId: rec.spec.id, reason: outcome === 'killed' ? 'killed' : reason });
    }
    rec.status = keepMailbox ? 'restarting' : 'stopped';
  }

  private async stopAll(keepMailbox: boolean): Promise<void> {
    for (const rec of [...this.children].reverse()) await this.stopChild(rec, 'shutdown', keepMailbox);
  }

  /** Stops a (child) supervisor: its own children in reverse order, the whole within `shutdown`. */
  private async shutdownWithin(shutdown: Shutdown, keepMailbox: boolean): Promise<void> {
    const all = this.stopAll(keepMailbox);
    if (typeof shutdown === 'number') {
      await Promise.race([all, new Promise<void>((r) => this.system.clock.setTimeout(r, shutdown))]);
    } else {
      await all;
    }
    this.status = keepMailbox ? 'restarting' : 'stopped';
  }

  /** Ordered shutdown: every child in reverse start order, each given its shutdown time, then killed. */
  shutdown(): Promise<void> {
    return this.serial(async () => {
      if (this.status === 'stopped') return;
      await this.stopAll(false);
      this.status = 'stopped';
      this.emit('supervisor_stopped', { reason: 'shutdown' });
    });
  }

  // ---- dynamic children and the verb API --------------------------------------------------------

  /**
   * Adds a child: a full child spec (any strategy), or arguments for the template of a
   * simple_one_for_one supervisor. Resolves to the child's path.
   */
  startChild(specOrArgs: ChildSpec | unknown[]): Promise<string> {
    return this.serial(async () => {
      if (this.status === 'stopped') throw new Error(`supervisor ${this.path} is stopped`);
      let spec: NormalizedChildSpec;
      if (this.spec.strategy === 'simple_one_for_one') {
        if (!Array.isArray(specOrArgs)) throw new SpecError(`supervisor ${this.path}: simple_one_for_one children are started with an argument list`);
        const t = this.spec.template;
        const live = this.children.filter((r) => r.status !== 'stopped').length;
        if (this.spec.maxChildren !== undefined && live >= this.spec.maxChildren) throw new Error(`supervisor ${this.path}: maxChildren ${this.spec.maxChildren} reached`);
        spec = normalizeChildSpec({ id: `${t.idPrefix}-${++this.dynamicSeq}`, start: t.start as () => ActorDefinition, restart: t.restart, shutdown: t.shutdown }, this.path, specOrArgs);
      } else {
        if (Array.isArray(specOrArgs)) throw new SpecError(`supervisor ${this.path}: startChild needs a child spec`);
        spec = normalizeChildSpec(specOrArgs, this.path);
        if (this.children.some((r) => r.spec.id === spec.id)) throw new SpecError(`supervisor ${this.path}: a child with id '${spec.id}' already exists`);
      }
      const rec: ChildRecord = { spec, status: 'starting', restarts: 0, consecutive: 0 };
      this.children.push(rec);
      try {
        await this.startChildRecord(rec);
      } catch (e) {
        this.children = this.children.filter((r) => r !== rec);
        if (rec.cell) await rec.cell.stop('shutdown', 'brutal', false);
        throw new SupervisorStartError(this.path, spec.id, e);
      }
      return this.childPath(rec);
    });
  }

  /** Stops a child; its spec is kept (except a temporary or dynamic child, which is removed). */
  terminateChild(id: string): Promise<void> {
    return this.serial(async () => {
      const rec = this.children.find((r) => r.spec.id === id);
      if (!rec) throw new Error(`supervisor ${this.path} has no child '${id}'`);
      await this.stopChild(rec, 'shutdown', false);
      if (rec.spec.restart === 'temporary' || this.spec.strategy === 'simple_one_for_one') this.children = this.children.filter((r) => r !== rec);
    });
  }

  /** Starts a stopped child again from its spec. */
  restartChild(id: string): Promise<void> {
    return this.serial(async () => {
      const rec = this.children.find((r) => r.spec.id === id);
      if (!rec) throw new Error(`supervisor ${this.path} has no child '${id}'`);
      if (rec.status === 'running') throw new Error(`child '${id}' of ${this.path} is running`);
      rec.cell = rec.cell?.isStopped ? undefined : rec.cell;
      await this.startChildRecord(rec);
    });
  }

  /** Removes the spec of a stopped child. */
  deleteChild(id: string): Promise<void> {
    return this.serial(() => {
      const rec = this.children.find((r) => r.spec.id === id);
      if (!rec) throw new Error(`supervisor ${this.path} has no child '${id}'`);
      if (rec.status !== 'stopped') throw new Error(`child '${id}' of ${this.path} is not stopped`);
      this.children = this.children.filter((r) => r !== rec);
    });
  }

  whichChildren(): ChildInfo[] {
    return this.children.map((r) => ({
      id: r.spec.id,
      path: this.childPath(r),
      type: r.spec.type,
      restart: r.spec.restart,
      status: r.cell && r.status === 'running' && r.cell.status !== CellStatus.Running && r.cell.status !== CellStatus.Busy ? (r.cell.publicStatus as ChildStatus) : r.status,
      restartCount: r.restarts,
    }));
  }

  countChildren(): ChildCounts {
    return {
      specs: this.children.length,
      active: this.children.filter((r) => r.status === 'running').length,
      supervisors: this.children.filter((r) => r.spec.type === 'supervisor').length,
      workers: this.children.filter((r) => r.spec.type === 'worker').length,
    };
  }

  /** The child actor ref (workers) by id. */
  childRef<M = unknown>(id: string) {
    return this.children.find((r) => r.spec.id === id)?.cell?.ref as import('../runtime/cell.ts').ActorRef<M> | undefined;
  }

  /** A child supervisor by id. */
  childSupervisor(id: string): Supervisor | undefined {
    return this.children.find((r) => r.spec.id === id)?.sup;
  }

  /** Resolves once every queued supervision decision has been carried out. */
  settled(): Promise<void> {
    return this.serial(() => undefined);
  }

  snapshot(): TreeNode {
    const now = this.system.clock.now();
    return {
      path: this.path,
      kind: 'supervisor',
      status: this.status,
      strategy: this.spec?.strategy,
      restartCount: this.restartCount,
      restartWindow: restartsInWindow(this.history, now, this.periodMs),
      mailboxLength: 0,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      ...(this.startedAt !== undefined && this.status === 'running' ? { startedAt: this.startedAt } : {}),
      childId: this.parent?.record.spec.id,
      restartType: this.parent?.record.spec.restart,
      children: this.children.map((r) => {
        if (r.sup) return r.sup.snapshot();
        if (r.cell) {
          return cellSnapshot(r.cell, 'worker', {
            childId: r.spec.id,
            restartType: r.spec.restart,
            status: r.status === 'running' ? r.cell.publicStatus : r.status,
            restartCount: r.restarts,
            lastError: r.lastError ?? r.cell.lastError,
            lastErrorAt: r.lastErrorAt ?? r.cell.lastErrorAt,
            ...(r.startedAt !== undefined && r.status === 'running' ? { startedAt: r.startedAt } : {}),
          });
        }
        return { path: this.childPath(r), kind: 'worker', status: r.status, restartCount: r.restarts, restartWindow: [], mailboxLength: 0, childId: r.spec.id, restartType: r.spec.restart, lastError: r.lastError, lastErrorAt: r.lastErrorAt, children: [] };
      }),
    };
  }
}

/** Starts a top-level supervision tree named `name` and registers it with the system for snapshots and shutdown. */
export async function startSupervisor(system: ActorSystem, spec: AnySupervisorSpec | (() => AnySupervisorSpec), name: string): Promise<Supervisor> {
  const sup = new Supervisor(system, `/${name}`, typeof spec === 'function' ? spec : () => spec);
  system.registerRoot({ path: sup.path, snapshot: () => sup.snapshot(), shutdown: () => sup.shutdown() });
  try {
    await sup.start();
  } catch (e) {
    system.unregisterRoot(sup.path);
    throw e;
  }
  return sup;
}
