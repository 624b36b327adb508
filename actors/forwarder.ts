/**
 * forwarder (bridge mode): hands each stored, deduplicated result of a host request to the host's
 * result socket (PUSH, connected to its port 5581), unchanged: the frame the service sent, kept in
 * host_forwards in the result's own commit.
 *
 * - At least once: a forward is marked forwarded only after its hand-off to the socket, so one
 *   handed off but not marked when shoal dies is forwarded again after the restart (a duplicate
 *   for the host, which it may get only then), as is everything still pending. A hand-off is a
 *   frame queued in the socket, not yet on the wire: one marked just before shoal died may have
 *   died in that queue, so at start what was marked in the `reopenWindowMs` before the latest
 *   mark is forwarded again too.
 * - Only while the host's socket is connected (the PUSH is `immediate`): while the host is down,
 *   forwards wait; when its connection drops, what was handed off in the last `reopenWindowMs`
 *   may have died in transit (the host's protocol has no acknowledgement) and is forwarded again.
 * - Bounded: a forward older than `maxAgeMs`, or that failed `maxAttempts` hand-offs, is given up:
 *   dead, with a dead letter holding its frame and the reason.
 */
import { kindGuard, type ActorContext, type ActorPath } from '../runtime/index.ts';
import { type BackoffPolicy, backoffDelay } from '../runtime/backoff.ts';
import type { TimerHandle } from '../runtime/clock.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import type { WriteCommand } from '../persistence/commands.ts';
import { openStore, type Store } from '../persistence/connection.ts';
import { latestHandOff, listPendingForwards, type HostForward } from '../persistence/host-forwards.ts';
import { PushChannel } from '../transport/push-channel.ts';
import { writeCommands } from './db-client.ts';
import type { DbWriterMessage } from './db-writer.ts';

export type ForwarderMessage =
  /** Results to forward may be stored, or the host's socket came back. */
  | { readonly kind: 'wake'; readonly hostUp?: boolean }
  /** The host's connection dropped at `at`. */
  | { readonly kind: 'hostLost'; readonly at: number }
  /** This forwarder started with a new socket: what the previous one had queued is gone. */
  | { readonly kind: 'started' }
  | { readonly kind: 'tick' };

export const isForwarderMessage = kindGuard<ForwarderMessage>({ wake: true, hostLost: (m) => typeof m.at === 'number', started: true, tick: true });

/** How forwarding is bounded (config key `forward`). */
export interface ForwardPolicy {
  /** Hand-offs a forward may fail before it is given up. */
  readonly maxAttempts: number;
  /** A forward not handed off this long after its result was stored is given up. */
  readonly maxAgeMs: number;
  /** When the host's connection drops, forwards handed off this long before are forwarded again. */
  readonly reopenWindowMs: number;
  /** How often pending forwards are looked at besides wakes. */
  readonly tickMs: number;
}

export const defaultForwardPolicy: ForwardPolicy = Object.freeze({ maxAttempts: 20, maxAgeMs: 6 * 3_600_000, reopenWindowMs: 10_000, tickMs: 1_000 });

export interface ForwarderConfig {
  /** The host's result socket, e.g. tcp://localhost:5581. */
  readonly endpoint: string;
  readonly dbPath: string;
  readonly writerPath: ActorPath<DbWriterMessage>;
  readonly policy?: Partial<ForwardPolicy>;
  /** Forwards read per pass. Default 256. */
  readonly batch?: number;
  readonly sendTimeoutMs?: number;
  readonly highWaterMark?: number;
  /** Pause after a failed hand-off (doubling while failures go on). */
  readonly pause?: BackoffPolicy;
}

export class ForwarderStats {
  forwarded = 0;
  failures = 0;
  deadLettered = 0;
  /** Forwards pending again because the host's connection dropped just after their hand-off. */
  reopened = 0;
  /** Connected host peers right now. */
  peers = 0;
  hostLost = 0;
}

interface State {
  readonly push: PushChannel;
  readonly reader: Store;
  pausedUntil: number;
  consecutiveFailures: number;
  tick?: TimerHandle;
  wakeAt?: TimerHandle;
  /** Set at stop: the socket's own close is not a lost host. */
  readonly life: { closed: boolean };
}

const defaultPause: BackoffPolicy = { minMs: 100, maxMs: 5_000, factor: 2, jitter: 0.2, resetAfterMs: 0, firstImmediate: false };

/**
 * The hand-offs to forward again when the host's connection dropped at `lostAt` and the loss is
 * handled at `now`: those marked from `reopenWindowMs` before the drop up to now. Not only up to
 * the drop: a hand-off's mark is timestamped when it commits, which can come after the drop it
 * went down with (the socket took the frame just before the disconnect was seen). One marked after
 * a new host connected is forwarded twice, which the host's protocol allows; a cut at the drop
 * would lose it. Pure.
 */
export function reopenSpan(lostAt: number, now: number, policy: Pick<ForwardPolicy, 'reopenWindowMs'>): { since: number; until: number } {
  return { since: lostAt - policy.reopenWindowMs, until: Math.max(lostAt, now) };
}

/**
 * The hand-offs a start reopens, or undefined when none was marked: those of `reopenWindowMs`
 * before the latest mark, the last thing the previous socket did, however long ago it died (a span
 * ending at the start would miss them after a slow restart). Pure.
 */
export function startReopenSpan(latestMark: number | undefined, policy: Pick<ForwardPolicy, 'reopenWindowMs'>): { since: number; until: number } | undefined {
  return latestMark === undefined ? undefined : { since: latestMark - policy.reopenWindowMs, until: latestMark };
}

/** Why a pending forward must be given up now, or undefined while it may still be tried. Pure. */
export function forwardExpired(f: Pick<HostForward, 'attempts' | 'firstAt'>, now: number, policy: Pick<ForwardPolicy, 'maxAttempts' | 'maxAgeMs'>): string | undefined {
  if (f.attempts >= policy.maxAttempts) return `${f.attempts} of ${policy.maxAttempts} hand-offs to the host failed`;
  if (now - f.firstAt >= policy.maxAgeMs) return `not handed to the host within ${policy.maxAgeMs} ms of the result (the host's result socket was not reachable)`;
  return undefined;
}

export function forwarder(config: ForwarderConfig, stats = new ForwarderStats()): ActorDefinition<State, ForwarderMessage> {
  const policy: ForwardPolicy = { ...defaultForwardPolicy, ...config.policy };
  const batch = config.batch ?? 256;
  const pause = config.pause ?? defaultPause;
  const db = (ctx: ActorContext<ForwarderMessage>, commands: WriteCommand[]) => writeCommands(ctx.system, config.writerPath, commands);

  const wakeLater = (state: State, ctx: ActorContext<ForwarderMessage>, at: number) => {
    if (state.wakeAt) ctx.clock.clearTimeout(state.wakeAt);
    state.wakeAt = ctx.clock.setTimeout(() => {
      state.wakeAt = undefined;
      ctx.self.tell({ kind: 'wake' });
    }, Math.max(0, at - ctx.clock.now()));
  };

  const pump = async (state: State, ctx: ActorContext<ForwarderMessage>) => {
    for (;;) {
      const rows = listPendingForwards(state.reader, batch);
      if (rows.length === 0) return;
      const now = ctx.clock.now();
      const give: WriteCommand[] = [];
      const ready: HostForward[] = [];
      for (const f of rows) {
        const why = forwardExpired(f, now, policy);
        if (why === undefined) ready.push(f);
        else give.push({ type: 'deadForward', requestId: f.requestId, error: `result of request ${f.requestId} not forwarded to the host: ${why}`, source: ctx.path });
      }
      let given = 0;
      if (give.length > 0) {
        for (const o of await db(ctx, give)) if (o.type === 'deadForward' && o.status === 'dead_lettered') given++;
        stats.deadLettered += given;
      }
      if (ready.length === 0) {
        if (given === 0) return;
        continue;
      }
      // Waiting for the host: its return wakes us (or the tick).
      if (state.push.peers === 0) return;
      if (now < state.pausedUntil) return wakeLater(state, ctx, state.pausedUntil);
      const handed: string[] = [];
      for (const f of ready) {
        try {
          await state.push.send(f.frame);
          handed.push(f.requestId);
        } catch (e) {
          stats.failures++;
          await db(ctx, [
            ...(handed.length > 0 ? [{ type: 'forwardsHandedOff' as const, requestIds: handed }] : []),
            { type: 'forwardFailed', requestId: f.requestId, error: (e as Error).message },
          ]);
          stats.forwarded += handed.length;
          state.pausedUntil = ctx.clock.now() + backoffDelay(state.consecutiveFailures++, pause, Math.random);
          return wakeLater(state, ctx, state.pausedUntil);
        }
      }
      state.consecutiveFailures = 0;
      await db(ctx, [{ type: 'forwardsHandedOff', requestIds: handed }]);
      stats.forwarded += handed.length;
      if (rows.length < batch) return;
    }
  };

  const scheduleTick = (state: State, ctx: ActorContext<ForwarderMessage>) => {
    state.tick = ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'tick' }), policy.tickMs);
  };

  return {
    accepts: isForwarderMessage,
    init: (ctx) => {
      stats.peers = 0;
      const life = { closed: false };
      const push = new PushChannel(config.endpoint, {
        sendTimeoutMs: config.sendTimeoutMs,
        highWaterMark: config.highWaterMark,
        onPeers: (n) => {
          const before = stats.peers;
          stats.peers = n;
          if (life.closed) return;
          if (n < before) {
            stats.hostLost++;
            ctx.self.tell({ kind: 'hostLost', at: ctx.clock.now() });
          } else if (n > 0) ctx.self.tell({ kind: 'wake', hostUp: true });
        },
      });
      const state: State = { push, reader: openStore({ path: config.dbPath, readonly: true }), pausedUntil: 0, consecutiveFailures: 0, life };
      // Start-up: what was handed off just before (a previous run's, a restart's) is reopened, then everything pending is forwarded.
      ctx.self.tell({ kind: 'started' });
      ctx.self.tell({ kind: 'tick' });
      return state;
    },
    receiveBatch: async (state, msgs, ctx) => {
      let tick = false;
      for (const m of msgs) {
        if (m.kind === 'tick') tick = true;
        else if (m.kind === 'hostLost' || m.kind === 'started') {
          const span = m.kind === 'hostLost' ? reopenSpan(m.at, ctx.clock.now(), policy) : startReopenSpan(latestHandOff(state.reader), policy);
          if (span === undefined) continue;
          const [o] = await db(ctx, [{ type: 'forwardsReopened', ...span }]);
          if (o.type === 'forwardsReopened' && o.status === 'reopened') stats.reopened += o.reopened;
        } else if (m.hostUp) state.pausedUntil = 0;
      }
      await pump(state, ctx);
      if (tick) scheduleTick(state, ctx);
      return state;
    },
    onStop: (state, _reason, ctx) => {
      state.life.closed = true;
      if (state.tick) ctx.clock.clearTimeout(state.tick);
      if (state.wakeAt) ctx.clock.clearTimeout(state.wakeAt);
      state.push.close();
      state.reader.close();
    },
    options: { maxMessageRetries: 5, batchSize: 10_000, throughput: 10_000 },
  };
}
