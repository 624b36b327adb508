/**
 * The embedding API a host uses without touching the store: an outcome per request, events told
 * once durable, a status, its own types at the boundary, and a caller's trace continued.
 */
import { describe, expect, it } from 'vitest';
import { echoEngine, failingEngine, NO_DATA, type BacktestEngine } from '../../backtester/engines.ts';
import type { ShoalEvent } from '../../app/api.ts';
import { snakeKey } from '../../app/api.ts';
import { paths } from '../../app/tree.ts';
import { getRequest } from '../../persistence/outbox.ts';
import { getStrategy } from '../../persistence/strategies.ts';
import { parseTraceparent } from '../../protocol/index.ts';
import { useTempStores } from '../persistence/helpers.ts';
import { hostStrategy, pipeline, rawService, requestInput, until, type Pipeline } from './pipeline-harness.ts';

const temp = useTempStores();

async function enqueued(p: Pipeline, name: string, options: { traceparent?: string } = {}): Promise<string> {
  const o = await p.shoal.enqueue(name, requestInput(name), options);
  if (o.status !== 'enqueued') throw new Error(`${name}: ${JSON.stringify(o)}`);
  return o.requestId;
}

function recorder(p: Pipeline): ShoalEvent[] {
  const seen: ShoalEvent[] = [];
  p.shoal.events.subscribe((e) => seen.push(e));
  return seen;
}

const byName = (failing: Record<string, string>): BacktestEngine => (req) => (failing[req.strategy.name] ? failingEngine(failing[req.strategy.name])(req) : echoEngine(req));

describe('outcome(requestId)', () => {
  it('resolves done with the result, whether the request ended before the call or after it', async () => {
    const p = await pipeline(temp.dir(), { engine: echoEngine });
    await p.shoal.upsertStrategies([hostStrategy('A'), hostStrategy('B')]);
    const a = await enqueued(p, 'A');
    const pendingOutcome = p.shoal.outcome(a);
    const done = await pendingOutcome;
    expect(done).toMatchObject({ status: 'done', requestId: a, strategyName: 'A' });
    if (done.status !== 'done') throw new Error('not done');
    expect(done.result.winRate).toBeGreaterThan(0);
    expect(done.result.winRate).toBeLessThan(1);
    // Asked again after the end: read from the store, the same answer.
    expect(await p.shoal.outcome(a)).toEqual(done);
    await p.close();
  });

  it("resolves 'failed' for a request the service refused (not retryable) and 'deadLettered' for one that used up its attempts, each with its dead letter", async () => {
    const p = await pipeline(temp.dir(), {
      engine: byName({ 'NoData-OOS': NO_DATA, 'Crash-OOS': 'Guardian process failure' }),
      config: { retry: { maxAttempts: 2, backoff: { minMs: 1, maxMs: 1, factor: 1, jitter: 0, resetAfterMs: 0, firstImmediate: false } } },
    });
    await p.shoal.upsertStrategies([hostStrategy('NoData'), hostStrategy('Crash')]);
    const [noData, crash] = [await enqueued(p, 'NoData'), await enqueued(p, 'Crash')];
    const [o1, o2] = await Promise.all([p.shoal.outcome(noData), p.shoal.outcome(crash)]);
    expect(o1).toMatchObject({ status: 'failed', requestId: noData, strategyName: 'NoData', reason: expect.stringContaining('No data available') });
    expect(o2).toMatchObject({ status: 'deadLettered', requestId: crash, reason: expect.stringContaining('2 of 2 attempts used') });
    // The same from the store once ended.
    expect(await p.shoal.outcome(noData)).toEqual(o1);
    expect(await p.shoal.outcome(crash)).toEqual(o2);
    await p.close();
  });

  it('rejects for an unknown request id, and after timeoutMs for one that does not end', async () => {
    const p = await pipeline(temp.dir());
    await expect(p.shoal.outcome('no-such-id')).rejects.toThrow('no request no-such-id in the outbox');
    await p.shoal.upsertStrategies([hostStrategy('W')]);
    const w = await enqueued(p, 'W');
    await expect(p.shoal.outcome(w, { timeoutMs: 50 })).rejects.toThrow(`request ${w} has not ended within 50 ms`);
    await p.close();
  });
});

describe('events', () => {
  it('result, failed, deadLettered and rankChanged are told once durable, with what happened', async () => {
    const p = await pipeline(temp.dir(), { engine: byName({ 'Bad-OOS': NO_DATA }) });
    const events = recorder(p);
    const durableAtResult: string[] = [];
    p.shoal.on('result', (e) => durableAtResult.push(getRequest(p.reader, e.requestId)?.state ?? 'missing'));
    await p.shoal.upsertStrategies([hostStrategy('Good', { rank: 'B' }), hostStrategy('Bad', { rank: 'INCUBATOR' })]);
    const [good, bad] = [await enqueued(p, 'Good'), await enqueued(p, 'Bad')];
    await Promise.all([p.shoal.outcome(good), p.shoal.outcome(bad)]);
    // Bad (INCUBATOR, meeting B's criteria) is promoted to B by the next evaluation.
    await p.shoal.evaluateRanks();
    await until(() => events.some((e) => e.type === 'rankChanged' && e.strategyName === 'Bad'), 'the rank change');
    expect(durableAtResult).toEqual(['done']);
    const types = events.map((e) => e.type);
    expect(types).toContain('result');
    expect(events.find((e) => e.type === 'failed')).toMatchObject({ status: 'failed', requestId: bad, strategyName: 'Bad' });
    expect(events.find((e) => e.type === 'deadLettered')).toMatchObject({ requestId: bad, source: '/shoal/pipeline/result-handler' });
    expect(events.find((e) => e.type === 'rankChanged' && e.strategyName === 'Bad')).toMatchObject({ from: 'INCUBATOR', to: 'B', reason: expect.stringContaining('promoted') });
    await p.close();
  });

  it('restart is told when a supervisor restarts an actor', async () => {
    const p = await pipeline(temp.dir(), { engine: echoEngine });
    const restarts: string[] = [];
    p.shoal.on('restart', (e) => restarts.push(e.path));
    p.shoal.system.crashActor(p.shoal.system.lookup(paths.notifier)!, new Error('injected'));
    await until(() => restarts.includes('/shoal/notifier'), 'the restart event');
    await p.close();
  });
});

describe('status()', () => {
  it('tells the outbox by state, the oldest live request, dead letters and restarts', async () => {
    const p = await pipeline(temp.dir());
    await p.shoal.upsertStrategies([hostStrategy('S1'), hostStrategy('S2')]);
    await enqueued(p, 'S1');
    await enqueued(p, 'S2');
    const s = p.shoal.status();
    // No service runs: each request is pending, or claimed while its send waits for a peer.
    expect(s.outbox.pending + s.outbox.in_flight).toBe(2);
    expect(s).toMatchObject({ running: true, pid: process.pid, outbox: { done: 0, dead: 0 }, deadLetters: { dead: 0, replaying: 0 }, restarts: 0 });
    expect(s.oldestLiveAgeMs).not.toBeNull();
    expect(s.uptimeMs).toBeGreaterThanOrEqual(0);
    await p.close();
  });
});

describe('the boundary', () => {
  it('strategy params are camelCase for the host and stored as the host service expects them (snake_case)', async () => {
    expect(['smaShort', 'sma_long', 'filterTf'].map(snakeKey)).toEqual(['sma_short', 'sma_long', 'filter_tf']);
    const p = await pipeline(temp.dir());
    await p.shoal.upsertStrategies([hostStrategy('P', { params: { smaShort: 7, smaLong: 30, filterEnabled: true } })]);
    expect(getStrategy(p.reader, 'P')?.params).toEqual({ sma_short: 7, sma_long: 30, filter_enabled: true });
    expect(getStrategy(p.reader, 'P')?.maxDd).toBe(0.12);
    await p.close();
  });

  it("a caller's traceparent is continued: the request frame carries the caller's trace id with a span of its own", async () => {
    const p = await pipeline(temp.dir());
    const service = await rawService(p.requestEndpoint);
    await p.connected();
    await p.shoal.upsertStrategies([hostStrategy('T')]);
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await enqueued(p, 'T', { traceparent: caller });
    await until(() => service.frames.length === 1, 'the request frame');
    const sent = /\(traceparent \. "([^"]+)"\)/.exec(service.frames[0])![1];
    const parsed = parseTraceparent(sent);
    if (!parsed.ok) throw new Error('bad traceparent sent');
    expect(parsed.value.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parsed.value.parentId).not.toBe('00f067aa0ba902b7');
    await expect(p.shoal.enqueue('T', requestInput('T'), { traceparent: 'not-a-traceparent' })).rejects.toThrow(/traceparent must be a W3C traceparent/);
    service.close();
    await p.close();
  });

  it('enqueue answers in its own terms: duplicateLive for a strategy with a live request, rejected by the data gate with the reason', async () => {
    const p = await pipeline(temp.dir());
    await p.shoal.upsertStrategies([hostStrategy('D')]);
    const first = await enqueued(p, 'D');
    expect(await p.shoal.enqueue('D', requestInput('D'))).toEqual({ status: 'duplicateLive', existingRequestId: first });
    const rejected = await p.shoal.enqueue('D2', requestInput('D2', { candlesFile: `${temp.dir()}/missing.csv` }));
    expect(rejected).toMatchObject({ status: 'rejected', reason: expect.stringContaining('missing.csv') });
    // Input the wire cannot carry (here from plain JS, without include_trades) is refused at once, not left to die at its first send.
    const { includeTrades: _omitted, ...withoutTrades } = requestInput('D3');
    expect(await p.shoal.enqueue('D3', withoutTrades as unknown as ReturnType<typeof requestInput>)).toEqual({
      status: 'error',
      error: 'the OOS request for D3 is not a valid BACKTEST request: include_trades must be a boolean',
    });
    await p.close();
  });
});
