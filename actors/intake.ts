/**
 * intake (bridge mode): binds where the trading host PUSHes its BACKTEST requests (its port 5580)
 * and takes each frame in: decoded with the wire codec, then handed to the data gate, which checks
 * the candle file the request names and makes the request durable in the outbox under the host's
 * own request id (origin host; a newer request for a strategy supersedes its older live one; the
 * host's traceparent is continued). Nothing is sent before that commit.
 *
 * A frame that cannot be decoded, or that the gate refuses, is dead-lettered with its bytes and
 * why, and counted: it is never answered with a result (the host would score it Sharpe 0).
 * A request id the outbox already holds (the host sent it again) changes nothing.
 */
import { kindGuard, ReceiptRef, type ActorContext, type ActorPath } from '../runtime/index.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import type { WriteCommand } from '../persistence/commands.ts';
import type { StrategyInput } from '../persistence/strategies.ts';
import { decodeBacktestRequest, isValidTraceparent, type BacktestRequest, type CodecLimits } from '../protocol/index.ts';
import { PullChannel } from '../transport/pull-channel.ts';
import { writeCommands } from './db-client.ts';
import type { DataGateMessage, GateReply } from './data-gate.ts';
import type { DbWriterMessage } from './db-writer.ts';
import type { SenderMessage } from './sender.ts';
import { frameLetter, readFramesIntoMailbox } from './frame-socket.ts';

export type IntakeMessage = { readonly kind: 'frame'; readonly frame: Buffer; readonly receivedAt: number };

export const isIntakeMessage = kindGuard<IntakeMessage>({ frame: (m) => Buffer.isBuffer(m.frame) });

/** The message kind of an intake frame's dead letter. */
export const INTAKE_LETTER_KIND = 'intake_frame';

export interface IntakeConfig {
  /** Where to bind, e.g. tcp://*:5580 (port 0 = ephemeral). */
  readonly endpoint: string;
  readonly writerPath: ActorPath<DbWriterMessage>;
  readonly gatePath: ActorPath<DataGateMessage>;
  readonly senderPath: ActorPath<SenderMessage>;
  readonly limits?: Partial<CodecLimits>;
  /** How long the gate may take to judge and store one turn's requests. Default 300 s (a first read of a multi-GB candle file). */
  readonly gateTimeoutMs?: number;
  /** Pause reading the socket while this many frames wait in the mailbox. Default 5,000. */
  readonly highWater?: number;
  /** Told the bound endpoint after each (re)bind. */
  readonly onBound?: (endpoint: string) => void;
}

export class IntakeStats {
  frames = 0;
  /** New requests made durable. */
  accepted = 0;
  /** Request ids the outbox already held (the host sent them again): no effect. */
  repeated = 0;
  /** Older live requests replaced by a newer one of the same strategy. */
  superseded = 0;
  undecodable = 0;
  /** Refused by the data gate (the candle file, the window) or not storable. */
  refused = 0;
  deadLettered = 0;
}

interface State {
  readonly pull: PullChannel;
  closed: boolean;
}

/** The strategy row a host request implies when the store does not know the strategy yet. */
export function strategyOfRequest(r: BacktestRequest): StrategyInput {
  const s = r.strategy;
  const params: Record<string, unknown> = { sma_short: s.smaShort, sma_long: s.smaLong };
  if (s.filterEnabled !== undefined) params.filter_enabled = s.filterEnabled;
  if (s.filterTf !== undefined) params.filter_tf = s.filterTf;
  if (s.filterPeriod !== undefined) params.filter_period = s.filterPeriod;
  if (s.filterLogic !== undefined) params.filter_logic = s.filterLogic;
  return { name: s.name, symbol: r.symbol, timeframe: s.timeframe, direction: 'BOTH', indicatorType: s.indicatorType, params, volume: s.volume, sl: s.sl, tp: s.tp };
}

export function intake(config: IntakeConfig, stats = new IntakeStats()): ActorDefinition<State, IntakeMessage> {
  const highWater = config.highWater ?? 5_000;
  const gateTimeoutMs = config.gateTimeoutMs ?? 300_000;

  const readLoop = (state: State, ctx: ActorContext<IntakeMessage>) => readFramesIntoMailbox(state, ctx, highWater, 'intake socket');
  const letter = (ctx: ActorContext<IntakeMessage>, frame: Buffer, why: string, requestId: string | undefined, replayOf: number | undefined): WriteCommand =>
    frameLetter(ctx.path, INTAKE_LETTER_KIND, frame, why, requestId, replayOf);

  return {
    accepts: isIntakeMessage,
    init: async (ctx) => {
      const pull = await PullChannel.bind(config.endpoint);
      config.onBound?.(pull.endpoint);
      const state: State = { pull, closed: false };
      void readLoop(state, ctx);
      return state;
    },
    receiveBatch: async (state, msgs, ctx) => {
      const gate = ctx.system.lookup(config.gatePath);
      if (!gate) throw new Error(`intake ${ctx.path}: the data gate (${config.gatePath}) is not running`);
      const letters: WriteCommand[] = [];
      // Every frame of the turn goes to the gate at once: it judges them together and stores them in one commit.
      const asked: Promise<void>[] = [];
      let freed = 0;
      for (let i = 0; i < msgs.length; i++) {
        const m = msgs[i];
        const sender = ctx.senders[i];
        const replayOf = sender instanceof ReceiptRef ? sender.replayOf : undefined;
        stats.frames++;
        const decoded = decodeBacktestRequest(m.frame, config.limits);
        if (!decoded.ok) {
          stats.undecodable++;
          const e = decoded.error;
          letters.push({ type: 'recordFailure', kind: 'decode_error', source: ctx.path, requestId: e.requestId, detail: `undecodable request frame from the host: ${e.message}` });
          letters.push(letter(ctx, m.frame, `undecodable request frame from the host: ${e.message}`, e.requestId, replayOf));
          continue;
        }
        const r = decoded.value;
        const { requestId, traceparent, ...request } = r;
        const ask = ctx.system
          .query<DataGateMessage, GateReply>(
            gate,
            (replyTo) => ({
              kind: 'enqueue',
              strategyName: r.strategy.name,
              request,
              requestId,
              // A malformed trace context is not the request's fault: a new trace is started instead.
              traceparent: traceparent !== undefined && isValidTraceparent(traceparent) ? traceparent : undefined,
              origin: 'host',
              supersedeLive: true,
              ensureStrategy: strategyOfRequest(r),
              replyTo,
            }),
            gateTimeoutMs,
          )
          .then(
            (reply) => {
              if (reply.type === 'enqueueRequest' && reply.status === 'enqueued') {
                stats.accepted++;
                if (reply.superseded) {
                  stats.superseded++;
                  if (reply.superseded.state === 'in_flight') freed++;
                }
              } else if (reply.type === 'enqueueRequest' && reply.status === 'exists') {
                stats.repeated++;
              } else {
                stats.refused++;
                const why =
                  reply.type === 'enqueueRequest'
                    ? `request ${requestId} not stored: strategy ${r.strategy.name} has a live request ${reply.existingRequestId}`
                    : reply.status === 'rejected'
                      ? `request ${requestId} refused by the data gate: ${reply.detail}`
                      : `request ${requestId} not stored: ${reply.error}`;
                letters.push(letter(ctx, m.frame, why, requestId, replayOf));
              }
            },
            (e: unknown) => {
              // The gate did not answer: whether it stored the request is unknown, so the frame is kept.
              stats.refused++;
              letters.push(letter(ctx, m.frame, `request ${requestId}: the data gate did not answer: ${(e as Error).message}`, requestId, replayOf));
            },
          );
        asked.push(ask);
      }
      await Promise.all(asked);
      if (letters.length > 0) {
        const outcomes = await writeCommands(ctx.system, config.writerPath, letters);
        for (const o of outcomes) if (o.type === 'insertDeadLetter' && o.status === 'inserted') stats.deadLettered++;
      }
      // A superseded request in flight no longer holds a slot of the sender's window.
      if (freed > 0) ctx.system.lookup(config.senderPath)?.tell({ kind: 'wake', freed, due: true });
      return state;
    },
    onStop: (state) => {
      state.closed = true;
      state.pull.close();
    },
    options: { batchSize: 1_024, throughput: 1_024, maxMessageRetries: 3, mailboxCapacity: 20_000 },
  };
}
