/**
 * sender: moves due requests from the outbox to the backtest service over a PUSH socket.
 *
 * At most `window` requests are in flight; a request is claimed (marked in flight with a lease)
 * in the store before it is sent, so a crash at any point leaves it either pending or in flight
 * with a lease that will run out. A lease that runs out is a timed-out attempt; a failed send is
 * a failed attempt; both are retried with backoff and jitter under the same request id (a late
 * result still completes it) until `maxAttempts`, then the request goes to the dead letters with
 * its history. While the service is unreachable the sender pauses instead of spinning.
 *
 * When the service's connection drops and comes back (it crashed and restarted), the requests
 * that were in flight to it are sent again at once under the same request id, each attempt ended
 * as `service_lost`, instead of each waiting out its lease: the dead service took them with it.
 */
import { kindGuard, type ActorContext, type ActorPath, type ActorRef } from '../runtime/index.ts';
import { type BackoffPolicy, backoffDelay } from '../runtime/backoff.ts';
import type { TimerHandle } from '../runtime/clock.ts';
import { type TokenBucket, msUntilToken, refill } from '../runtime/token-bucket.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import type { CommandOutcome, WriteCommand } from '../persistence/commands.ts';
import type { OutboxRequest } from '../persistence/records.ts';
import type { FailureKind } from '../persistence/schema.ts';
import { openStore, type Store } from '../persistence/connection.ts';
import { countInFlight, listInFlightSentBy } from '../persistence/outbox.ts';
import { encodeBacktestRequest, type BacktestRequest } from '../protocol/index.ts';
import { PushChannel } from '../transport/push-channel.ts';
import type { CurveClient } from '../transport/curve.ts';
import { RefusalRecorder, RefusalStats } from './connection-refusals.ts';
import { decideAfterFailure, defaultRetryPolicy, type RetryPolicy } from '../domain/retry-policy.ts';
import { defaultTracing, failSpan, ATTR, type OosTracing } from '../telemetry/tracing.ts';
import { writeCommands } from './db-client.ts';
import type { DbWriterMessage } from './db-writer.ts';

export type SenderMessage =
  /**
   * Due work may exist (a request was enqueued, a peer came up), or results freed `freed` slots.
   * A wake that only frees slots says so by `freed` without `due`.
   */
  | { readonly kind: 'wake'; readonly freed?: number; readonly due?: boolean; readonly peerUp?: boolean; readonly peerLostAt?: number }
  | { readonly kind: 'tick' }
  /**
   * An operator's pause: nothing new is claimed or sent until `resume`; results of requests in
   * flight are still handled and leases still run out. The answer is the state after the change.
   */
  | { readonly kind: 'pause'; readonly replyTo?: ActorRef<SendingState> }
  | { readonly kind: 'resume'; readonly replyTo?: ActorRef<SendingState> };

export const isSenderMessage = kindGuard<SenderMessage>({ wake: true, tick: true, pause: true, resume: true });

/** Whether sending is paused, since when, and what is in flight meanwhile. */
export interface SendingState {
  readonly paused: boolean;
  readonly pausedAt: number | null;
  readonly inFlight: number;
}

export interface SenderConfig {
  /** The service's request socket, e.g. tcp://localhost:5580. */
  readonly endpoint: string;
  readonly dbPath: string;
  readonly writerPath: ActorPath<DbWriterMessage>;
  /** Requests in flight at most. Default 16. */
  readonly window?: number;
  /** Deadline for a result after a send. Default 120 s. */
  readonly leaseMs?: number;
  readonly retry?: RetryPolicy;
  /** Sends per second at most (token bucket holding one second's worth). Default: unlimited. */
  readonly ratePerSec?: number;
  /** Lease and due-time check period. Default 1 s. */
  readonly tickMs?: number;
  /** Pause after a failed send (doubling while failures go on, up to pause.maxMs). */
  readonly pause?: BackoffPolicy;
  readonly sendTimeoutMs?: number;
  readonly highWaterMark?: number;
  /** CURVE: our key pair and the service's public key (default: plain TCP). */
  readonly curve?: CurveClient;
  /** Spans of each send attempt and each lease that ran out; default: the global provider's. */
  readonly tracing?: OosTracing;
}

export class SenderStats {
  sent = 0;
  sendFailures = 0;
  timeouts = 0;
  retried = 0;
  deadLettered = 0;
  maxInFlight = 0;
  claims = 0;
  /** Connected service peers right now (0 while the service is down). */
  peers = 0;
  /** Service connections that dropped. */
  serviceLost = 0;
  /** Requests sent again at once because the connection they went out on dropped. */
  resentAfterServiceLost = 0;
  /** Sending paused by an operator. Kept here, not in the actor's state, so a restart does not undo a pause. */
  paused = false;
  pausedAt: number | null = null;
  /** Handshakes with the service that failed (CURVE: a wrong key on either side, or no CURVE there). */
  readonly refusals = new RefusalStats();
  /** Leases and retry due times stored before a start that lay further ahead than this process could set them (a wall clock that stepped back). */
  deadlinesRebased = 0;
}

interface SenderState {
  readonly push: PushChannel;
  readonly reader: Store;
  inFlight: number;
  pausedUntil: number;
  consecutiveSendFailures: number;
  bucket: TokenBucket;
  /**
   * Whether requests may be due that no claim has seen. A claim says when the next pending
   * request comes due; until then only an enqueue, a retried result or a tick can make more
   * due, so a freed slot alone need not cost a claim that comes back empty.
   */
  backlog: boolean;
  tick?: TimerHandle;
  wakeAt?: { at: number; timer: TimerHandle };
  /** When a service connection dropped, until a connection is back and what was in flight is sent again. */
  lostAt?: number;
  /** Set at stop: the socket's own close is not a lost service. */
  readonly life: { closed: boolean };
  /** Whether the deadlines stored before this start have been pulled within bounds (rebaseDeadlines). */
  rebased: boolean;
}

const defaultPause: BackoffPolicy = { minMs: 200, maxMs: 10_000, factor: 2, jitter: 0.2, resetAfterMs: 0, firstImmediate: false };

/**
 * The wire frame of an outbox request: its stored BACKTEST fields, its id and its trace context
 * (the send attempt's span when one is recorded, else the one stored at enqueue: the same trace).
 */
export function requestFrame(req: OutboxRequest, traceparent: string | null = req.traceparent): string {
  const request = { ...(req.payload as unknown as Omit<BacktestRequest, 'requestId'>), requestId: req.requestId, traceparent: traceparent ?? undefined } as BacktestRequest;
  const encoded = encodeBacktestRequest(request);
  if (!encoded.ok) throw new Error(`request ${req.requestId} cannot be encoded: ${encoded.error.message}`);
  return encoded.value;
}

export function sender(config: SenderConfig, stats = new SenderStats()): ActorDefinition<SenderState, SenderMessage> {
  const window = config.window ?? 16;
  const leaseMs = config.leaseMs ?? 120_000;
  const retry = config.retry ?? defaultRetryPolicy;
  const tickMs = config.tickMs ?? 1_000;
  const pause = config.pause ?? defaultPause;
  const tracing = config.tracing ?? defaultTracing;
  if (!(Number.isInteger(window) && window >= 1)) throw new RangeError(`sender: window must be an integer >= 1, got ${window}`);
  if (config.ratePerSec !== undefined && !(config.ratePerSec > 0)) throw new RangeError(`sender: ratePerSec must be > 0, got ${config.ratePerSec}`);
  const burst = Math.max(1, Math.ceil(config.ratePerSec ?? window));
  if (!(leaseMs > 0)) throw new RangeError(`sender: leaseMs must be > 0, got ${leaseMs}`);

  const db = (ctx: ActorContext<SenderMessage>, commands: WriteCommand[]): Promise<CommandOutcome[]> => writeCommands(ctx.system, config.writerPath, commands);

  /** The command that ends a failed attempt: another try later, or the dead letters. */
  const afterFailure = (ctx: ActorContext<SenderMessage>, req: OutboxRequest, kind: FailureKind, error: string, retryable = true, immediate = false): WriteCommand => {
    const now = ctx.clock.now();
    const d = decideAfterFailure(req.attempts, now, retry, retryable);
    if (d.action === 'retry') {
      stats.retried++;
      return { type: 'retryRequest', requestId: req.requestId, nextAttemptAt: immediate ? now : d.nextAttemptAt, error, failureKind: kind, source: ctx.path };
    }
    stats.deadLettered++;
    return { type: 'deadLetterRequest', requestId: req.requestId, error: `${error} (${d.reason})`, failureKind: kind, source: ctx.path, retryable };
  };

  const wakeLater = (state: SenderState, ctx: ActorContext<SenderMessage>, at: number) => {
    if (state.wakeAt && state.wakeAt.at <= at) return;
    if (state.wakeAt) ctx.clock.clearTimeout(state.wakeAt.timer);
    const timer = ctx.clock.setTimeout(() => {
      state.wakeAt = undefined;
      ctx.self.tell({ kind: 'wake' });
    }, Math.max(0, at - ctx.clock.now()));
    state.wakeAt = { at, timer };
  };

  /** Times out in-flight requests whose lease ran out. */
  const expireLeases = async (state: SenderState, ctx: ActorContext<SenderMessage>) => {
    for (;;) {
      const [listed] = await db(ctx, [{ type: 'expiredLeases', limit: 256 }]);
      if (listed.type !== 'expiredLeases' || listed.status !== 'listed' || listed.requests.length === 0) return;
      stats.timeouts += listed.requests.length;
      const commands = listed.requests.map((r) => afterFailure(ctx, r, 'timeout', `no result within the ${leaseMs} ms lease (attempt ${r.attempts})`));
      for (let i = 0; i < commands.length; i++) {
        const c = commands[i] as { type: string; error: string };
        tracing.attemptFailed(listed.requests[i], config.endpoint, 'timeout', c.error, c.type === 'retryRequest' ? 'retry' : 'dead_letter');
      }
      await db(ctx, commands);
      state.inFlight = Math.max(0, state.inFlight - listed.requests.length);
      if (listed.requests.length < 256) return;
    }
  };

  /**
   * The service is back after its connection dropped at `lostAt`: what was sent on or before then
   * went down with it, so each such attempt ends as service_lost and the request is due at once
   * (still bounded by maxAttempts: a request that kills the service each time ends in the dead letters).
   */
  const resendLost = async (state: SenderState, ctx: ActorContext<SenderMessage>, lostAt: number) => {
    for (;;) {
      const lost = listInFlightSentBy(state.reader, lostAt, 256);
      if (lost.length === 0) return;
      const outcomes = await db(
        ctx,
        lost.map((r) => afterFailure(ctx, r, 'service_lost', `the service's connection dropped while attempt ${r.attempts} was in flight; sent again when it came back`, true, true)),
      );
      let ended = 0;
      for (const o of outcomes) if (o.status === 'retried' || o.status === 'dead_lettered') ended++;
      stats.resentAfterServiceLost += ended;
      state.inFlight = Math.max(0, state.inFlight - ended);
      state.backlog = true;
      // Rows a result completed meanwhile were skipped (not_live); stop rather than list them again.
      if (lost.length < 256 || ended === 0) return;
    }
  };

  /** Claims due requests and sends them while the window has room. */
  const pump = async (state: SenderState, ctx: ActorContext<SenderMessage>) => {
    while (state.backlog && !stats.paused) {
      const now = ctx.clock.now();
      if (now < state.pausedUntil) return wakeLater(state, ctx, state.pausedUntil);
      let room = window - state.inFlight;
      if (room <= 0) return;
      if (config.ratePerSec !== undefined) {
        // Tokens are spent only on requests actually claimed: an empty claim costs none.
        state.bucket = refill(state.bucket, now, config.ratePerSec, burst);
        room = Math.min(room, Math.floor(state.bucket.tokens));
        if (room === 0) return wakeLater(state, ctx, now + msUntilToken(state.bucket, now, config.ratePerSec, burst));
      }
      const [claimed] = await db(ctx, [{ type: 'claimDue', limit: room, leaseMs }]);
      if (claimed.type !== 'claimDue' || claimed.status !== 'claimed') throw new Error(`sender: claim failed: ${JSON.stringify(claimed)}`);
      stats.claims++;
      const rows = claimed.requests;
      const { nextDueAt } = claimed;
      state.backlog = nextDueAt !== null && nextDueAt <= now;
      // A retry waiting out its backoff is sent when it comes due, not at the next tick.
      if (nextDueAt !== null && nextDueAt > now) wakeLater(state, ctx, nextDueAt);
      if (rows.length === 0) return;
      if (config.ratePerSec !== undefined) state.bucket = { tokens: state.bucket.tokens - rows.length, at: state.bucket.at };
      state.inFlight += rows.length;
      if (state.inFlight > stats.maxInFlight) stats.maxInFlight = state.inFlight;
      for (let i = 0; i < rows.length; i++) {
        const attempt = tracing.startSend(rows[i], config.endpoint);
        let frame: string;
        try {
          frame = requestFrame(rows[i], attempt.traceparent);
        } catch (e) {
          // Our own request is malformed: no retry can fix it.
          state.inFlight--;
          failSpan(attempt.span, 'send_failure', (e as Error).message);
          attempt.span.end();
          await db(ctx, [afterFailure(ctx, rows[i], 'send_failure', (e as Error).message, false)]);
          continue;
        }
        try {
          await state.push.send(frame);
          attempt.span.end();
          stats.sent++;
          state.consecutiveSendFailures = 0;
        } catch (e) {
          stats.sendFailures++;
          // This attempt failed; the rest of the claim goes back unsent, without using an attempt.
          const unsent = rows.slice(i + 1);
          state.inFlight -= 1 + unsent.length;
          const commands: WriteCommand[] = [afterFailure(ctx, rows[i], 'send_failure', (e as Error).message)];
          failSpan(attempt.span, 'send_failure', (e as Error).message);
          attempt.span.setAttribute(ATTR.outcome, commands[0].type === 'retryRequest' ? 'retry' : 'dead_letter');
          attempt.span.end();
          for (const r of unsent) commands.push({ type: 'releaseClaim', requestId: r.requestId });
          await db(ctx, commands);
          const delay = backoffDelay(state.consecutiveSendFailures++, pause, Math.random);
          state.pausedUntil = ctx.clock.now() + delay;
          return wakeLater(state, ctx, state.pausedUntil);
        }
      }
    }
  };

  const scheduleTick = (state: SenderState, ctx: ActorContext<SenderMessage>) => {
    state.tick = ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'tick' }), tickMs);
  };

  return {
    accepts: isSenderMessage,
    init: (ctx) => {
      const reader = openStore({ path: config.dbPath, readonly: true });
      stats.peers = 0;
      const refusals = new RefusalRecorder(ctx.system, ctx.clock, config.writerPath, ctx.path, stats.refusals);
      const life = { closed: false };
      const push = new PushChannel(config.endpoint, {
        curve: config.curve,
        onRefused: (r) => refusals.record(r),
        sendTimeoutMs: config.sendTimeoutMs,
        highWaterMark: config.highWaterMark,
        // A peer appearing ends a pause at once: no need to wait out the backoff.
        onPeers: (n) => {
          const before = stats.peers;
          stats.peers = n;
          if (life.closed) return;
          if (n < before) {
            stats.serviceLost++;
            ctx.self.tell({ kind: 'wake', peerLostAt: ctx.clock.now() });
          } else if (n > 0) ctx.self.tell({ kind: 'wake', peerUp: true });
        },
      });
      const state: SenderState = {
        push,
        reader,
        inFlight: countInFlight(reader),
        pausedUntil: 0,
        consecutiveSendFailures: 0,
        bucket: { tokens: burst, at: ctx.clock.now() },
        backlog: true,
        life,
        rebased: false,
      };
      // Start-up recovery: leases that ran out while we were down are handled at once.
      ctx.self.tell({ kind: 'tick' });
      return state;
    },
    // Every queued wake/tick is folded into one pass: one claim per turn, however many results freed slots.
    receiveBatch: async (state, msgs, ctx) => {
      let tick = false;
      let backAfterLoss: number | undefined;
      const answers: ActorRef<SendingState>[] = [];
      for (const m of msgs) {
        if (m.kind === 'tick') tick = true;
        else if (m.kind === 'pause' || m.kind === 'resume') {
          if (m.kind === 'pause' && !stats.paused) stats.pausedAt = ctx.clock.now();
          if (m.kind === 'resume') {
            stats.pausedAt = null;
            // What came due while paused is claimed now.
            state.backlog = true;
          }
          stats.paused = m.kind === 'pause';
          if (m.replyTo) answers.push(m.replyTo);
        } else {
          if (m.freed) state.inFlight = Math.max(0, state.inFlight - m.freed);
          if (!m.freed || m.due) state.backlog = true;
          if (m.peerLostAt !== undefined) state.lostAt = Math.max(state.lostAt ?? 0, m.peerLostAt);
          if (m.peerUp) {
            state.pausedUntil = 0;
            if (state.lostAt !== undefined) {
              backAfterLoss = state.lostAt;
              state.lostAt = undefined;
            }
          }
        }
      }
      if (backAfterLoss !== undefined) await resendLost(state, ctx, backAfterLoss);
      if (tick) {
        if (!state.rebased) {
          // Deadlines from before this start were set by another clock reading (docs/adr/0014).
          const [r] = await db(ctx, [{ type: 'rebaseDeadlines', leaseMs, maxBackoffMs: retry.backoff.maxMs }]);
          if (r.type === 'rebaseDeadlines' && r.status === 'rebased') stats.deadlinesRebased += r.leases + r.retries;
          state.rebased = true;
        }
        await expireLeases(state, ctx);
        // Resynchronise with the store: results applied while we were restarting, lost wakes.
        state.inFlight = countInFlight(state.reader);
        // Retries come due on their own time, and wakes can be lost across a restart.
        state.backlog = true;
        scheduleTick(state, ctx);
      }
      for (const a of answers) a.tell({ paused: stats.paused, pausedAt: stats.pausedAt, inFlight: state.inFlight });
      await pump(state, ctx);
      return state;
    },
    onStop: (state, _reason, ctx) => {
      state.life.closed = true;
      if (state.tick) ctx.clock.clearTimeout(state.tick);
      if (state.wakeAt) ctx.clock.clearTimeout(state.wakeAt.timer);
      state.push.close();
      state.reader.close();
    },
    options: { maxMessageRetries: 5, batchSize: 10_000, throughput: 10_000 },
  };
}
