import type { ActorOptions, Behaviour } from '../runtime/cell.ts';
import { type BackoffPolicy, defaultRestartBackoff, validateBackoffPolicy } from '../runtime/backoff.ts';

/**
 * Supervision is described by plain values: flags and an ordered list of child specs. The
 * supervisor mechanism (supervisor.ts) knows nothing about what the children do.
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';
export type Shutdown = number | 'brutal' | 'infinity';
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

/** What a worker's start function returns: a behaviour, plus mailbox options. */
export type ActorDefinition<S = any, M = any> = Behaviour<S, M> & { options?: ActorOptions };

export interface WorkerChildSpec {
  readonly id: string;
  /** Called at every (re)start; a throw (or a failing init) is a start failure. */
  readonly start: () => ActorDefinition;
  readonly restart?: RestartType;
  /** Time a graceful stop may take before the child is killed (default 5000 ms). */
  readonly shutdown?: Shutdown;
  readonly type?: 'worker';
}

export interface SupervisorChildSpec {
  readonly id: string;
  readonly start: () => SupervisorSpec;
  readonly restart?: RestartType;
  /** Default 'infinity', as in OTP: a supervisor is given the time its own children need. */
  readonly shutdown?: Shutdown;
  readonly type: 'supervisor';
}

export type ChildSpec = WorkerChildSpec | SupervisorChildSpec;

export interface SupervisorFlags {
  readonly strategy: Strategy;
  /** Restarts allowed within `periodMs` (OTP default 1). */
  readonly intensity?: number;
  /** OTP default 5000 ms. */
  readonly periodMs?: number;
  /** Delay between consecutive restarts of one child. */
  readonly backoff?: BackoffPolicy;
}

export interface SupervisorSpec extends SupervisorFlags {
  readonly children: readonly ChildSpec[];
}

/** A template for many children of one kind (OTP's simple_one_for_one); children are added with startChild. */
export interface DynamicSupervisorSpec {
  readonly strategy: 'simple_one_for_one';
  readonly intensity?: number;
  readonly periodMs?: number;
  readonly backoff?: BackoffPolicy;
  readonly template: {
    readonly idPrefix: string;
    readonly start: (...args: any[]) => ActorDefinition;
    readonly restart?: RestartType;
    readonly shutdown?: Shutdown;
  };
  /** Upper bound on live children (default unbounded). */
  readonly maxChildren?: number;
}

export type AnySupervisorSpec = SupervisorSpec | DynamicSupervisorSpec;

export const supervisorDefaults = Object.freeze({
  intensity: 1,
  periodMs: 5_000,
  workerShutdownMs: 5_000,
  backoff: defaultRestartBackoff,
});

export interface NormalizedChildSpec {
  readonly id: string;
  readonly type: 'worker' | 'supervisor';
  readonly start: (...args: any[]) => ActorDefinition | SupervisorSpec;
  readonly restart: RestartType;
  readonly shutdown: Shutdown;
  readonly args: readonly unknown[];
}

const RESTARTS: readonly string[] = ['permanent', 'transient', 'temporary'];
const STRATEGIES: readonly string[] = ['one_for_one', 'one_for_all', 'rest_for_one'];

export class SpecError extends TypeError {
  override readonly name = 'SpecError';
}

function checkShutdown(value: unknown, where: string): void {
  if (value === 'brutal' || value === 'infinity') return;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return;
  throw new SpecError(`${where}: shutdown must be a number of ms >= 0, 'brutal' or 'infinity', got ${JSON.stringify(value)}`);
}

function checkRestart(value: unknown, where: string): void {
  if (!RESTARTS.includes(value as string)) {
    throw new SpecError(`${where}: restart must be 'permanent', 'transient' or 'temporary', got ${JSON.stringify(value)}`);
  }
}

/** Checks one child spec and fills in defaults; errors name the supervisor, the child and the field. */
export function normalizeChildSpec(spec: ChildSpec, supervisorPath: string, args: readonly unknown[] = []): NormalizedChildSpec {
  const where0 = `supervisor ${supervisorPath || '/'}`;
  if (spec === null || typeof spec !== 'object') throw new SpecError(`${where0}: child spec must be an object, got ${JSON.stringify(spec)}`);
  if (typeof spec.id !== 'string' || !/^[A-Za-z0-9_.:@-]+$/.test(spec.id)) {
    throw new SpecError(`${where0}: child spec id must be a non-empty string of letters, digits and _ . : @ -, got ${JSON.stringify(spec.id)}`);
  }
  const where = `${where0}, child '${spec.id}'`;
  if (typeof spec.start !== 'function') throw new SpecError(`${where}: start must be a function, got ${typeof spec.start}`);
  const type = spec.type ?? 'worker';
  if (type !== 'worker' && type !== 'supervisor') throw new SpecError(`${where}: type must be 'worker' or 'supervisor', got ${JSON.stringify(type)}`);
  const restart = spec.restart ?? 'permanent';
  checkRestart(restart, where);
  const shutdown = spec.shutdown ?? (type === 'supervisor' ? 'infinity' : supervisorDefaults.workerShutdownMs);
  checkShutdown(shutdown, where);
  return { id: spec.id, type, start: spec.start, restart, shutdown, args };
}

export function validateFlags(flags: { strategy: string; intensity?: number; periodMs?: number; backoff?: BackoffPolicy }, path: string): void {
  const where = `supervisor ${path || '/'}`;
  if (!STRATEGIES.includes(flags.strategy) && flags.strategy !== 'simple_one_for_one') {
    throw new SpecError(`${where}: strategy must be one of one_for_one, one_for_all, rest_for_one, simple_one_for_one; got ${JSON.stringify(flags.strategy)}`);
  }
  if (flags.intensity !== undefined && !(Number.isInteger(flags.intensity) && flags.intensity >= 0)) {
    throw new SpecError(`${where}: intensity must be an integer >= 0, got ${JSON.stringify(flags.intensity)}`);
  }
  if (flags.periodMs !== undefined && !(typeof flags.periodMs === 'number' && flags.periodMs > 0)) {
    throw new SpecError(`${where}: periodMs must be a number > 0, got ${JSON.stringify(flags.periodMs)}`);
  }
  if (flags.backoff !== undefined) validateBackoffPolicy(flags.backoff, where);
}

/** Validates a whole supervisor spec (not recursing into child supervisors, whose specs are produced by their start). */
export function validateSupervisorSpec(spec: AnySupervisorSpec, path: string): NormalizedChildSpec[] {
  if (spec === null || typeof spec !== 'object') throw new SpecError(`supervisor ${path || '/'}: spec must be an object`);
  validateFlags(spec, path);
  if (spec.strategy === 'simple_one_for_one') {
    const t = spec.template;
    const where = `supervisor ${path || '/'}, template`;
    if (!t || typeof t.start !== 'function') throw new SpecError(`${where}: start must be a function`);
    if (typeof t.idPrefix !== 'string' || t.idPrefix === '') throw new SpecError(`${where}: idPrefix must be a non-empty string`);
    checkRestart(t.restart ?? 'permanent', where);
    checkShutdown(t.shutdown ?? supervisorDefaults.workerShutdownMs, where);
    return [];
  }
  if (!Array.isArray(spec.children)) throw new SpecError(`supervisor ${path || '/'}: children must be an array`);
  const seen = new Set<string>();
  return spec.children.map((c) => {
    const n = normalizeChildSpec(c, path);
    if (seen.has(n.id)) throw new SpecError(`supervisor ${path || '/'}: duplicate child id '${n.id}'`);
    seen.add(n.id);
    return n;
  });
}
