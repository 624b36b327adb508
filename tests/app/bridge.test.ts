/**
 * Bridge mode in one process: a stand-in host (PUSH to the intake, PULL bound for results), the
 * runtime with bridge on, and a service on real sockets. The host's requests are stored under its
 * own ids before they are sent; results reach the host unchanged, once stored; what is refused
 * or given up is dead-lettered and never forwarded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Pull, Push } from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { echoEngine } from '../../backtester/engines.ts';
import { getRequest } from '../../persistence/outbox.ts';
import { getForward } from '../../persistence/host-forwards.ts';
import { listDeadLetters } from '../../persistence/dead-letters.ts';
import { encodeBacktestRequest } from '../../protocol/index.ts';
import type { OosConfig } from '../../app/config.ts';
import { count, useTempStores } from '../persistence/helpers.ts';
import { freePort, pipeline, rawResultPush, rawService, requestInput, until, type Pipeline } from './pipeline-harness.ts';

const temp = useTempStores();

interface Host {
  readonly received: string[];
  send(frame: string): Promise<void>;
  close(): void;
}

const hosts: Host[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

/** The trading host as the bridge sees it: PUSH connected to the intake, PULL bound for results. */
async function standInHost(intake: string, results: string): Promise<Host> {
  const push = new Push({ linger: 0 });
  push.connect(intake);
  const pull = new Pull({ linger: 0 });
  await pull.bind(results);
  const received: string[] = [];
  void (async () => {
    try {
      for (;;) received.push((await pull.receive())[0].toString('utf8'));
    } catch {
      // closed
    }
  })();
  const host = { received, send: (f: string) => push.send(f), close: () => (push.close(), pull.close()) };
  hosts.push(host);
  return host;
}

async function bridged(dir: string, options: { engine?: typeof echoEngine; forward?: Partial<OosConfig['forward']> } = {}) {
  const intake = `tcp://127.0.0.1:${await freePort()}`;
  const hostResults = `tcp://127.0.0.1:${await freePort()}`;
  const p = await pipeline(dir, { engine: options.engine, config: { bridge: true, intakeEndpoint: intake, hostResultsEndpoint: hostResults, ...(options.forward ? { forward: options.forward as OosConfig['forward'] } : {}) } });
  return { p, intake, hostResults };
}

function frame(p: Pipeline, name: string, requestId: string, extra: Record<string, unknown> = {}): string {
  const e = encodeBacktestRequest({ ...requestInput(name), candlesFile: p.candles, requestId, ...extra });
  if (!e.ok) throw new Error(e.error.message);
  return e.value;
}

const TRACE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('bridge mode', () => {
  it("a host request is stored under the host's id (origin host, the host's trace continued) before it is sent, and its result reaches the host exactly as the service sent it", async () => {
    const { p, intake, hostResults } = await bridged(temp.dir());
    const service = await rawService(p.requestEndpoint);
    await p.connected();
    const host = await standInHost(intake, hostResults);
    await host.send(frame(p, 'A', 'host-1', { traceparent: TRACE }));
    await until(() => service.frames.length === 1, 'the request to reach the service');
    const req = getRequest(p.reader, 'host-1')!;
    expect(req).toMatchObject({ origin: 'host', strategyName: 'A-OOS', state: 'in_flight' });
    // The same trace id, a span of shoal's own.
    expect(req.traceparent!.split('-')[1]).toBe(TRACE.split('-')[1]);
    expect(req.traceparent).not.toBe(TRACE);
    expect(service.frames[0]).toContain('(request_id . "host-1")');
    // A result frame in a form the codec accepts but would not print itself: it must arrive as is.
    const result = '((type . "BACKTEST_RESULT") (result ((strategy_name . "A-OOS") (trades . 12) (wins . 7) (losses . 5) (pnl . 1.50) (sharpe . 0.52) (sortino . "inf") (max_drawdown . 0.031) (win_rate . 58.33) (profit_factor . 1.34) (request_id . "host-1"))))';
    const push = await rawResultPush(p.resultEndpoint);
    await push.send(result);
    await until(() => host.received.length === 1, 'the host to receive the result');
    expect(host.received).toEqual([result]);
    await until(() => getForward(p.reader, 'host-1')?.state === 'forwarded', 'the forward to be marked');
    // The same result again (the service answered twice): stored once, forwarded once.
    await push.send(result);
    await until(() => p.shoal.stats.results.duplicates === 1, 'the duplicate to be refused');
    expect(count(p.reader, 'host_forwards')).toBe(1);
    push.close();
    service.close();
    await p.close();
    expect(host.received).toHaveLength(1);
  });

  it('an undecodable frame and a request the data gate refuses are dead-lettered with their bytes, never sent and never answered to the host', async () => {
    const { p, intake, hostResults } = await bridged(temp.dir(), { engine: echoEngine });
    const host = await standInHost(intake, hostResults);
    await host.send('((action . "BACKTEST") (strategy (name . "X-OOS"))');
    await host.send(frame(p, 'B', 'host-missing', { candlesFile: '/no/such/USDJPY_M1.csv' }));
    await host.send(frame(p, 'C', 'host-good'));
    await until(() => host.received.length === 1, 'the good request to be answered');
    await until(() => p.shoal.stats.intake.deadLettered === 2, 'both bad frames to be dead-lettered');
    expect(host.received[0]).toContain('(request_id . "host-good")');
    expect(p.shoal.stats.intake).toMatchObject({ frames: 3, accepted: 1, undecodable: 1, refused: 1 });
    const letters = listDeadLetters(p.reader, { source: '/shoal/intake', state: undefined, limit: 10 });
    expect(letters.map((l) => l.error).sort()).toEqual([expect.stringContaining('request host-missing refused by the data gate'), expect.stringContaining('undecodable request frame from the host')].sort());
    expect(letters.every((l) => (l.message as { kind: string }).kind === 'intake_frame')).toBe(true);
    expect(getRequest(p.reader, 'host-missing')).toBeUndefined();
    expect(count(p.reader, 'failure_events', "kind = 'data_invalid'")).toBe(1);
    await p.close();
    expect(host.received).toHaveLength(1);
  });

  it("a newer host request for a strategy supersedes its older live one: the old one is never sent again, and its result, if it comes, is stored but not forwarded", async () => {
    const { p, intake, hostResults } = await bridged(temp.dir());
    const service = await rawService(p.requestEndpoint);
    await p.connected();
    const host = await standInHost(intake, hostResults);
    await host.send(frame(p, 'S', 'old'));
    await until(() => service.frames.length === 1, 'the first request to be sent');
    await host.send(frame(p, 'S', 'new'));
    await until(() => service.frames.length === 2, 'the second request to be sent');
    expect(getRequest(p.reader, 'old')).toMatchObject({ state: 'superseded', supersededBy: 'new' });
    const push = await rawResultPush(p.resultEndpoint);
    const resultOf = (id: string) => `((type . "BACKTEST_RESULT") (result . ((strategy_name . "S-OOS") (trades . 3) (wins . 2) (losses . 1) (pnl . 0.1) (sharpe . 0.4) (sortino . 0.5) (max_drawdown . 0.1) (win_rate . 50) (profit_factor . 1.2) (request_id . "${id}"))))`;
    await push.send(resultOf('old'));
    await push.send(resultOf('new'));
    await until(() => host.received.length === 1, 'the newer result to be forwarded');
    await until(() => p.shoal.stats.results.applied === 2, 'both results to be stored');
    expect(host.received).toEqual([resultOf('new')]);
    expect(getRequest(p.reader, 'old')?.state).toBe('superseded');
    expect(getForward(p.reader, 'old')).toBeUndefined();
    push.close();
    service.close();
    await p.close();
  });

  it('results wait while the host is down and are forwarded once it binds; one never handed over within maxAgeMs is dead-lettered with its frame and not forwarded', async () => {
    const { p, intake, hostResults } = await bridged(temp.dir(), { engine: echoEngine, forward: { maxAgeMs: 60_000 } });
    const push = new Push({ linger: 0 });
    push.connect(intake);
    await push.send(frame(p, 'W', 'waits'));
    await until(() => getForward(p.reader, 'waits')?.state === 'pending', 'the result to be stored, waiting for the host');
    expect(p.shoal.stats.forwarder.forwarded).toBe(0);
    const host = await standInHost(intake, hostResults);
    await until(() => host.received.length === 1, 'the waiting result to reach the host once it is up');
    expect(host.received[0]).toContain('(request_id . "waits")');
    push.close();
    await p.close();

    const late = await bridged(temp.dir(), { engine: echoEngine, forward: { maxAgeMs: 1 } });
    const push2 = new Push({ linger: 0 });
    push2.connect(late.intake);
    await push2.send(frame(late.p, 'L', 'too-late'));
    await until(() => getForward(late.p.reader, 'too-late')?.state === 'dead', 'the forward to be given up');
    const [letter] = listDeadLetters(late.p.reader, { requestId: 'too-late', state: undefined, limit: 5 });
    expect(letter).toMatchObject({ source: '/shoal/forwarder', error: expect.stringContaining('not handed to the host within 1 ms') });
    expect((letter.message as { frameText: string }).frameText).toContain('(request_id . "too-late")');
    const host2 = await standInHost(late.intake, late.hostResults);
    await until(() => late.p.shoal.stats.forwarder.peers === 1, 'the host to connect');
    push2.close();
    await late.p.close();
    expect(host2.received).toEqual([]);
  });

  it('at start, what was marked forwarded in the reopenWindowMs up to the latest mark is forwarded again: a hand-off only queues the frame in a socket, which may have died with the previous process', async () => {
    const dir = temp.dir();
    const first = await bridged(dir, { engine: echoEngine });
    const host = await standInHost(first.intake, first.hostResults);
    await host.send(frame(first.p, 'K', 'marked-then-stopped'));
    await until(() => getForward(first.p.reader, 'marked-then-stopped')?.state === 'forwarded', 'the result to be handed off and marked');
    await first.p.close();
    // The next run, as after a SIGKILL that came right after the mark.
    const second = await bridged(dir, { engine: echoEngine });
    const host2 = await standInHost(second.intake, second.hostResults);
    await until(() => host2.received.length === 1, 'the hand-off marked just before the start to be forwarded again');
    expect(host2.received[0]).toContain('(request_id . "marked-then-stopped")');
    await until(() => getForward(second.p.reader, 'marked-then-stopped')?.state === 'forwarded', 'the forward to be marked again');
    await second.p.close();
  });

  it('a host request the gate refused is taken in by a replay of its dead letter once its candle file is there, and answered to the host once', async () => {
    const dir = temp.dir();
    const { p, intake, hostResults } = await bridged(dir, { engine: echoEngine });
    const host = await standInHost(intake, hostResults);
    const later = path.join(dir, 'later', 'USDJPY_M1.csv');
    await host.send(frame(p, 'R', 'host-later', { candlesFile: later }));
    await until(() => p.shoal.stats.intake.deadLettered === 1, 'the refused frame to be dead-lettered');
    fs.mkdirSync(path.dirname(later));
    fs.copyFileSync(p.candles, later);
    const report = await p.shoal.replay({ source: '/shoal/intake' });
    expect(report).toEqual({ claimed: 1, ids: [1] });
    await until(() => host.received.length === 1, 'the replayed request to be answered');
    expect(host.received[0]).toContain('(request_id . "host-later")');
    expect(getRequest(p.reader, 'host-later')).toMatchObject({ state: 'done', origin: 'host' });
    await p.close();
    expect(host.received).toHaveLength(1);
  });

  it("a result never handed to the host is forwarded once its dead letter is replayed, with a fresh budget", async () => {
    const { p, intake, hostResults } = await bridged(temp.dir(), { engine: echoEngine, forward: { maxAgeMs: 1_500 } });
    const push = new Push({ linger: 0 });
    push.connect(intake);
    await push.send(frame(p, 'F', 'forward-later'));
    await until(() => getForward(p.reader, 'forward-later')?.state === 'dead', 'the forward to be given up while the host is down');
    const host = await standInHost(intake, hostResults);
    await until(() => p.shoal.stats.forwarder.peers === 1, 'the host to connect');
    expect(await p.shoal.replay({ source: '/shoal/forwarder' })).toEqual({ claimed: 1, ids: [1] });
    await until(() => host.received.length === 1, 'the revived forward to reach the host');
    expect(host.received[0]).toContain('(request_id . "forward-later")');
    await until(() => getForward(p.reader, 'forward-later')?.state === 'forwarded', 'the forward to be marked');
    expect(listDeadLetters(p.reader, { requestId: 'forward-later', state: undefined, limit: 5 }).map((l) => l.state)).toEqual(['replayed']);
    push.close();
    await p.close();
  });
});
