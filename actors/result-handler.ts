/**
 * result-handler: binds the PULL socket the backtest service pushes results to, decodes and
 * validates each frame, and turns it into store commands, all of a turn's frames in one write:
 * - a success completes its request (result, trades, strategy metrics, outbox row: one
 *   transaction); a second copy is a counted duplicate with no effect; an unknown request id is
 *   an orphan, recorded and dead-lettered for inspection;
 * - an error result is a failed attempt, never a metric: retryable errors are retried with
 *   backoff, the others go to the dead letters with the service's error text;
 * - a frame that cannot be decoded or validated is dead-lettered with its raw bytes and why; when
 *   it still names a live request (a validation error after request_id was read), that request
 *   fails at once, dead-lettered with the frame, instead of waiting out its lease and its retries:
 *   the service would answer the same way again.
 * Socket errors crash the actor; its supervisor restarts it (and it rebinds).
 */
import { kindGuard, ReceiptRef, type ActorContext, type ActorPath } from '../runtime/index.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import type { WriteCommand } from '../persistence/commands.ts';
import type { DeadLetterRequestCommand, RetryRequestCommand } from '../persistence/outbox.ts';
import type { ApplyResultCommand, OosMetrics } from '../persistence/results.ts';
import { openStore, type Store } from '../persistence/connection.ts';
import { getRequest } from '../persistence/outbox.ts';
import type { OutboxRequest } from '../persistence/records.ts';
import { decodeBacktestResult, type BacktestSuccess, type CodecLimits } from '../protocol/index.ts';
import { PullChannel } from '../transport/pull-channel.ts';
import type { CurveServer } from '../transport/curve.ts';
import { RefusalRecorder, RefusalStats } from './connection-refusals.ts';
import { decideAfterFailure, defaultRetryPolicy, type RetryPolicy } from '../domain/retry-policy.ts';
import { ATTR, defaultTracing, failSpan, type OosTracing, type TracedRequest } from '../telemetry/tracing.ts';
import { CommandBatch } from './command-batch.ts';
import { writeCommands } from './db-client.ts';
import type { DbWriterMessage } from './db-writer.ts';
import type { ForwarderMessage } from './forwarder.ts';
import type { SenderMessage } from './sender.ts';
import { frameLetter, readFramesIntoMailbox } from './frame-socket.ts';

export type ResultHandlerMessage = { readonly kind: 'frame'; readonly frame: Buffer; readonly receivedAt: number };

export const isResultHandlerMessage = kindGuard<ResultHandlerMessage>({ frame: (m) => Buffer.isBuffer(m.frame) });

export interface ResultHandlerConfig {
  /** Where to bind, e.g. tcp://*:5581 (or tcp://127.0.0.1:5581 for loopback only; port 0 = ephemeral). */
  readonly endpoint: string;
  readonly dbPath: string;
  readonly writerPath: ActorPath<DbWriterMessage>;
  readonly senderPath: ActorPath<SenderMessage>;
  readonly retry?: RetryPolicy;
  readonly limits?: Partial<CodecLimits>;
  /** Pause reading the socket while this many frames wait in the mailbox. Default 5,000. */
  readonly highWater?: number;
  /** Told the bound endpoint after each (re)bind (tests use ephemeral ports). */
  readonly onBound?: (endpoint: string) => void;
  /**
   * Bridge mode: results are stored with their frame (kept for the host if the request is the
   * host's) and the forwarder is woken when one is.
   */
  readonly forwarderPath?: ActorPath<ForwarderMessage>;
  /** CURVE: only the allow-list's client keys may push results (default: plain TCP). */
  readonly curve?: CurveServer;
  /** A CONSUMER span per result of a known request, in its trace; default: the global provider's. */
  readonly tracing?: OosTracing;
}

export class ResultStats {
  frames = 0;
  applied = 0;
  duplicates = 0;
  orphans = 0;
  errorResults = 0;
  retried = 0;
  deadLettered = 0;
  undecodable = 0;
  /** When the last frame arrived (Unix ms): the service is alive (the alert watch reads it). */
  lastFrameAt: number | undefined;
  /** Connections the result socket refused (CURVE). */
  readonly refusals = new RefusalStats();
}

interface State {
  readonly pull: PullChannel;
  readonly reader: Store;
  closed: boolean;
}

/** A decoded success result as the store's metrics (trade times from the wire's Unix seconds to ms). */
export function metricsOf(r: BacktestSuccess): OosMetrics {
  return {
    trades: r.trades,
    wins: r.wins,
    losses: r.losses,
    pnl: r.pnl,
    sharpe: r.sharpe,
    sortino: r.sortino,
    maxDd: r.maxDrawdown,
    winRate: r.winRate,
    profitFactor: r.profitFactor,
    adjustedSharpe: r.adjustedSharpe ?? null,
    sharpeCiLower: r.sharpeCiLower ?? null,
    tradeList: r.tradeList?.map((t) => ({ timestamp: t.timestamp * 1_000, pnl: t.pnl })),
  };
}

export function resultHandler(config: ResultHandlerConfig, stats = new ResultStats()): ActorDefinition<State, ResultHandlerMessage> {
  const retry = config.retry ?? defaultRetryPolicy;
  const highWater = config.highWater ?? 5_000;
  const tracing = config.tracing ?? defaultTracing;

  const readLoop = (state: State, ctx: ActorContext<ResultHandlerMessage>) => readFramesIntoMailbox(state, ctx, highWater, 'result socket');
  const deadFrame = (ctx: ActorContext<ResultHandlerMessage>, frame: Buffer, why: string, requestId: string | undefined, replayOf: number | undefined): WriteCommand =>
    frameLetter(ctx.path, 'frame', frame, why, requestId, replayOf);
  const replayOf = (ctx: ActorContext<ResultHandlerMessage>, i: number): number | undefined => {
    const s = ctx.senders[i];
    return s instanceof ReceiptRef ? s.replayOf : undefined;
  };

  return {
    accepts: isResultHandlerMessage,
    init: async (ctx) => {
      const refusals = new RefusalRecorder(ctx.system, ctx.clock, config.writerPath, ctx.path, stats.refusals);
      const pull = await PullChannel.bind(config.endpoint, { curve: config.curve, name: 'results', onRefused: (r) => refusals.record(r) });
      config.onBound?.(pull.endpoint);
      const state: State = { pull, reader: openStore({ path: config.dbPath, readonly: true }), closed: false };
      void readLoop(state, ctx);
      return state;
    },
    receiveBatch: async (state, msgs, ctx) => {
      const batch = new CommandBatch();
      /** What each command's outcome calls for, read in command order once the batch is written. */
      const readers: (() => void)[] = [];
      let freed = 0;
      let retried = 0;
      let forwards = 0;
      const followUps: WriteCommand[] = [];
      /** Requests to fail because their result could not be stored, with the frame letter to write instead if one is no longer live. */
      const unstorable: { command: DeadLetterRequestCommand; otherwise: WriteCommand }[] = [];
      /** When the batch was handed to the db-writer and when it answered (the commit spans). */
      const commit = { from: 0, to: 0, size: 0 };
      const endpoint = state.pull.endpoint;
      /** The CONSUMER span of a result for a known request, in its trace, ended at the commit that stored what it did. */
      const traceResult = (req: TracedRequest, m: ResultHandlerMessage, outcome: string, failure?: { kind: string; error: string }) => {
        const span = tracing.startProcess(req, endpoint, m.receivedAt);
        if (failure) failSpan(span, failure.kind, failure.error);
        span.setAttribute(ATTR.outcome, outcome);
        tracing.commit(span, commit.from, commit.to, commit.size);
        span.end(commit.to);
      };

      /** A failed attempt of a live request: retried or dead-lettered, either frees its slot. */
      const failAttempt = (command: RetryRequestCommand | DeadLetterRequestCommand, m: ResultHandlerMessage, req: OutboxRequest) => {
        const pending = batch.add(command);
        readers.push(() => {
          const o = pending.outcome();
          if (o.status === 'retried' || o.status === 'dead_lettered') freed++;
          if (o.status === 'retried') retried++;
          traceResult(req, m, o.status, { kind: command.failureKind, error: command.error });
        });
      };
      /** The answer to a live request that cannot be applied: the same request would get the same answer. */
      const failLive = (command: DeadLetterRequestCommand, m: ResultHandlerMessage, live: OutboxRequest, why: string) => {
        const frame = m.frame;
        const pending = batch.add(command);
        readers.push(() => {
          if (pending.outcome().status === 'dead_lettered') {
            stats.deadLettered++;
            freed++;
            traceResult(live, m, 'dead_lettered', { kind: command.failureKind, error: command.error });
            return;
          }
          // The request finished meanwhile (a valid copy earlier in this batch, say): keep the frame as an undecodable one.
          followUps.push({ type: 'recordFailure', kind: 'decode_error', source: ctx.path, requestId: command.requestId, detail: why });
          followUps.push(deadFrame(ctx, frame, why, command.requestId, undefined));
        });
      };
      const applyResult = (command: ApplyResultCommand, m: ResultHandlerMessage, replay: number | undefined) => {
        const pending = batch.add(command);
        readers.push(() => {
          const o = pending.outcome();
          if (o.status === 'applied') {
            stats.applied++;
            if (o.forward) forwards++;
            if (o.previousState === 'in_flight') freed++;
            // The result joins its request's trace by request_id: the service need not echo the traceparent.
            traceResult({ requestId: o.requestId, traceparent: o.traceparent }, m, 'applied');
          } else if (o.status === 'duplicate') {
            stats.duplicates++;
          } else if (o.status === 'orphan') {
            stats.orphans++;
            followUps.push(deadFrame(ctx, m.frame, `orphan result: no request ${command.requestId} in the outbox`, command.requestId, replay));
          } else if (o.status === 'error') {
            // The result itself is unusable (a value the store refuses): keep the frame, and fail a live request at once.
            const why = `result not applied: ${o.error}`;
            const letter = deadFrame(ctx, m.frame, why, command.requestId, replay);
            if (replay !== undefined) followUps.push(letter);
            else unstorable.push({ command: { type: 'deadLetterRequest', requestId: command.requestId, error: `result for request ${command.requestId} cannot be applied: ${why} (${ctx.path})`, failureKind: 'decode_error', source: ctx.path, frame: m.frame, retryable: false }, otherwise: letter });
          }
        });
      };

      for (let i = 0; i < msgs.length; i++) {
        const m = msgs[i];
        stats.frames++;
        stats.lastFrameAt = ctx.clock.now();
        const decoded = decodeBacktestResult(m.frame, config.limits);
        if (!decoded.ok) {
          stats.undecodable++;
          const e = decoded.error;
          // The reader's messages already end with "at offset N": name the place once.
          const why = `undecodable result frame: ${e.message}${e.offset !== undefined && !e.message.endsWith(`at offset ${e.offset}`) ? ` at offset ${e.offset}` : ''}`;
          const rid = e.requestId;
          const live = rid !== undefined && replayOf(ctx, i) === undefined ? getRequest(state.reader, rid) : undefined;
          if (live !== undefined && (live.state === 'pending' || live.state === 'in_flight')) {
            const error = `result for request ${live.requestId} cannot be applied: ${e.message} (${ctx.path})`;
            failLive({ type: 'deadLetterRequest', requestId: live.requestId, error, failureKind: 'decode_error', source: ctx.path, frame: m.frame, retryable: false }, m, live, why);
            continue;
          }
          batch.add({ type: 'recordFailure', kind: 'decode_error', source: ctx.path, requestId: rid, detail: why });
          batch.add(deadFrame(ctx, m.frame, why, rid, replayOf(ctx, i)));
          continue;
        }
        const r = decoded.value;
        if (r.kind === 'success') {
          const frame = config.forwarderPath === undefined ? undefined : m.frame.toString('utf8');
          applyResult({ type: 'applyResult', requestId: r.requestId, result: metricsOf(r), source: ctx.path, ...(frame === undefined ? {} : { frame }) }, m, replayOf(ctx, i));
          continue;
        }
        stats.errorResults++;
        const why = `service error: ${r.error}`;
        const req = r.requestId === undefined ? undefined : getRequest(state.reader, r.requestId);
        if (!req) {
          batch.add({ type: 'recordFailure', kind: 'error_result', source: ctx.path, requestId: r.requestId, detail: why });
          batch.add(deadFrame(ctx, m.frame, `${why} (${r.requestId === undefined ? 'the service could not read our request id' : 'unknown request id'})`, r.requestId, replayOf(ctx, i)));
          stats.deadLettered++;
          continue;
        }
        if (req.state === 'done' || req.state === 'dead') {
          batch.add({ type: 'recordFailure', kind: 'error_result', source: ctx.path, requestId: req.requestId, detail: `${why} (request already ${req.state})` });
          continue;
        }
        const d = decideAfterFailure(req.attempts, ctx.clock.now(), retry, r.retryable);
        if (d.action === 'retry') {
          stats.retried++;
          failAttempt({ type: 'retryRequest', requestId: req.requestId, nextAttemptAt: d.nextAttemptAt, error: why, failureKind: 'error_result', source: ctx.path }, m, req);
        } else {
          stats.deadLettered++;
          failAttempt({ type: 'deadLetterRequest', requestId: req.requestId, error: `${why} (${r.retryable ? d.reason : `${r.category}: not retryable`})`, failureKind: 'error_result', source: ctx.path, retryable: r.retryable }, m, req);
        }
      }
      if (batch.size === 0) return state;
      commit.from = ctx.clock.now();
      commit.size = batch.size;
      await batch.write(ctx.system, config.writerPath);
      commit.to = ctx.clock.now();
      for (const read of readers) read();
      if (followUps.length > 0 || unstorable.length > 0) {
        const second = new CommandBatch();
        const failing = unstorable.map((u) => ({ pending: second.add(u.command), otherwise: u.otherwise }));
        for (const c of followUps) second.add(c);
        await second.write(ctx.system, config.writerPath);
        const fallbacks: WriteCommand[] = [];
        for (const f of failing) {
          if (f.pending.outcome().status === 'dead_lettered') {
            stats.deadLettered++;
            freed++;
          } else fallbacks.push(f.otherwise);
        }
        if (fallbacks.length > 0) await writeCommands(ctx.system, config.writerPath, fallbacks);
      }
      if (forwards > 0 && config.forwarderPath !== undefined) ctx.system.lookup(config.forwarderPath)?.tell({ kind: 'wake' });
      // A retried request may be due at once (the policy decides), so the sender must look.
      if (freed > 0) ctx.system.lookup(config.senderPath)?.tell({ kind: 'wake', freed, due: retried > 0 });
      return state;
    },
    // The next incarnation binds the same port; PullChannel.bind rides out its release.
    onStop: (state) => {
      state.closed = true;
      state.reader.close();
      state.pull.close();
    },
    options: { batchSize: 1_024, throughput: 1_024, maxMessageRetries: 3, mailboxCapacity: 20_000 },
  };
}
