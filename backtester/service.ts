/**
 * A backtest service that speaks the host's protocol: PULL bound for requests, PUSH connected to
 * the runtime's result socket, one S-expression frame per message.
 *
 * Per frame, like the host's service:
 *   - a frame whose first byte is not `(` is ignored (counted, never answered), leading
 *     whitespace included: the host tests the first character;
 *   - a frame without a readable request_id is answered `missing request_id` with request_id
 *     "MISSING";
 *   - any other frame that does not decode is answered `S-Exp parse error: <reason>`, with the
 *     request_id when one can be read from it, else "MISSING";
 *   - a request is handed to the engine; an engine that throws (or rejects) is answered
 *     `Guardian process failure`; an engine answer of null is never sent.
 * Up to `concurrency` requests run at once, its engine workers (default 1 here; the command line
 * defaults to the host's worker count, see transport/service-capacity.ts); no further frame is
 * taken off the socket while all slots are busy, so excess requests wait in ZeroMQ's queue, as
 * they wait in the host service's own queue beyond its workers. Results go out one at a time
 * (zeromq.js allows one pending send per socket).
 */
import { Pull, Push } from 'zeromq';
import { curveProblems, curveSocketOptions, describeRefusal, watchHandshakes, type CurveClient, type CurveKeyPair, type HandshakeRefusal } from '../transport/curve.ts';
import { curveServerSocket } from '../transport/zap.ts';
import {
  MISSING_REQUEST_ID,
  decodeBacktestRequest,
  encodeBacktestResult,
  parseSExpr,
  SDotted,
  SSymbol,
  type BacktestRequest,
  type BacktestResultInput,
  type SExpr,
} from '../protocol/index.ts';
import type { BacktestEngine } from './engines.ts';

export type { BacktestEngine } from './engines.ts';

export const MISSING_REQUEST_ID_ERROR = 'missing request_id';
export const PARSE_ERROR = 'S-Exp parse error';
export const ENGINE_FAILURE = 'Guardian process failure';

export interface BacktestServiceOptions {
  /** Request PULL bind endpoint; a port of 0 or `*` binds an ephemeral port. */
  readonly bind: string;
  /** Where the result PUSH connects (the runtime's bound PULL). */
  readonly resultEndpoint: string;
  readonly engine: BacktestEngine;
  /** Requests processed at once (engine workers); default 1. */
  readonly concurrency?: number;
  /** Diagnostics (engine exceptions, send failures, refused connections); default silent. */
  readonly log?: (line: string) => void;
  /**
   * CURVE on both sockets (default plain TCP, as the host's service speaks): the request PULL lets
   * in only `allowedClientKeys` (the runtime's public key), the result PUSH talks only to a runtime
   * holding `serverKey`.
   */
  readonly curve?: { readonly keys: CurveKeyPair; readonly allowedClientKeys: readonly string[]; readonly serverKey: string };
}

export interface BacktestServiceStats {
  /** Frames taken off the request socket. */
  received: number;
  /** Result frames sent. */
  answered: number;
  /** Frames not starting with `(`. */
  ignored: number;
  /** Requests the engine answered null (never answered). */
  dropped: number;
  /** Engine exceptions (answered `Guardian process failure`). */
  engineFailures: number;
  /** Frames answered with `missing request_id` or `S-Exp parse error`. */
  rejected: number;
  /** True while every slot is busy: the receive loop then reads no frame until one is freed. */
  waitingForSlot: boolean;
}

export interface BacktestService {
  /** The bound request endpoint, e.g. `tcp://127.0.0.1:41234`. */
  readonly requestEndpoint: string;
  readonly resultEndpoint: string;
  readonly stats: Readonly<BacktestServiceStats>;
  /** Closes both sockets (pending results are dropped: linger 0). Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Triage: what to do with one frame (pure).

export type FrameTriage =
  | { readonly kind: 'ignore' }
  | { readonly kind: 'request'; readonly request: BacktestRequest }
  | { readonly kind: 'reject'; readonly result: BacktestResultInput };

/** The host's test, literally: the first byte is `(` (the codec refuses anything else too). */
function startsWithParen(frame: Uint8Array | string): boolean {
  return frame.length > 0 && (typeof frame === 'string' ? frame.charCodeAt(0) : frame[0]) === 0x28;
}

function keyOf(x: SExpr): string | undefined {
  const head = x instanceof SDotted ? x.items[0] : Array.isArray(x) && x.length > 0 ? x[0] : undefined;
  return head instanceof SSymbol ? head.name.replaceAll('-', '_') : undefined;
}

/** The scalar of `(key . v)` / `(key v)`. */
function scalarOf(x: SExpr): SExpr | undefined {
  if (x instanceof SDotted) return x.items.length === 1 ? x.tail : undefined;
  return Array.isArray(x) && x.length === 2 ? x[1] : undefined;
}

function entriesOf(x: SExpr, key: string): SExpr[] {
  if (!Array.isArray(x)) return [];
  for (const e of x) if (keyOf(e) === key && Array.isArray(e)) return e.length === 2 && Array.isArray(e[1]) ? (e[1] as SExpr[]) : e.slice(1);
  return [];
}

function stringField(entries: SExpr[], key: string): string | undefined {
  for (const e of entries) {
    if (keyOf(e) !== key) continue;
    const v = scalarOf(e);
    return typeof v === 'string' && v.length > 0 ? v : undefined;
  }
  return undefined;
}

/** Best-effort request id and strategy name of a frame that did not decode. */
export function salvageIds(frame: Uint8Array | string): { parsed: boolean; requestId?: string; strategyName?: string } {
  const tree = parseSExpr(frame);
  if (!tree.ok || !Array.isArray(tree.value)) return { parsed: tree.ok };
  const top = tree.value;
  const requestId = stringField(top, 'request_id');
  const strategyName = stringField(entriesOf(top, 'strategy'), 'name');
  return { parsed: true, ...(requestId === undefined ? {} : { requestId }), ...(strategyName === undefined ? {} : { strategyName }) };
}

export function triageFrame(frame: Uint8Array | string): FrameTriage {
  if (!startsWithParen(frame)) return { kind: 'ignore' };
  const decoded = decodeBacktestRequest(frame);
  if (decoded.ok) return { kind: 'request', request: decoded.value };
  const ids = salvageIds(frame);
  const name = ids.strategyName === undefined ? {} : { strategyName: ids.strategyName };
  if (decoded.error.path === 'request_id' || (ids.parsed && ids.requestId === undefined)) {
    return { kind: 'reject', result: { kind: 'error', requestId: MISSING_REQUEST_ID, ...name, error: MISSING_REQUEST_ID_ERROR } };
  }
  return { kind: 'reject', result: { kind: 'error', requestId: ids.requestId ?? MISSING_REQUEST_ID, ...name, error: `${PARSE_ERROR}: ${decoded.error.message}` } };
}

/** Fills what an engine's error result left out (request id, strategy name) from the request. */
function completeResult(req: BacktestRequest, r: BacktestResultInput): BacktestResultInput {
  if (r.kind !== 'error' || (r.requestId !== undefined && r.strategyName !== undefined)) return r;
  return { ...r, requestId: r.requestId ?? req.requestId, strategyName: r.strategyName ?? req.strategy.name };
}

// ---------------------------------------------------------------------------------------------
// The service

export async function startBacktestService(options: BacktestServiceOptions): Promise<BacktestService> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const log = options.log ?? (() => {});
  const stats: BacktestServiceStats = { received: 0, answered: 0, ignored: 0, dropped: 0, engineFailures: 0, rejected: 0, waitingForSlot: false };

  const curve = options.curve;
  const client: CurveClient | undefined = curve && { role: 'client', keys: curve.keys, serverKey: curve.serverKey };
  const clientProblems = client ? curveProblems(client) : [];
  if (clientProblems.length > 0) throw new Error(`cannot use CURVE on the result socket: ${clientProblems.join('; ')}`);
  let requestEndpoint = options.bind;
  const refused = (r: HandshakeRefusal) => log(describeRefusal(r));
  const server = curve ? await curveServerSocket({ role: 'server', keys: curve.keys, allowedClientKeys: curve.allowedClientKeys }, 'request', () => requestEndpoint, refused) : undefined;
  const pull = new Pull({ linger: 0, ...server?.options });
  if (server) watchHandshakes(pull, () => requestEndpoint, 'server', refused);
  try {
    await pull.bind(options.bind.replace(/:0$/, ':*'));
  } catch (e) {
    pull.close();
    server?.release();
    throw new Error(`cannot bind request socket ${options.bind}: ${(e as Error).message}`);
  }
  const push = new Push({ linger: 0, ...(client ? curveSocketOptions(client) : {}) });
  if (client) watchHandshakes(push, () => options.resultEndpoint, 'client', refused);
  try {
    push.connect(options.resultEndpoint);
  } catch (e) {
    pull.close();
    push.close();
    server?.release();
    throw new Error(`cannot connect result socket ${options.resultEndpoint}: ${(e as Error).message}`);
  }
  requestEndpoint = pull.lastEndpoint ?? options.bind;

  let stopping = false;
  let sendChain: Promise<void> = Promise.resolve();
  const send = (result: BacktestResultInput): Promise<void> => {
    const frame = encodeBacktestResult(result);
    const next = sendChain.then(async () => {
      if (stopping || push.closed) return;
      try {
        await push.send(frame);
        stats.answered++;
      } catch (e) {
        if (!stopping) log(`result for ${result.requestId ?? MISSING_REQUEST_ID} not sent: ${(e as Error).message}`);
      }
    });
    sendChain = next;
    return next;
  };

  const handle = async (frame: Buffer): Promise<void> => {
    const t = triageFrame(frame);
    if (t.kind === 'ignore') {
      stats.ignored++;
      return;
    }
    if (t.kind === 'reject') {
      stats.rejected++;
      await send(t.result);
      return;
    }
    const req = t.request;
    let result: BacktestResultInput | null;
    try {
      result = await options.engine(req);
    } catch (e) {
      stats.engineFailures++;
      log(`engine failed on ${req.requestId} (${req.strategy.name}): ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      result = { kind: 'error', requestId: req.requestId, strategyName: req.strategy.name, error: ENGINE_FAILURE };
    }
    if (result === null) {
      stats.dropped++;
      return;
    }
    if (stopping) return;
    await send(completeResult(req, result));
  };

  // Slots: the receive loop takes a frame only when one is free.
  let inFlight = 0;
  let wakeReceiver: (() => void) | undefined;
  const release = (): void => {
    inFlight--;
    const w = wakeReceiver;
    wakeReceiver = undefined;
    w?.();
  };
  let stopSignal!: () => void;
  const stopped = new Promise<void>((resolve) => {
    stopSignal = resolve;
  });

  const receiveLoop = async (): Promise<void> => {
    while (!stopping) {
      if (inFlight >= concurrency) {
        stats.waitingForSlot = true;
        await Promise.race([new Promise<void>((resolve) => (wakeReceiver = resolve)), stopped]);
        stats.waitingForSlot = false;
        continue;
      }
      let frame: Buffer;
      try {
        [frame] = await pull.receive();
      } catch (e) {
        if (stopping || pull.closed) return;
        log(`receive failed: ${(e as Error).message}`);
        continue;
      }
      stats.received++;
      inFlight++;
      void handle(frame)
        .catch((e: unknown) => log(`request handling failed: ${String(e)}`))
        .finally(release);
    }
  };
  const loop = receiveLoop();

  let stopPromise: Promise<void> | undefined;
  return {
    requestEndpoint,
    resultEndpoint: options.resultEndpoint,
    stats,
    stop(): Promise<void> {
      stopPromise ??= (async () => {
        stopping = true;
        stopSignal();
        if (!pull.closed) pull.close();
        if (!push.closed) push.close();
        server?.release();
        await loop;
      })();
      return stopPromise;
    },
  };
}
