/**
 * data-gate: no OOS request reaches the outbox unless the candle file it names passes the data
 * gate, read as a whole (domain/candles, through a verdict cache so an unchanged file is read once
 * for all the strategies that use it).
 *
 * - valid: the request (its window filled in) is enqueued through the db-writer, the sender is
 *   woken, and the caller gets the enqueue outcome;
 * - invalid: nothing is enqueued; a `data_invalid` failure event records the problem classes and
 *   their first line numbers, the notifier is told at once, and the caller gets the verdict.
 *
 * The OOS window: the request's start_time/end_time when it has them; otherwise, with
 * `oosWindowDays`, the last that many days before the newest candle (the host's rule, 180 days):
 * end = the last timestamp, start = end - days * 86,400, and the file must cover it.
 */
import { basename, isAbsolute, join, resolve } from 'node:path';
import { ActorRef, kindGuard, isOptional, isRecord, isString, type ActorContext, type ActorPath } from '../runtime/index.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import type { EnqueueOutcome } from '../persistence/outbox.ts';
import type { StrategyInput } from '../persistence/strategies.ts';
import { validateBacktestRequest } from '../protocol/index.ts';
import { formatVerdict, resolveCheckOptions, validateCandleFileCached, VerdictCache, windowShortfalls } from '../domain/candles/index.ts';
import type { CandleVerdict, Issue, ProblemKind } from '../domain/candles/index.ts';
import { unreadableVerdict } from '../domain/candles/verdict.ts';
import type { OosRequestInput, RequestOrigin } from '../domain/request.ts';
import { ATTR, defaultTracing, failSpan, type OosTracing } from '../telemetry/tracing.ts';
import { CommandBatch } from './command-batch.ts';
import type { DbWriterMessage } from './db-writer.ts';
import { notify, type NotifierMessage } from './notifier.ts';
import type { SenderMessage } from './sender.ts';

// ---- protocol ----------------------------------------------------------------------------------

export interface GateEnqueue {
  readonly kind: 'enqueue';
  /** The strategy's name in the store (the request's own strategy name carries the -OOS suffix). */
  readonly strategyName: string;
  readonly request: OosRequestInput;
  /** Without start_time/end_time in the request: the window is the last this many days of data. */
  readonly oosWindowDays?: number;
  /** Caller-chosen id (idempotent enqueue); default: a new UUIDv7. */
  readonly requestId?: string;
  /** The caller's W3C traceparent: the request continues that trace. */
  readonly traceparent?: string;
  readonly replyTo?: ActorRef<GateReply>;
  /** Bridge mode: origin host, and a newer request supersedes the strategy's live one. */
  readonly origin?: RequestOrigin;
  readonly supersedeLive?: boolean;
  /** Inserted first, in the same commit, when the store has no strategy of that name. */
  readonly ensureStrategy?: StrategyInput;
}

export interface GateCheck {
  readonly kind: 'check';
  readonly file: string;
  /** Unix seconds. */
  readonly startTime?: number;
  readonly endTime?: number;
  readonly oosWindowDays?: number;
  readonly replyTo: ActorRef<GateCheckReply>;
}

export type DataGateMessage = GateEnqueue | GateCheck;

export const isDataGateMessage = kindGuard<DataGateMessage>({
  enqueue: (m) => isString(m.strategyName) && isRecord(m.request) && isOptional(m.traceparent, isString),
  // A check is answered: without a live reply address (a replayed one's is gone) it is refused.
  check: (m) => isString(m.file) && m.replyTo instanceof ActorRef,
});

export type GateRejected = { readonly type: 'dataGate'; readonly status: 'rejected'; readonly strategyName: string; readonly verdict: CandleVerdict; readonly detail: string };
/**
 * The request could not be judged or stored (bad window, database failure); nothing was enqueued.
 * `recorded`: the gate already wrote a failure event for it (a bad window), so callers need not.
 */
export type GateError = { readonly type: 'dataGate'; readonly status: 'error'; readonly strategyName: string; readonly error: string; readonly recorded: boolean };
export type GateReply = EnqueueOutcome | GateRejected | GateError;

export type GateCheckReply =
  | { readonly status: 'checked'; readonly verdict: CandleVerdict; readonly startTime?: number; readonly endTime?: number }
  | { readonly status: 'error'; readonly error: string };

// ---- configuration -----------------------------------------------------------------------------

export interface DataGateConfig {
  readonly writerPath: ActorPath<DbWriterMessage>;
  readonly senderPath: ActorPath<SenderMessage>;
  readonly notifierPath: ActorPath<NotifierMessage>;
  /** Shared with other gates or kept across restarts; default: one per gate incarnation. */
  readonly cache?: VerdictCache;
  /** Relative candle paths resolve here; without candles_file, `<dataDir>/<data_id or SYMBOL_M1>.csv`. */
  readonly dataDir?: string;
  readonly maxGapHours?: number;
  /** The same rejection (file and problem classes) is notified at most once per this period; default 1 h. */
  readonly renotifyMs?: number;
  /** The enqueue span of each request (the root of its trace, or a child of the caller's); default: the global provider's. */
  readonly tracing?: OosTracing;
}

export class GateStats {
  enqueueRequests = 0;
  checks = 0;
  enqueued = 0;
  /** Enqueue outcomes other than 'enqueued' (exists, duplicate_live). */
  notEnqueued = 0;
  rejected = 0;
  errors = 0;
  notified = 0;
  /** Rejections not notified because the same one was notified within renotifyMs (still recorded as failures). */
  notificationsSuppressed = 0;
  /** data_invalid events that could not be written (the database failed). */
  failureRecordErrors = 0;
  lastError: string | undefined;
}

interface GateState {
  readonly cache: VerdictCache;
  /** Last notification time and suppressed count per rejection signature. */
  readonly notified: Map<string, { at: number; suppressed: number }>;
}

const DAY_S = 86_400;
const DETAIL_MAX = 2_000;

/** When a turn's batch was handed to the db-writer and when it answered (0: not written). */
interface CommitTimes {
  from: number;
  to: number;
  size: number;
}

/** One line per problem class with its count and first line numbers (or first message when it has none). */
export function verdictDetail(v: CandleVerdict): string {
  const parts = v.problems.map((p: Issue<ProblemKind>) => {
    const where = p.lines.length > 0 ? `lines ${p.lines.join(', ')}${p.count > p.lines.length ? ', ...' : ''}` : (p.examples[0] ?? '');
    return `${p.kind} x${p.count}${where ? ` (${where})` : ''}`;
  });
  const text = `${v.file}: ${parts.join('; ') || 'invalid'}`;
  return text.length <= DETAIL_MAX ? text : `${text.slice(0, DETAIL_MAX - 3)}...`;
}

/** The candle file a request names, resolved against dataDir. */
export function candlesPathOf(request: OosRequestInput, dataDir?: string): string | undefined {
  const f = request.candlesFile;
  if (f !== undefined && f !== '') return dataDir !== undefined && !isAbsolute(f) ? resolve(dataDir, f) : f;
  if (dataDir === undefined) return undefined;
  return join(dataDir, `${request.dataId ?? `${request.symbol}_M1`}.csv`);
}

export interface JudgedWindow {
  verdict: CandleVerdict;
  startTime?: number;
  endTime?: number;
}

/** Validates `file` for a window given outright, or derived from the data (last `days` days). */
export async function judgeFile(
  file: string,
  window: { startTime?: number; endTime?: number; oosWindowDays?: number },
  cache: VerdictCache,
  maxGapHours?: number,
): Promise<JudgedWindow> {
  const { startTime, endTime, oosWindowDays: days } = window;
  if (startTime !== undefined || endTime !== undefined || days === undefined) {
    const verdict = await validateCandleFileCached(file, { startTime: startTime ?? null, endTime: endTime ?? null, maxGapHours }, cache);
    return { verdict, startTime, endTime };
  }
  if (!(Number.isFinite(days) && days > 0)) throw new RangeError(`oosWindowDays must be a positive number of days, got ${days}`);
  // The whole-file verdict is cached without a window, so every strategy on this file shares it;
  // the derived window's coverage is then a comparison, not a second read.
  const whole = await validateCandleFileCached(file, { maxGapHours }, cache);
  if (!whole.valid || whole.firstTimestamp === null || whole.lastTimestamp === null) return { verdict: whole };
  const end = whole.lastTimestamp;
  const start = end - Math.round(days * DAY_S);
  const shortfalls = windowShortfalls(whole.firstTimestamp, end, start, end);
  const verdict: CandleVerdict = {
    ...whole,
    window: { startTime: start, endTime: end },
    valid: shortfalls.length === 0,
    problems: shortfalls.length === 0 ? whole.problems : [...whole.problems, { kind: 'window-not-covered', count: shortfalls.length, lines: [], examples: shortfalls.map((s) => `${s} (last ${days} days of data)`) }],
  };
  return { verdict, startTime: start, endTime: end };
}

export function dataGate(config: DataGateConfig, stats = new GateStats()): ActorDefinition<GateState, DataGateMessage> {
  const renotifyMs = config.renotifyMs ?? 3_600_000;
  const tracing = config.tracing ?? defaultTracing;

  const alert = (state: GateState, ctx: ActorContext<DataGateMessage>, strategyName: string, verdict: CandleVerdict) => {
    const now = ctx.clock.now();
    const signature = JSON.stringify([verdict.file, verdict.problems.map((p) => [p.kind, p.count])]);
    const last = state.notified.get(signature);
    if (last && now - last.at < renotifyMs) {
      last.suppressed++;
      stats.notificationsSuppressed++;
      return;
    }
    const more = last && last.suppressed > 0 ? `\n(${last.suppressed} more rejection(s) of this file for the same problems since the last alert)` : '';
    state.notified.set(signature, { at: now, suppressed: 0 });
    stats.notified++;
    notify(ctx.system, config.notifierPath, {
      severity: 'critical',
      topic: 'gate_rejected',
      key: signature,
      title: `OOS data rejected: ${basename(verdict.file)}`,
      body: `OOS request for ${strategyName} blocked by the data gate; nothing was sent.\n${formatVerdict(verdict)}${more}`,
      at: now,
    });
  };

  /**
   * Judges one enqueue request; what it needs written is added to `batch`, and the returned
   * function, once the batch was written (or failed), answers the caller.
   */
  const planEnqueue = async (
    state: GateState,
    m: GateEnqueue,
    ctx: ActorContext<DataGateMessage>,
    judge: (file: string) => Promise<JudgedWindow>,
    batch: CommandBatch,
    commit: CommitTimes,
  ): Promise<() => boolean> => {
    stats.enqueueRequests++;
    const enqueueSpan = tracing.startEnqueue(m.strategyName, m.traceparent);
    const span = enqueueSpan.span;
    /** Ends the enqueue span once the caller is answered: its commit as an event, a refusal as an error. */
    const endSpan = (outcome: string, failure?: { kind: string; error: string }) => {
      if (failure) failSpan(span, failure.kind, failure.error);
      span.setAttribute(ATTR.outcome, outcome);
      if (commit.to > 0) tracing.commit(span, commit.from, commit.to, commit.size);
      span.end();
    };
    const reply = (r: GateReply) => m.replyTo?.tell(r);
    // A request the wire cannot carry would only die at its first send: refuse it here, at once.
    const malformed = validateBacktestRequest({ ...m.request, requestId: m.requestId ?? 'to-be-assigned' });
    if (malformed !== undefined) {
      const error = `the OOS request for ${m.strategyName} is not a valid BACKTEST request: ${malformed.message}`;
      stats.errors++;
      stats.lastError = error;
      return () => {
        endSpan('error', { kind: 'invalid_request', error });
        reply({ type: 'dataGate', status: 'error', strategyName: m.strategyName, error, recorded: false });
        return false;
      };
    }
    const file = candlesPathOf(m.request, config.dataDir);
    const failure = (detail: string) => {
      const recording = batch.add({ type: 'recordFailure', kind: 'data_invalid', source: ctx.path, detail });
      return () => {
        const o = recording.outcome();
        if (o.status === 'recorded') return true;
        stats.failureRecordErrors++;
        stats.lastError = `recording data_invalid failed: ${o.error}`;
        return false;
      };
    };
    let judged: JudgedWindow;
    const gateSpan = tracing.startChild(span, 'data_gate check', undefined, file === undefined ? undefined : { 'shoal.candles_file': file });
    try {
      if (file === undefined) {
        const resolved = resolveCheckOptions({});
        judged = { verdict: unreadableVerdict('(none)', `the request for ${m.strategyName} names no candles_file and the gate has no dataDir`, resolved, 0) };
      } else {
        judged = await judge(file);
      }
    } catch (e) {
      // A malformed window is the caller's error: counted as invalid data, not sent.
      const error = `strategy=${m.strategyName} file=${file}: ${(e as Error).message}`;
      stats.errors++;
      stats.lastError = error;
      const recorded = failure(error);
      failSpan(gateSpan, 'data_gate_error', error);
      gateSpan.end();
      return () => {
        endSpan('error', { kind: 'data_gate_error', error });
        reply({ type: 'dataGate', status: 'error', strategyName: m.strategyName, error, recorded: recorded() });
        return false;
      };
    }
    const { verdict } = judged;
    gateSpan.setAttribute('shoal.data_gate.valid', verdict.valid);
    if (!verdict.valid) {
      stats.rejected++;
      const detail = `strategy=${m.strategyName} ${verdictDetail(verdict)}`;
      failSpan(gateSpan, 'data_invalid', detail);
      gateSpan.end();
      alert(state, ctx, m.strategyName, verdict);
      const recorded = failure(detail);
      return () => {
        recorded();
        endSpan('rejected', { kind: 'data_invalid', error: detail });
        reply({ type: 'dataGate', status: 'rejected', strategyName: m.strategyName, verdict, detail });
        return false;
      };
    }
    gateSpan.end();
    const payload = { ...m.request, candlesFile: file, startTime: judged.startTime, endTime: judged.endTime };
    if (m.ensureStrategy !== undefined) batch.add({ type: 'ensureStrategy', strategy: m.ensureStrategy });
    const enqueue = batch.add({
      type: 'enqueueRequest',
      strategyName: m.strategyName,
      payload: payload as unknown as Record<string, unknown>,
      // A caller's trace is continued (same trace id, a span of our own: the enqueue span, or a
      // fresh span id when nothing records spans); otherwise a new one.
      traceparent: enqueueSpan.traceparent,
      requestId: m.requestId,
      ...(m.origin === undefined ? {} : { origin: m.origin }),
      ...(m.supersedeLive === undefined ? {} : { supersedeLive: m.supersedeLive }),
    });
    return () => {
      const outcome = enqueue.outcome();
      if (outcome.status === 'error') {
        const error = `enqueue of the OOS request for ${m.strategyName} failed: ${outcome.error}`;
        stats.errors++;
        stats.lastError = error;
        endSpan('error', { kind: 'store_error', error });
        reply({ type: 'dataGate', status: 'error', strategyName: m.strategyName, error, recorded: false });
        return false;
      }
      if (outcome.status === 'enqueued') stats.enqueued++;
      else stats.notEnqueued++;
      if (outcome.status !== 'duplicate_live') span.setAttribute(ATTR.messageId, outcome.requestId);
      endSpan(outcome.status);
      reply(outcome);
      return outcome.status === 'enqueued';
    };
  };

  const check = async (state: GateState, m: GateCheck): Promise<void> => {
    stats.checks++;
    try {
      const file = config.dataDir !== undefined && !isAbsolute(m.file) ? resolve(config.dataDir, m.file) : m.file;
      const judged = await judgeFile(file, m, state.cache, config.maxGapHours);
      m.replyTo.tell({ status: 'checked', ...judged });
    } catch (e) {
      m.replyTo.tell({ status: 'error', error: `check of ${m.file}: ${(e as Error).message}` });
    }
  };

  return {
    accepts: isDataGateMessage,
    init: () => ({ cache: config.cache ?? new VerdictCache(), notified: new Map() }),
    // Every request of a turn is judged (each distinct file and window once) and written in one
    // db-writer call, so a burst of enqueues costs one commit, not one each.
    receiveBatch: async (state, msgs, ctx) => {
      const judged = new Map<string, Promise<JudgedWindow>>();
      const batch = new CommandBatch();
      const commit: CommitTimes = { from: 0, to: 0, size: 0 };
      const answers: (() => boolean)[] = [];
      for (const msg of msgs) {
        if (msg.kind === 'check') {
          await check(state, msg);
          continue;
        }
        // Unknown messages crash the handler so the kernel dead-letters them instead of dropping them.
        if (msg.kind !== 'enqueue') throw new TypeError(`data-gate ${ctx.path}: unknown message kind ${String((msg as { kind?: unknown }).kind)}`);
        const window = { startTime: msg.request.startTime, endTime: msg.request.endTime, oosWindowDays: msg.oosWindowDays };
        const judge = (file: string) => {
          const key = JSON.stringify([file, window.startTime, window.endTime, window.oosWindowDays]);
          let j = judged.get(key);
          if (!j) judged.set(key, (j = judgeFile(file, window, state.cache, config.maxGapHours)));
          return j;
        };
        answers.push(await planEnqueue(state, msg, ctx, judge, batch, commit));
      }
      // A write that did not commit is an answer too: each caller is told why.
      if (batch.size > 0) {
        commit.from = ctx.clock.now();
        commit.size = batch.size;
        await batch.write(ctx.system, config.writerPath).then(
          () => void (commit.to = ctx.clock.now()),
          (e: unknown) => batch.fail(e),
        );
      }
      let enqueued = 0;
      for (const answer of answers) if (answer()) enqueued++;
      if (enqueued > 0) ctx.system.lookup(config.senderPath)?.tell({ kind: 'wake' });
      return state;
    },
  };
}
