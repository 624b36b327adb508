/** The service over real sockets on 127.0.0.1: the test plays the runtime (PUSH requests, bound PULL for results). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Pull } from 'zeromq';
import { decodeBacktestResult, type BacktestRequest, type BacktestResult, type BacktestResultInput } from '../../protocol/index.ts';
import { echoEngine, echoMetrics, failingEngine, type BacktestEngine } from '../../backtester/engines.ts';
import { startBacktestService, type BacktestService } from '../../backtester/service.ts';
import { REFERENCE_REQUEST_FRAME, requestFrame, runtimeSide, type RuntimeSide } from './helpers.ts';
import { until, WAIT_DEADLINE_MS } from '../wait.ts';

let side: RuntimeSide | undefined;
let service: BacktestService | undefined;

afterEach(async () => {
  await service?.stop();
  side?.close();
  service = undefined;
  side = undefined;
});

async function setup(engine: BacktestEngine, concurrency?: number): Promise<{ side: RuntimeSide; service: BacktestService }> {
  side = await runtimeSide();
  service = await startBacktestService({ bind: 'tcp://127.0.0.1:0', resultEndpoint: side.resultEndpoint, engine, ...(concurrency === undefined ? {} : { concurrency }) });
  side.connect(service.requestEndpoint);
  return { side, service };
}

function decode(frame: string): BacktestResult {
  const r = decodeBacktestResult(frame);
  if (!r.ok) throw new Error(`undecodable result ${frame}: ${r.error.message}`);
  return r.value;
}

describe('backtest service', () => {
  it('binds an ephemeral port and reports the actual endpoint', async () => {
    const { service } = await setup(echoEngine);
    expect(service.requestEndpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(service.requestEndpoint).not.toMatch(/:0$/);
  });

  it('a request frame written exactly as the reference example gets a result whose request_id matches', async () => {
    const { side, service } = await setup(echoEngine);
    await side.send(REFERENCE_REQUEST_FRAME);
    const frame = await side.next();
    expect(frame.startsWith('((type . "BACKTEST_RESULT") (result . ((strategy_name . "Foo-OOS")')).toBe(true);
    const r = decode(frame);
    expect(r).toMatchObject({ kind: 'success', requestId: '0193b0b2-...', strategyName: 'Foo-OOS', trades: echoMetrics('Foo-OOS').trades });
    expect(r.kind === 'success' && r.tradeList!.length).toBeGreaterThan(0);
    expect(service.stats).toMatchObject({ received: 1, answered: 1, ignored: 0 });
  });

  it('frames that do not start with ( are ignored and never answered', async () => {
    const { side, service } = await setup(echoEngine);
    await side.send('PING');
    await side.send('{"request_id":"x"}');
    await side.send(requestFrame({ requestId: 'after-noise' }));
    await side.send(requestFrame({ requestId: 'marker' }));
    // Frames are handled in order, so an answer to the noise would come before these two.
    expect(decode(await side.next()).requestId).toBe('after-noise');
    expect(decode(await side.next()).requestId).toBe('marker');
    expect(service.stats).toMatchObject({ received: 4, answered: 2, ignored: 2 });
  });

  it('a frame without request_id gets the error result missing request_id with request_id MISSING', async () => {
    const { side } = await setup(echoEngine);
    await side.send(requestFrame());
    const frame = await side.next();
    expect(frame).toContain('(error . "missing request_id")');
    expect(frame).toContain('(request_id . "MISSING")');
    const r = decode(frame);
    expect(r).toMatchObject({ kind: 'error', error: 'missing request_id', retryable: false });
    expect(r.requestId).toBeUndefined(); // the codec reads "MISSING" as no id
  });

  it('a frame that does not decode gets S-Exp parse error', async () => {
    const { side } = await setup(echoEngine);
    await side.send(REFERENCE_REQUEST_FRAME.replace('(sl . 0.3)', '(sl . "wide")'));
    const r = decode(await side.next());
    expect(r).toMatchObject({ kind: 'error', requestId: '0193b0b2-...', category: 'bad-request' });
    expect(r.kind === 'error' && r.error).toMatch(/^S-Exp parse error: /);
  });

  it('an engine exception becomes the retryable error Guardian process failure', async () => {
    const logs: string[] = [];
    side = await runtimeSide();
    service = await startBacktestService({
      bind: 'tcp://127.0.0.1:0',
      resultEndpoint: side.resultEndpoint,
      engine: () => {
        throw new Error('boom');
      },
      log: (l) => logs.push(l),
    });
    side.connect(service.requestEndpoint);
    await side.send(requestFrame({ requestId: 'r-boom' }));
    expect(decode(await side.next())).toMatchObject({ kind: 'error', requestId: 'r-boom', strategyName: 'Foo-OOS', error: 'Guardian process failure', retryable: true });
    expect(service.stats.engineFailures).toBe(1);
    expect(logs.some((l) => l.includes('boom'))).toBe(true);
  });

  it('an engine error result is sent as an error result', async () => {
    const { side } = await setup(failingEngine('No data available'));
    await side.send(requestFrame({ requestId: 'r-nodata' }));
    expect(decode(await side.next())).toMatchObject({ kind: 'error', requestId: 'r-nodata', error: 'No data available', retryable: false, category: 'no-data' });
  });

  it('an engine answer of null is never sent', async () => {
    const engine: BacktestEngine = (req) => (req.requestId === 'lost' ? null : echoEngine(req));
    const { side, service } = await setup(engine);
    await side.send(requestFrame({ requestId: 'lost' }));
    await side.send(requestFrame({ requestId: 'kept' }));
    await side.send(requestFrame({ requestId: 'marker' }));
    // Requests are handled in order, so an answer to 'lost' would come before the later ones.
    expect(decode(await side.next()).requestId).toBe('kept');
    expect(decode(await side.next()).requestId).toBe('marker');
    expect(service.stats).toMatchObject({ received: 3, answered: 2, dropped: 1 });
  });

  it('by default requests are processed one at a time, in arrival order', async () => {
    const started: string[] = [];
    const release = new Map<string, () => void>();
    const engine: BacktestEngine = (req) =>
      new Promise<BacktestResultInput>((resolve) => {
        started.push(req.requestId);
        release.set(req.requestId, () => resolve(echoEngine(req) as BacktestResultInput));
      });
    const { side, service } = await setup(engine);
    for (const id of ['a', 'b', 'c']) await side.send(requestFrame({ requestId: id }));
    // Its one slot taken, the service reads no further frame until 'a' is done: b cannot start.
    await until(() => service.stats.waitingForSlot, 'the receive loop to wait for a slot');
    expect(started).toEqual(['a']);
    release.get('a')!();
    expect(decode(await side.next()).requestId).toBe('a');
    await until(() => started.length === 2, "'b' to start");
    release.get('b')!();
    await until(() => started.length === 3, "'c' to start");
    release.get('c')!();
    expect([decode(await side.next()).requestId, decode(await side.next()).requestId]).toEqual(['b', 'c']);
  });

  it('with concurrency N, up to N requests run at once and the next starts when one finishes', async () => {
    const started: string[] = [];
    const release = new Map<string, () => void>();
    const engine: BacktestEngine = (req: BacktestRequest) =>
      new Promise<BacktestResultInput>((resolve) => {
        started.push(req.requestId);
        release.set(req.requestId, () => resolve(echoEngine(req) as BacktestResultInput));
      });
    const { side, service } = await setup(engine, 2);
    for (const id of ['a', 'b', 'c']) await side.send(requestFrame({ requestId: id }));
    // Both slots taken, the service reads no further frame until one is freed: c cannot start.
    await until(() => service.stats.waitingForSlot, 'the receive loop to wait for a slot');
    expect(started).toEqual(['a', 'b']);
    release.get('b')!();
    expect(decode(await side.next()).requestId).toBe('b');
    await until(() => started.length === 3, "'c' to start");
    release.get('c')!();
    release.get('a')!();
    const rest = [decode(await side.next()).requestId, decode(await side.next()).requestId].sort();
    expect(rest).toEqual(['a', 'c']);
  });

  it('stop() closes both sockets without waiting for a request still running, or for any timer', async () => {
    const { side, service } = await setup(() => new Promise<null>(() => {}));
    await side.send(requestFrame({ requestId: 'forever' }));
    await until(() => service.stats.received === 1, 'the request to be received');
    // The engine never settles, and no timer can fire: stop() can resolve only by not waiting.
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] });
    try {
      await service.stop();
    } finally {
      vi.useRealTimers();
    }
    await service.stop(); // idempotent
    // The request socket is really closed: its port can be bound again (once ZeroMQ's I/O thread lets it go).
    const again = new Pull({ linger: 0 });
    await until(async () => {
      try {
        await again.bind(service.requestEndpoint);
        return true;
      } catch (e) {
        if (!/in use/i.test((e as Error).message)) throw e;
        return false;
      }
    }, 'the request port to be free');
    again.close();
  });

  it('the result endpoint may come up after the service: results wait in the queue', async () => {
    side = await runtimeSide();
    const late = side.resultEndpoint;
    side.close();
    service = await startBacktestService({ bind: 'tcp://127.0.0.1:0', resultEndpoint: late, engine: echoEngine });
    const pull = new Pull({ linger: 0, receiveTimeout: WAIT_DEADLINE_MS });
    side = await runtimeSide();
    side.connect(service.requestEndpoint);
    await side.send(requestFrame({ requestId: 'early' }));
    await until(() => service!.stats.received === 1, 'the request to be received');
    await pull.bind(late);
    try {
      const [msg] = await pull.receive();
      expect(decode(msg.toString()).requestId).toBe('early');
    } finally {
      pull.close();
    }
  });
});
