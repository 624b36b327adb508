/**
 * replayer: brings dead letters back. After a supervisor has restarted a child and the child has
 * stayed up for a quiet period, the letters whose source is that child are replayed to it,
 * oldest first, rate-limited, each at most `maxReplays` times. A replayed message that is handled
 * marks its letter replayed; one that fails again comes back through the dead-letter sink, which
 * returns the letter to `dead` with replay_count + 1. At start-up everything eligible is replayed
 * after the quiet period; on demand, by id, by source or all. Letters left `replaying` (claimed by
 * the CLI, or by a replayer that crashed) are delivered by the periodic scan.
 */
import { ReceiptRef, type ActorContext, type ActorRef, type SystemEvent } from '../runtime/index.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import type { DeadLetter } from '../persistence/records.ts';
import { openStore, type Store } from '../persistence/connection.ts';
import { listDeadLetters } from '../persistence/dead-letters.ts';
import { messageFromJson } from '../persistence/message-json.ts';
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

/**
 * How to replay letters of one source that are not plain actor messages (e.g. outbox requests).
 * A handler that takes the letter records its outcome itself (replayed, or returned to dead) and
 * resolves true; false leaves the letter to the default: re-sending its message to the actor.
 */
export type ReplayHandler = (letter: DeadLetter) => Promise<boolean>;

export interface ReplayReport {
  readonly claimed: number;
}

export type ReplayerMessage =
  | { readonly kind: 'restarted'; readonly path: string }
  | { readonly kind: 'crashed'; readonly path: string }
  | { readonly kind: 'quiet'; readonly path: string; readonly since: number }
  | { readonly kind: 'startup' }
  | { readonly kind: 'scan' }
  | { readonly kind: 'drip' }
  | { readonly kind: 'handled'; readonly id: number }
  | { readonly kind: 'replay'; readonly ids?: readonly number[]; readonly source?: string; readonly replyTo?: ActorRef<ReplayReport> };

interface State {
  readonly reader: Store;
  readonly queue: DeadLetter[];
  readonly inProgress: Set<number>;
  readonly lastCrash: Map<string, number>;
  unsubscribe: () => void;
  dripping: boolean;
  scanTimer?: ReturnType<ActorContext<ReplayerMessage>['clock']['setTimeout']>;
}

export interface ReplayerConfig {
  readonly dbPath: string;
  readonly writerPath: string;
  readonly policy?: Partial<ReplayPolicy>;
  /** Handlers by source (exact actor path or channel name); other sources get their message re-sent to the actor at that path. */
  readonly handlers?: Readonly<Record<string, ReplayHandler>>;
}

export function replayer(config: ReplayerConfig): ActorDefinition<State, ReplayerMessage> {
  const policy: ReplayPolicy = { ...defaultReplayPolicy, ...config.policy };
  const writer = (ctx: ActorContext<ReplayerMessage>) => {
    const ref = ctx.system.lookup(config.writerPath);
    if (!ref) throw new Error(`replayer ${ctx.path}: db-writer ${config.writerPath} is not running`);
    return ref as ActorRef<DbWriterMessage>;
  };

  const claim = async (ctx: ActorContext<ReplayerMessage>, filter: { ids?: readonly number[]; source?: string }): Promise<DeadLetter[]> => {
    const [outcome] = await writeCommands(ctx.system, writer(ctx), [{ type: 'claimDeadLettersForReplay', ...filter, limit: policy.batch, maxReplays: policy.maxReplays }]);
    if (outcome.status !== 'claimed' || outcome.type !== 'claimDeadLettersForReplay') throw new Error(`replayer: claim failed: ${JSON.stringify(outcome)}`);
    return outcome.letters;
  };

  const enqueue = (state: State, ctx: ActorContext<ReplayerMessage>, letters: readonly DeadLetter[]) => {
    for (const l of letters) {
      if (state.inProgress.has(l.id)) continue;
      state.inProgress.add(l.id);
      state.queue.push(l);
    }
    if (!state.dripping && state.queue.length > 0) {
      state.dripping = true;
      ctx.self.tell({ kind: 'drip' });
    }
  };

  const deliver = async (state: State, ctx: ActorContext<ReplayerMessage>, letter: DeadLetter): Promise<void> => {
    const handler = config.handlers?.[letter.source];
    if (handler) {
      let taken = false;
      try {
        taken = await handler(letter);
      } finally {
        if (taken) state.inProgress.delete(letter.id);
      }
      if (taken) return;
    }
    const target = ctx.system.lookup(letter.source);
    if (!target) {
      state.inProgress.delete(letter.id);
      await writeCommands(ctx.system, writer(ctx), [{ type: 'deadLetterReturned', id: letter.id, error: `replay: no actor at ${letter.source}` }]);
      return;
    }
    const message = messageFromJson(JSON.stringify(letter.message), (p) => ctx.system.lookup(p));
    const receipt = new ReceiptRef(`${ctx.path}#replay-${letter.id}`, letter.id, () => ctx.self.tell({ kind: 'handled', id: letter.id }));
    if (!target.tell(message, receipt)) {
      state.inProgress.delete(letter.id);
      await writeCommands(ctx.system, writer(ctx), [{ type: 'deadLetterReturned', id: letter.id, error: `replay: ${letter.source} did not accept the message` }]);
    }
  };

  const scheduleScan = (state: State, ctx: ActorContext<ReplayerMessage>) => {
    if (policy.scanIntervalMs > 0) state.scanTimer = ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'scan' }), policy.scanIntervalMs);
  };

  return {
    init: (ctx) => {
      const reader = openStore({ path: config.dbPath, readonly: true });
      const onEvent = (e: SystemEvent) => {
        if (e.path === ctx.path) return;
        if (e.type === 'actor_restarted') ctx.self.tell({ kind: 'restarted', path: e.path });
        else if (e.type === 'actor_crashed') ctx.self.tell({ kind: 'crashed', path: e.path });
      };
      const state: State = { reader, queue: [], inProgress: new Set(), lastCrash: new Map(), unsubscribe: ctx.system.events.subscribe(onEvent), dripping: false };
      if (policy.replayAtStartup) ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'startup' }), policy.quietMs);
      scheduleScan(state, ctx);
      return state;
    },
    receive: async (state, msg, ctx) => {
      switch (msg.kind) {
        case 'crashed':
          state.lastCrash.set(msg.path, ctx.clock.now());
          break;
        case 'restarted': {
          const since = ctx.clock.now();
          ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'quiet', path: msg.path, since }), policy.quietMs);
          break;
        }
        case 'quiet': {
          // Replay only if the child did not crash again during the quiet period.
          const crash = state.lastCrash.get(msg.path);
          if (crash !== undefined && crash > msg.since) break;
          enqueue(state, ctx, await claim(ctx, { source: msg.path }));
          break;
        }
        case 'startup':
          enqueue(state, ctx, await claim(ctx, {}));
          break;
        case 'scan': {
          enqueue(state, ctx, listDeadLetters(state.reader, { state: 'replaying', limit: policy.batch }));
          scheduleScan(state, ctx);
          break;
        }
        case 'replay': {
          const letters = await claim(ctx, { ids: msg.ids, source: msg.source });
          enqueue(state, ctx, letters);
          msg.replyTo?.tell({ claimed: letters.length });
          break;
        }
        case 'drip': {
          const letter = state.queue.shift();
          if (letter) await deliver(state, ctx, letter);
          if (state.queue.length > 0) ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'drip' }), Math.ceil(1_000 / policy.perSecond));
          else state.dripping = false;
          break;
        }
        case 'handled':
          state.inProgress.delete(msg.id);
          await writeCommands(ctx.system, writer(ctx), [{ type: 'deadLetterReplayed', id: msg.id }]);
          break;
      }
      return state;
    },
    onStop: (state, _reason, ctx) => {
      state.unsubscribe();
      if (state.scanTimer) ctx.clock.clearTimeout(state.scanTimer);
      state.reader.close();
    },
  };
}
