/**
 * The kernel's public surface. It mirrors nact's verbs (start, spawn, spawnStateless, dispatch,
 * query, stop; handlers `(state, msg, ctx) => nextState`) so nact users can switch, with these
 * differences: replies are matched by unique correlation ids, undeliverable messages become dead
 * letters, mailboxes are bounded, and a crash keeps the mailbox and retries the message.
 */
import { ActorSystem, type SystemOptions } from './system.ts';
import { type ActorContext, type ActorOptions, ActorRef, CellRef, type StopReason } from './cell.ts';

export { ActorSystem, type SystemOptions, type HandleObserver, type RootNode, cellSnapshot } from './system.ts';
export { type ActorPath, actorPath } from './actor-path.ts';
export { ActorRef, ReceiptRef, type ActorContext, type ActorOptions, type Behaviour, type StopReason, defaultActorOptions } from './cell.ts';
export { type Clock, ManualClock, SystemClock, systemClock, type TimerHandle } from './clock.ts';
export { kindGuard, type FieldCheck, isOptional, isString, isNumber, isRecord } from './protocol-guard.ts';
export { type DeadLetter, type DeadLetterReason, type DeadLetterSink, InMemoryDeadLetterSink, describeError } from './dead-letters.ts';
export { ActorStoppedError, MailboxFullError, QueryTimeoutError, SystemStoppedError, ActorStartError } from './errors.ts';
export { EventStream, type SystemEvent } from './events.ts';
export { type BackoffPolicy, backoffDelay, consecutiveAttempts, defaultRestartBackoff, noBackoff } from './backoff.ts';
export type { TreeNode } from './tree.ts';

export function start(options: SystemOptions = {}): ActorSystem {
  return new ActorSystem(options);
}

type Parent = ActorSystem | ActorRef<any>;

function systemOf(parent: Parent): ActorSystem {
  if (parent instanceof ActorSystem) return parent;
  if (parent instanceof CellRef) return parent.cell.system;
  throw new TypeError(`${parent.path} is not an actor that can have children`);
}

export interface SpawnProperties<S> extends ActorOptions {
  initialState?: S;
  initialStateFunc?: (ctx: ActorContext<any>) => S | Promise<S>;
  onStop?: (state: S, reason: StopReason, ctx: ActorContext<any>) => void | Promise<void>;
}

/** Spawns a stateful actor: `handler(state, msg, ctx)` returns the next state (or a promise of it). */
export function spawn<S, M>(
  parent: Parent,
  handler: (state: S, msg: M, ctx: ActorContext<M>) => S | Promise<S>,
  name?: string,
  properties: SpawnProperties<S> = {},
): ActorRef<M> {
  const system = systemOf(parent);
  const { initialState, initialStateFunc, onStop, ...options } = properties;
  const cell = system.spawnCell(parent instanceof ActorSystem ? undefined : parent, { init: initialStateFunc, initialState, receive: handler, onStop }, name, options);
  return cell.ref as ActorRef<M>;
}

/** Spawns a stateless actor; messages are still handled one at a time, in order (unlike nact, where async stateless handlers overlap). */
export function spawnStateless<M>(parent: Parent, handler: (msg: M, ctx: ActorContext<M>) => unknown, name?: string, properties: ActorOptions = {}): ActorRef<M> {
  const receive = (_s: undefined, msg: M, ctx: ActorContext<M>): undefined | Promise<undefined> => {
    const r = handler(msg, ctx);
    if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
      return Promise.resolve(r).then(() => undefined);
    }
    return undefined;
  };
  return spawn<undefined, M>(parent, receive, name, properties);
}

/** Sends without waiting. Never throws: a stopped target or full mailbox yields a dead letter. */
export function dispatch<M>(ref: ActorRef<M>, msg: M, sender?: ActorRef<any>): void {
  ref.tell(msg, sender);
}

/** Asks and waits for one reply (`makeMessage` gets the reply address). The timeout is mandatory. */
export function query<M, R>(ref: ActorRef<M>, makeMessage: (replyTo: ActorRef<R>) => M, timeoutMs: number): Promise<R> {
  if (!(ref instanceof CellRef)) return Promise.reject(new TypeError(`cannot query ${ref.path}: not an actor`));
  return ref.cell.system.query(ref, makeMessage, timeoutMs);
}

/** Stops an actor (gracefully, 5 s then killed) or a whole system. */
export function stop(target: ActorSystem | ActorRef<any>): Promise<void> {
  if (target instanceof ActorSystem) return target.stop('stopped by request');
  if (target instanceof CellRef) return target.cell.system.stopActor(target);
  return Promise.resolve();
}
