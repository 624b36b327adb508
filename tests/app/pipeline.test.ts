import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../runtime/index.ts';
import { echoEngine, failingEngine, type BacktestEngine } from '../../backtester/engines.ts';
import { encodeBacktestResult, type BacktestRequest } from '../../protocol/index.ts';
import { countByState, getRequest, listRequests } from '../../persistence/outbox.ts';
import { listDeadLetters } from '../../persistence/dead-letters.ts';
import { getResult } from '../../persistence/results.ts';
import { getStrategy } from '../../persistence/strategies.ts';
import { count, useTempStores } from '../persistence/helpers.ts';
import { pipeline, rawResultPush, rawService, requestInput, until, hostStrategy } from './pipeline-harness.ts';

const temp = useTempStores();

function success(req: BacktestRequest, sharpe = 0.52) {
  return encodeBacktestResult({
    kind: 'success',
    requestId: req.requestId,
    strategyName: req.strategy.name,
    trades: 212,
    wins: 118,
    losses: 94,
    pnl: 3.21,
    sharpe,
    sortino: 0.8,
    maxDrawdown: 0.031,
    winRate: 0.5566,
    profitFactor: 1.34,
  });
}

/** A service engine whose first request gets an error result with `error`; every later one, an echo. */
function failsOnceThenEchoes(error: string): BacktestEngine {
  let calls = 0;
  return (req) => (calls++ === 0 ? failingEngine(error)(req) : echoEngine(req));
}

describe('the OOS pipeline over real sockets', () => {
  it('sends a request byte-compatible with the host reference, with the trace context appended', async () => {
    const p = await pipeline(temp.dir());
    const service = await rawService(p.requestEndpoint);
    await p.connected();
    await p.shoal.upsertStrategies([hostStrategy('Foo')]);
    await p.shoal.enqueue('Foo', {
      strategy: { name: 'Foo-OOS', smaShort: 5, smaLong: 20, sl: 0.3, tp: 0.6, volume: 0.01, indicatorType: 'sma', timeframe: 60 },
      dataId: 'USDJPY_M1',
      candlesFile: p.candles,
      symbol: 'USDJPY',
      timeframe: 60,
      startTime: 1700000000,
      endTime: 1700005940,
      includeTrades: true,
    }, { requestId: '0193b0b2-0000-7000-8000-000000000001' });
    await p.waitFor(() => service.frames.length === 1, 'the request frame');
    expect(service.frames[0].replace(p.candles, 'CANDLES')).toMatch(
      /^\(\(action \. "BACKTEST"\) \(strategy \(name \. "Foo-OOS"\) \(sma_short \. 5\) \(sma_long \. 20\) \(sl \. 0\.3\) \(tp \. 0\.6\) \(volume \. 0\.01\) \(indicator_type \. sma\) \(timeframe \. 60\)\) \(request_id \. "0193b0b2-0000-7000-8000-000000000001"\) \(data_id "USDJPY_M1"\) \(candles_file "CANDLES"\) \(symbol \. "USDJPY"\) \(timeframe 60\) \(start_time 1700000000\) \(end_time 1700005940\) \(include_trades \. t\) \(traceparent \. "00-[0-9a-f]{32}-[0-9a-f]{16}-01"\)\)$/,
    );
    service.close();
    await p.close();
  });

  it('completes a request with one result: result row, strategy OOS metrics, outbox done', async () => {
    const p = await pipeline(temp.dir(), { engine: echoEngine });
    await p.shoal.upsertStrategies([hostStrategy('A1')]);
    const o = await p.shoal.enqueue('A1', requestInput('A1'));
    if (o.status !== 'enqueued') throw new Error('not enqueued');
    await until(() => getRequest(p.reader, o.requestId)?.state === 'done', 'the request to be done');
    const result = getResult(p.reader, o.requestId);
    expect(result).toBeDefined();
    const s = getStrategy(p.reader, 'A1')!;
    expect(s.oosRequestId).toBe(o.requestId);
    expect(s.oosSharpe).toBe(result!.sharpe);
    expect(count(p.reader, 'oos_results')).toBe(1);
    await p.close();
  });

  it('gives a duplicate result no effect, and a result for an unknown request becomes a recorded, dead-lettered orphan', async () => {
    const p = await pipeline(temp.dir());
    const service = await rawService(p.requestEndpoint);
    await p.connected();
    await p.shoal.upsertStrategies([hostStrategy('D1')]);
    const o = await p.shoal.enqueue('D1', requestInput('D1'));
    if (o.status !== 'enqueued') throw new Error('not enqueued');
    await p.waitFor(() => service.frames.length === 1, 'the request frame');
    const push = await rawResultPush(p.resultEndpoint);
    const req = { requestId: o.requestId, strategy: { name: 'D1-OOS' } } as BacktestRequest;
    await push.send(success(req));
    await until(() => getRequest(p.reader, o.requestId)?.state === 'done', 'done');
    const seqAfterFirst = getStrategy(p.reader, 'D1')!.changeSeq;
    await push.send(success(req, 9.9));
    await push.send(success({ requestId: '0193b0b2-dead-7000-8000-00000000beef', strategy: { name: 'X' } } as BacktestRequest));
    await until(() => p.shoal.stats.results.orphans === 1 && p.shoal.stats.results.duplicates === 1, 'the duplicate and the orphan');
    expect(getStrategy(p.reader, 'D1')!).toMatchObject({ oosSharpe: 0.52, changeSeq: seqAfterFirst });
    expect(count(p.reader, 'oos_results')).toBe(1);
    await until(() => listDeadLetters(p.reader, { source: '/shoal/pipeline/result-handler' }).length === 1, 'the orphan dead letter');
    expect(listDeadLetters(p.reader, { source: '/shoal/pipeline/result-handler' })[0].error).toMatch(/orphan result/);
    expect(count(p.reader, 'failure_events', "kind = 'orphan_result'")).toBe(1);
    push.close();
    service.close();
    await p.close();
  });

  it('retries a request whose lease ran out under the same id, and a late result of the first attempt completes it once', async () => {
    const clock = new ManualClock(Date.now());
    const p = await pipeline(temp.dir(), { clock, config: { leaseMs: 5_000 } });
    const service = await rawService(p.requestEndpoint);
    await p.connected();
    await p.shoal.upsertStrategies([hostStrategy('L1')]);
    const o = await p.shoal.enqueue('L1', requestInput('L1'));
    if (o.status !== 'enqueued') throw new Error('not enqueued');
    await p.waitFor(() => service.frames.length === 1, 'the first attempt');
    clock.advance(6_000); // lease runs out -> timed out, retried with backoff
    await until(() => getRequest(p.reader, o.requestId)?.state === 'pending', 'the timeout');
    expect(getRequest(p.reader, o.requestId)!.lastError).toMatch(/no result within the 5000 ms lease/);
    clock.advance(5_000); // past the backoff (1 s +-20%), under the 30 s query timeout: the second attempt is sent
    await p.waitFor(() => service.frames.length === 2, 'the second attempt');
    expect(service.frames[1]).toBe(service.frames[0]); // same request id, same frame
    const push = await rawResultPush(p.resultEndpoint);
    const req = { requestId: o.requestId, strategy: { name: 'L1-OOS' } } as BacktestRequest;
    await push.send(success(req)); // the late answer to attempt 1
    await push.send(success(req)); // the answer to attempt 2
    await until(() => p.shoal.stats.results.duplicates === 1, 'the second answer');
    expect(getRequest(p.reader, o.requestId)).toMatchObject({ state: 'done', attempts: 2 });
    expect(getResult(p.reader, o.requestId)).toBeDefined();
    expect(count(p.reader, 'oos_results')).toBe(1);
    expect(count(p.reader, 'failure_events', "kind = 'timeout'")).toBe(1);
    push.close();
    service.close();
    await p.close();
  });

  it('waits for a service that is down at start and sends when it appears, without spinning', async () => {
    // The sender's pause runs on this clock, which stands still unless the test moves it: a sender
    // that spun would show as more failed sends, whatever the machine's speed.
    const clock = new ManualClock(Date.now());
    const p = await pipeline(temp.dir(), { clock });
    await p.shoal.upsertStrategies([hostStrategy('W1'), hostStrategy('W2')]);
    const ids: string[] = [];
    for (const n of ['W1', 'W2']) {
      const o = await p.shoal.enqueue(n, requestInput(n));
      if (o.status !== 'enqueued') throw new Error('not enqueued');
      ids.push(o.requestId);
    }
    await until(() => p.shoal.stats.sender.sendFailures >= 1, 'a failed send');
    await p.shoal.system.whenIdle();
    expect(p.shoal.stats.sender.sendFailures).toBe(1); // paused with backoff, not spinning
    expect(listRequests(p.reader, 'dead')).toHaveLength(0);
    await p.startService(echoEngine);
    // The service appearing ends the pause at once, the clock unmoved: the request not yet tried goes out.
    await until(() => getRequest(p.reader, ids[1])?.state === 'done', 'W2, sent as the service appeared');
    clock.advance(5_000); // W1's failed attempt waits out its retry backoff (1 s +-20%)
    await until(() => getRequest(p.reader, ids[0])?.state === 'done', 'W1, retried after its backoff');
    expect(count(p.reader, 'failure_events', "kind = 'send_failure'")).toBe(1);
    await p.close();
  });

  it('times out and retries requests when the service dies mid-flight, and completes them once it is back', async () => {
    const clock = new ManualClock(Date.now());
    let answer = false;
    const engine: BacktestEngine = (req) => (answer ? echoEngine(req) : null);
    // All three in flight at once: the window says so (the default is the machine's worker count).
    const p = await pipeline(temp.dir(), { clock, engine, config: { leaseMs: 5_000, window: 3 } });
    const names = ['K1', 'K2', 'K3'];
    await p.shoal.upsertStrategies(names.map((n) => hostStrategy(n)));
    for (const n of names) await p.shoal.enqueue(n, requestInput(n));
    await p.waitFor(() => p.service!.stats.received === 3, 'the service to receive all three');
    await p.stopService();
    clock.advance(6_000);
    await until(() => countByState(p.reader).pending === 3, 'three timeouts');
    answer = true;
    await p.startService(engine);
    clock.advance(5_000);
    await p.waitFor(() => countByState(p.reader).done === 3, 'all three done');
    for (const r of listRequests(p.reader, 'done', 10)) {
      expect(r.attempts).toBeGreaterThanOrEqual(2);
      expect(r.history.some((h) => h.outcome === 'timeout')).toBe(true);
    }
    expect(count(p.reader, 'oos_results')).toBe(3);
    await p.close();
  });

  it('dead-letters a request after maxAttempts when the service never answers, with its attempt history', async () => {
    const clock = new ManualClock(Date.now());
    const p = await pipeline(temp.dir(), { clock, engine: () => null, config: { leaseMs: 1_000, retry: { maxAttempts: 3, backoff: { minMs: 100, maxMs: 100, factor: 1, jitter: 0, resetAfterMs: 0, firstImmediate: false } } } });
    await p.shoal.upsertStrategies([hostStrategy('N1')]);
    const o = await p.shoal.enqueue('N1', requestInput('N1'));
    if (o.status !== 'enqueued') throw new Error('not enqueued');
    for (let attempt = 1; attempt <= 3; attempt++) {
      await p.waitFor(() => p.service!.stats.received === attempt, `attempt ${attempt}`);
      clock.advance(1_500); // the lease runs out
      await until(() => getRequest(p.reader, o.requestId)!.state !== 'in_flight', `timeout ${attempt}`);
      if (attempt < 3) clock.advance(1_500); // past the 100 ms backoff, to the next tick
    }
    await until(() => getRequest(p.reader, o.requestId)?.state === 'dead', 'dead');
    const [letter] = listDeadLetters(p.reader, { requestId: o.requestId });
    expect(letter.source).toBe('/shoal/pipeline/sender');
    expect(letter.error).toMatch(/3 of 3 attempts used/);
    expect((letter.message as { history: unknown[] }).history).toHaveLength(3);
    await p.close();
  });

  it('keeps in-flight requests at or under the window with a service 10x slower than the producer, while the outbox grows', async () => {
    let release = 0;
    const engine: BacktestEngine = async (req) => {
      await new Promise((r) => setTimeout(r, 25));
      release++;
      return echoEngine(req);
    };
    const p = await pipeline(temp.dir(), { engine, config: { window: 4 } });
    const n = 60;
    await p.shoal.upsertStrategies(Array.from({ length: n }, (_, i) => hostStrategy(`B${i}`)));
    const heapBefore = process.memoryUsage().heapUsed;
    await Promise.all(Array.from({ length: n }, (_, i) => p.shoal.enqueue(`B${i}`, requestInput(`B${i}`))));
    expect(countByState(p.reader).pending).toBeGreaterThan(n / 2); // the outbox, not memory, holds the backlog
    await until(() => countByState(p.reader).done === n, 'all done', 60_000);
    expect(p.shoal.stats.sender.maxInFlight).toBeLessThanOrEqual(4);
    expect(release).toBe(n);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    await p.close();
  });

  it('dead-letters undecodable frames, wrong types, NaN metrics and huge frames with the reason, and keeps running', async () => {
    const p = await pipeline(temp.dir(), { engine: echoEngine });
    const push = await rawResultPush(p.resultEndpoint);
    const bad = [
      '((type . "BACKTEST_RESULT") (result . ((strategy_name . "X"',
      '((type . "BACKTEST_RESULT") (result . ((strategy_name . "X") (trades . "many") (request_id . "r1"))))',
      '((type . "BACKTEST_RESULT") (result . ((strategy_name . "X") (trades . 3) (wins . 1) (losses . 2) (pnl . 0.1) (sharpe . nan) (sortino . 0.1) (max_drawdown . 0.1) (win_rate . 33.3) (profit_factor . 1.1) (request_id . "r2"))))',
      `((type . "BACKTEST_RESULT") (result . ((strategy_name . "${'x'.repeat(2 * 1024 * 1024)}"))))`,
    ];
    for (const f of bad) await push.send(f);
    await until(() => p.shoal.stats.results.undecodable === 4, 'four bad frames');
    await until(() => listDeadLetters(p.reader, { source: '/shoal/pipeline/result-handler' }).length === 4, 'four dead letters');
    const errors = listDeadLetters(p.reader, { source: '/shoal/pipeline/result-handler' }).map((l) => l.error);
    expect(errors.every((e) => e.startsWith('undecodable result frame'))).toBe(true);
    expect(count(p.reader, 'failure_events', "kind = 'decode_error'")).toBe(4);
    // still working:
    await p.shoal.upsertStrategies([hostStrategy('OK1')]);
    await p.shoal.enqueue('OK1', requestInput('OK1'));
    await until(() => countByState(p.reader).done === 1, 'a good request after the bad frames');
    push.close();
    await p.close();
  });

  it('names the place of a syntax error in an undecodable frame once', async () => {
    const p = await pipeline(temp.dir());
    const push = await rawResultPush(p.resultEndpoint);
    await push.send('((type . "R") (x . 1 2))'); // a second value after '.', at offset 21
    await until(() => listDeadLetters(p.reader, { source: '/shoal/pipeline/result-handler' }).length === 1, 'the dead letter');
    const reason = "undecodable result frame: more than one value after '.' at offset 21";
    expect(listDeadLetters(p.reader, { source: '/shoal/pipeline/result-handler' })[0].error).toBe(reason);
    expect(p.reader.sqlite.prepare("select detail from failure_events where kind = 'decode_error'").pluck().all()).toEqual([reason]);
    push.close();
    await p.close();
  });

  it('retries a retryable error result and dead-letters a non-retryable one with the service error text, storing no metric', async () => {
    const clock = new ManualClock(Date.now());
    const flaky = failsOnceThenEchoes('Guardian process failure');
    const p = await pipeline(temp.dir(), { clock, engine: flaky });
    await p.shoal.upsertStrategies([hostStrategy('E1'), hostStrategy('E2')]);
    const o1 = await p.shoal.enqueue('E1', requestInput('E1'));
    if (o1.status !== 'enqueued') throw new Error('not enqueued');
    await p.waitFor(() => getRequest(p.reader, o1.requestId)?.state === 'pending' && getRequest(p.reader, o1.requestId)!.attempts === 1, 'the retryable error');
    expect(getStrategy(p.reader, 'E1')!.oosSharpe).toBeNull();
    clock.advance(5_000);
    await p.waitFor(() => getRequest(p.reader, o1.requestId)?.state === 'done', 'the retry to succeed');
    await p.stopService();
    await p.startService(failingEngine('No data available'));
    const o2 = await p.shoal.enqueue('E2', requestInput('E2'));
    if (o2.status !== 'enqueued') throw new Error('not enqueued');
    await p.waitFor(() => getRequest(p.reader, o2.requestId)?.state === 'dead', 'the non-retryable error');
    // No retry after a non-retryable error: exactly one error result for it (a send may have failed before).
    expect(count(p.reader, 'failure_events', `kind = 'error_result' and request_id = '${o2.requestId}'`)).toBe(1);
    expect(listDeadLetters(p.reader, { requestId: o2.requestId })[0].error).toMatch(/No data available/);
    expect(getStrategy(p.reader, 'E2')!.oosSharpe).toBeNull();
    expect(count(p.reader, 'oos_results', `request_id = '${o2.requestId}'`)).toBe(0);
    await p.close();
  });

  it('claims once per wake that can find work: no claim after a short one, none for a slot freed with nothing due', async () => {
    // A manual clock that never moves: the periodic tick never fires, so every claim is a wake's.
    const p = await pipeline(temp.dir(), { clock: new ManualClock(Date.now()), engine: echoEngine });
    const names = ['C1', 'C2', 'C3', 'C4', 'C5'];
    await p.shoal.upsertStrategies(names.map((n) => hostStrategy(n)));
    await p.waitFor(() => p.shoal.stats.sender.claims >= 1, 'the start-up claim');
    const before = p.shoal.stats.sender.claims;
    for (const n of names) {
      const o = await p.shoal.enqueue(n, requestInput(n));
      if (o.status !== 'enqueued') throw new Error('not enqueued');
      await p.waitFor(() => getRequest(p.reader, o.requestId)?.state === 'done', `${n} to be done`);
    }
    // Idle: the last result's wake has been handled, and any claim it made has been counted.
    await p.shoal.system.whenIdle();
    // One claim per enqueue: it took one row of a window of 16, so it asks no more, and the
    // result that frees the slot finds nothing due and claims nothing.
    expect(p.shoal.stats.sender.claims - before).toBe(names.length);
    await p.close();
  });

  it('sends a retried request again at once when the retry policy makes it due at once', async () => {
    const clock = new ManualClock(Date.now());
    const flaky = failsOnceThenEchoes('Guardian process failure');
    const retry = { maxAttempts: 3, backoff: { minMs: 1_000, maxMs: 10_000, factor: 2, jitter: 0, resetAfterMs: 0, firstImmediate: true } };
    const p = await pipeline(temp.dir(), { clock, engine: flaky, config: { retry } });
    await p.shoal.upsertStrategies([hostStrategy('I1')]);
    const o = await p.shoal.enqueue('I1', requestInput('I1'));
    if (o.status !== 'enqueued') throw new Error('not enqueued');
    // The clock never moves: only the result-handler's wake can get the retry sent.
    await p.waitFor(() => getRequest(p.reader, o.requestId)?.state === 'done', 'the immediate retry to succeed');
    expect(getRequest(p.reader, o.requestId)!.attempts).toBe(2);
    await p.close();
  });

  it('sends a retry when its backoff ends, not at the next periodic tick', async () => {
    const clock = new ManualClock(Date.now());
    const flaky = failsOnceThenEchoes('Guardian process failure');
    // The tick would come only after 10 minutes; the default backoff before a second attempt is ~1 s.
    const p = await pipeline(temp.dir(), { clock, engine: flaky, config: { tickMs: 600_000 } });
    await p.shoal.upsertStrategies([hostStrategy('B1')]);
    const o = await p.shoal.enqueue('B1', requestInput('B1'));
    if (o.status !== 'enqueued') throw new Error('not enqueued');
    await p.waitFor(() => getRequest(p.reader, o.requestId)?.attempts === 1 && getRequest(p.reader, o.requestId)?.state === 'pending', 'the retryable error');
    const due = getRequest(p.reader, o.requestId)!.nextAttemptAt;
    // Idle with the clock still short of `due`: whatever the error result set off has run, and the
    // sender has sent nothing more (it counts a frame once the socket took it).
    await p.shoal.system.whenIdle();
    expect(p.shoal.stats.sender.sent).toBe(1); // not before it is due
    expect(p.service!.stats.received).toBe(1);
    clock.advance(due - clock.now());
    await p.waitFor(() => getRequest(p.reader, o.requestId)?.state === 'done', 'the retry, sent when due');
    expect(p.service!.stats.received).toBe(2);
    await p.close();
  });

  it('sends no faster than the configured rate, however many requests are due', async () => {
    const clock = new ManualClock(Date.now());
    const p = await pipeline(temp.dir(), { clock, engine: () => null, config: { ratePerSec: 2, window: 100, leaseMs: 600_000 } });
    const names = Array.from({ length: 8 }, (_, i) => `RL${i}`);
    await p.shoal.upsertStrategies(names.map((n) => hostStrategy(n)));
    await Promise.all(names.map((n) => p.shoal.enqueue(n, requestInput(n))));
    // Each second's sends are all counted by the sender once the system is idle: the rest wait
    // for the clock, which only the test moves.
    await p.waitFor(() => p.service!.stats.received === 2, 'the first second of sends');
    await p.shoal.system.whenIdle();
    expect(p.shoal.stats.sender.sent).toBe(2);
    clock.advance(1_000);
    await p.waitFor(() => p.service!.stats.received === 4, 'the next second of sends');
    await p.shoal.system.whenIdle();
    expect(p.shoal.stats.sender.sent).toBe(4);
    expect(p.service!.stats.received).toBe(4);
    await p.close();
  });
});
