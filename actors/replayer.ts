/**
 * replayer: brings dead letters back. After a supervisor has restarted a child and the child has
 * stayed up for a quiet period, the letters whose source is that child are replayed, oldest
 * first, rate-limited, each at most `maxReplays` times. At start-up everything eligible is
 * replayed after the quiet period; on demand, by id, by source or all. Letters left `replaying`
 * with nothing under way for them (claimed by the CLI, or by a replayer that died) are picked up
 * by the periodic scan.
 *
 * What a replay does is chosen by what the letter holds, not only where it failed: the first
 * route whose `matches` takes the letter decides (the application supplies routes, e.g. "a dead
 * request goes back to the outbox"). A letter no route takes is a message for the actor it failed
 * in, and goes back to that actor only if the actor's protocol guard accepts it (`accepts`);
 * otherwise the letter is returned with the reason (replay_count + 1), never delivered.
 *
 * A delivered message that fails again costs its actor one restart (the kernel gives a replay a
 * single try) and comes back through the dead-letter sink, which returns its letter. Replays to
 * that actor then pause until it has been quiet again: the rest of the pass is released
 * uncounted, so a batch of still-poisonous letters cannot exhaust the supervisor's intensity.
 */
import { actorPath, isNumber, isOptional, isString, kindGuard, ReceiptRef, type ActorContext, type ActorPath, type ActorRef, type SystemEvent } from '../runtime/index.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import type { DeadLetter } from '../persistence/records.ts';
import type { WriteCommand } from '../persistence/commands.ts';
import { openStore, type Store } from '../persistence/connection.ts';
import { listStalledReplays } from '../persistence/dead-letters.ts';
import { messageFromJson } from '../persistence/message-json.ts';
import { ATTR, defaultTracing, failSpan, type OosTracing } from '../telemetry/tracing.ts';
import { writeCommands } from './db-client.ts';
import type { DbWriterMessage } from './db-writer.ts';

export interface ReplayPolicy {
  /** A restarted child must stay up this long before its letters are replayed. Default 30 s. */
  readonly quietMs: number;
  /** A letter is replayed at most this many times. Default 3. */
  readonly maxReplays: number;
  /** Deliveries per second at most. Default 50. */
  readonly perSecond: number;
  /** Letters claimed per pass. Default 100. */
  readonly batch: number;
  /** How often letters left `replaying` are looked for. Default 5 s; 0 disables. */
  readonly scanIntervalMs: number;
  /** Replay what is eligible once, a quiet period after start. Default true. */
  readonly replayAtStartup: boolean;
}

export const defaultReplayPolicy: ReplayPolicy = Object.freeze({ quietMs: 30_000, maxReplays: 3, perSecond: 50, batch: 100, scanIntervalMs: 5_000, replayAtStartup: true });

/** What a route decided for one letter. */
export type ReplayStep =
  /** Deliver this message to the actor at `to` (if its protocol accepts it); handled = replayed. */
  | { readonly kind: 'deliver'; readonly to: string; readonly message: unknown }
  /** Handed over; the store settles the letter when what it carried ends (e.g. the request completes). */
  | { readonly kind: 'under_way' }
  /** What the letter carried has already succeeded. */
  | { readonly kind: 'replayed' }
  /** Cannot be replayed now: back to dead with replay_count + 1 and the reason. */
  | { readonly kind: 'return'; readonly reason: string };

/** A way of replaying one kind of letter, chosen by what the letter holds. */
export interface ReplayRoute {
  readonly name: string;
  readonly matches: (letter: DeadLetter) => boolean;
  readonly replay: (letter: DeadLetter, ctx: ActorContext<ReplayerMessage>) => Promise<ReplayStep>;
}

export interface ReplayReport {
  readonly claimed: number;
  /** The letters claimed (queued for delivery now), oldest first. */
  readonly ids: readonly number[];
}

export type ReplayerMessage =
  | { readonly kind: 'restarted'; readonly path: string }
  | { readonly kind: 'crashed'; readonly path: string }
  | { readonly kind: 'quiet'; readonly path: string; readonly since: number }
  | { readonly kind: 'startup' }
  | { readonly kind: 'scan' }
  | { readonly kind: 'drip' }
  | { readonly kind: 'handled'; readonly id: number }
  /**
   * Replay now (an operator through the control endpoint, the host): claimed and queued at once,
   * not at the next scan. `maxReplays` raises the policy's cap for this request, `limit` its batch.
   */
  | { readonly kind: 'replay'; readonly ids?: readonly number[]; readonly source?: string; readonly maxReplays?: number; readonly limit?: number; readonly replyTo?: ActorRef<ReplayReport> };

const hasPath = (m: Readonly<Record<string, unknown>>) => isString(m.path);
export const isReplayerMessage = kindGuard<ReplayerMessage>({
  restarted: hasPath,
  crashed: hasPath,
  quiet: (m) => isString(m.path) && isNumber(m.since),
  startup: true,
  scan: true,
  drip: true,
  handled: (m) => isNumber(m.id),
  replay: (m) => isOptional(m.ids, Array.isArray) && isOptional(m.source, isString) && isOptional(m.maxReplays, isNumber) && isOptional(m.limit, isNumber),
});

interface State {
  readonly reader: Store;
  readonly queue: DeadLetter[];
  /** Letters queued or delivered and not yet settled, with the replay count they were claimed at. */
  readonly inProgress: Map<number, number>;
  /** Deliveries waiting for their receipt, by letter id: the actor each went to. */
  readonly awaiting: Map<number, string>;
  /** Actors that failed during a replay: their letters wait for the next quiet period. */
  readonly paused: Set<string>;
  readonly lastCrash: Map<string, number>;
  unsubscribe: () => void;
  dripping: boolean;
  scanTimer?: ReturnType<ActorContext<ReplayerMessage>['clock']['setTimeout']>;
  /** Pending self-messages (startup, quiet, drip): cleared at stop, so none reaches a stopped replayer as a dead letter. */
  readonly timers: Set<ReturnType<ActorContext<ReplayerMessage>['clock']['setTimeout']>>;
}

export interface ReplayerConfig {
  readonly dbPath: string;
  readonly writerPath: ActorPath<DbWriterMessage>;
  readonly policy?: Partial<ReplayPolicy>;
  /** Routes by what a letter holds, tried in order; a letter none takes goes back to its source actor. */
  readonly routes?: readonly ReplayRoute[];
  /** A span per replayed letter, in the trace of what it holds and linked to it; default: the global provider's. */
  readonly tracing?: OosTracing;
}

/** The letter's message, back from its JSON form (actor refs resolved in this system). */
export function letterMessage(letter: DeadLetter, ctx: ActorContext<any>): unknown {
  return messageFromJson(JSON.stringify(letter.message), (p) => ctx.system.lookup(actorPath<unknown>(p)));
}

export function replayer(config: ReplayerConfig): ActorDefinition<State, ReplayerMessage> {
  const policy: ReplayPolicy = { ...defaultReplayPolicy, ...config.policy };
  const routes = config.routes ?? [];
  const tracing = config.tracing ?? defaultTracing;
  const write = (ctx: ActorContext<ReplayerMessage>, command: WriteCommand) => writeCommands(ctx.system, config.writerPath, [command]);

  const claim = async (ctx: ActorContext<ReplayerMessage>, filter: { ids?: readonly number[]; source?: string }, over: { maxReplays?: number; limit?: number } = {}): Promise<DeadLetter[]> => {
    const [outcome] = await write(ctx, { type: 'claimDeadLettersForReplay', ...filter, limit: over.limit ?? policy.batch, maxReplays: over.maxReplays ?? policy.maxReplays });
    if (outcome.status !== 'claimed' || outcome.type !== 'claimDeadLettersForReplay') throw new Error(`replayer: claim failed: ${JSON.stringify(outcome)}`);
    return outcome.letters;
  };

  /** Tells itself `msg` after `ms`, unless it stops first. */
  const later = (state: State, ctx: ActorContext<ReplayerMessage>, ms: number, msg: ReplayerMessage) => {
    const timer = ctx.clock.setTimeout(() => {
      state.timers.delete(timer);
      ctx.self.tell(msg);
    }, ms);
    state.timers.add(timer);
  };

  const enqueue = (state: State, ctx: ActorContext<ReplayerMessage>, letters: readonly DeadLetter[]) => {
    for (const l of letters) {
      // The same claim count means this replay is already queued or under way; a higher one
      // means the earlier try ended (its letter was returned) and this is a new one.
      if (state.inProgress.get(l.id) === l.replayCount) continue;
      state.inProgress.set(l.id, l.replayCount);
      state.queue.push(l);
    }
    if (!state.dripping && state.queue.length > 0) {
      state.dripping = true;
      ctx.self.tell({ kind: 'drip' });
    }
  };

  const settle = async (state: State, ctx: ActorContext<ReplayerMessage>, letter: DeadLetter, command: WriteCommand) => {
    state.inProgress.delete(letter.id);
    await write(ctx, command);
  };

  const deliverTo = async (state: State, ctx: ActorContext<ReplayerMessage>, letter: DeadLetter, to: string, message: unknown) => {
    if (state.paused.has(to)) {
      return settle(state, ctx, letter, { type: 'deadLetterReleased', id: letter.id, reason: `replay postponed: ${to} failed during a replay; it is retried after ${to} has been quiet for ${policy.quietMs} ms` });
    }
    const verdict = ctx.system.accepts(to, message);
    if (verdict === 'no_actor') {
      return settle(state, ctx, letter, { type: 'deadLetterReleased', id: letter.id, reason: `replay postponed: no actor is running at ${to}` });
    }
    if (verdict !== 'accepted') {
      const why = verdict === 'no_guard' ? `${to} declares no protocol to check it against` : `${to}'s protocol does not accept it`;
      return settle(state, ctx, letter, { type: 'deadLetterReturned', id: letter.id, error: `replay: no handler understands this letter (${describeMessage(message)}): ${why}` });
    }
    const receipt = new ReceiptRef(`${ctx.path}#replay-${letter.id}`, letter.id, () => ctx.self.tell({ kind: 'handled', id: letter.id }));
    state.awaiting.set(letter.id, to);
    // An untyped message, its protocol checked just above: delivered by path.
    if (!ctx.system.dispatchPath(to, message, receipt)) {
      state.awaiting.delete(letter.id);
      await settle(state, ctx, letter, { type: 'deadLetterReleased', id: letter.id, reason: `replay postponed: ${to} did not take the message` });
    }
  };

  const deliver = async (state: State, ctx: ActorContext<ReplayerMessage>, letter: DeadLetter): Promise<void> => {
    const span = tracing.startReplay(letter.id, letter.source, letter.traceparent, letter.requestId);
    try {
      const route = routes.find((r) => r.matches(letter));
      const step: ReplayStep = route ? await route.replay(letter, ctx) : { kind: 'deliver', to: letter.source, message: letterMessage(letter, ctx) };
      span.setAttribute(ATTR.outcome, step.kind);
      if (step.kind === 'return') failSpan(span, 'replay_returned', step.reason);
      await settleStep(state, ctx, letter, step);
    } catch (e) {
      failSpan(span, 'replay_failed', (e as Error).message);
      throw e;
    } finally {
      span.end();
    }
  };

  const settleStep = async (state: State, ctx: ActorContext<ReplayerMessage>, letter: DeadLetter, step: ReplayStep): Promise<void> => {
    switch (step.kind) {
      case 'deliver':
        return deliverTo(state, ctx, letter, step.to, step.message);
      case 'under_way':
        state.inProgress.delete(letter.id);
        return;
      case 'replayed':
        return settle(state, ctx, letter, { type: 'deadLetterReplayed', id: letter.id });
      case 'return':
        return settle(state, ctx, letter, { type: 'deadLetterReturned', id: letter.id, error: `replay: ${step.reason}` });
    }
  };

  const scheduleScan = (state: State, ctx: ActorContext<ReplayerMessage>) => {
    if (policy.scanIntervalMs > 0) state.scanTimer = ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'scan' }), policy.scanIntervalMs);
  };

  return {
    accepts: isReplayerMessage,
    init: (ctx) => {
      const reader = openStore({ path: config.dbPath, readonly: true });
      const onEvent = (e: SystemEvent) => {
        if (e.path === ctx.path) return;
        if (e.type === 'actor_restarted') ctx.self.tell({ kind: 'restarted', path: e.path });
        else if (e.type === 'actor_crashed') ctx.self.tell({ kind: 'crashed', path: e.path });
      };
      const state: State = {
        reader,
        queue: [],
        inProgress: new Map(),
        awaiting: new Map(),
        paused: new Set(),
        lastCrash: new Map(),
        unsubscribe: ctx.system.events.subscribe(onEvent),
        dripping: false,
        timers: new Set(),
      };
      if (policy.replayAtStartup) later(state, ctx, policy.quietMs, { kind: 'startup' });
      scheduleScan(state, ctx);
      return state;
    },
    receive: async (state, msg, ctx) => {
      switch (msg.kind) {
        case 'crashed':
          state.lastCrash.set(msg.path, ctx.clock.now());
          for (const [id, to] of state.awaiting) {
            if (to !== msg.path) continue;
            // A replay to it may be what failed: hold its other letters until it is quiet again.
            state.paused.add(msg.path);
            state.awaiting.delete(id);
          }
          break;
        case 'restarted': {
          const since = ctx.clock.now();
          later(state, ctx, policy.quietMs, { kind: 'quiet', path: msg.path, since });
          break;
        }
        case 'quiet': {
          // Replay only if the child did not crash again during the quiet period.
          const crash = state.lastCrash.get(msg.path);
          if (crash !== undefined && crash > msg.since) break;
          state.paused.delete(msg.path);
          enqueue(state, ctx, await claim(ctx, { source: msg.path }));
          break;
        }
        case 'startup':
          enqueue(state, ctx, await claim(ctx, {}));
          break;
        case 'scan': {
          enqueue(state, ctx, listStalledReplays(state.reader, policy.batch));
          scheduleScan(state, ctx);
          break;
        }
        case 'replay': {
          const letters = await claim(ctx, { ids: msg.ids, source: msg.source }, { maxReplays: msg.maxReplays, limit: msg.limit });
          enqueue(state, ctx, letters);
          msg.replyTo?.tell({ claimed: letters.length, ids: letters.map((l) => l.id) });
          break;
        }
        case 'drip': {
          const letter = state.queue.shift();
          if (letter) await deliver(state, ctx, letter);
          if (state.queue.length > 0) later(state, ctx, Math.ceil(1_000 / policy.perSecond), { kind: 'drip' });
          else state.dripping = false;
          break;
        }
        case 'handled':
          state.inProgress.delete(msg.id);
          state.awaiting.delete(msg.id);
          await write(ctx, { type: 'deadLetterReplayed', id: msg.id });
          break;
      }
      return state;
    },
    onStop: (state, _reason, ctx) => {
      state.unsubscribe();
      if (state.scanTimer) ctx.clock.clearTimeout(state.scanTimer);
      for (const t of state.timers) ctx.clock.clearTimeout(t);
      state.reader.close();
    },
  };
}

/** A short description of a message for a refusal: its kind, or its type. */
function describeMessage(message: unknown): string {
  if (message !== null && typeof message === 'object' && typeof (message as { kind?: unknown }).kind === 'string') return `a '${(message as { kind: string }).kind}' message`;
  return `a message of type ${message === null ? 'null' : typeof message}`;
}
