/**
 * An operator's pause of sending (a message to the sender) and a replay asked through the facade:
 * real sockets, a real database, a scripted service.
 */
import { describe, expect, it } from 'vitest';
import { echoEngine, NO_DATA, failingEngine, type BacktestEngine } from '../../backtester/engines.ts';
import { paths } from '../../app/tree.ts';
import { getRequest } from '../../persistence/outbox.ts';
import { listDeadLetters } from '../../persistence/dead-letters.ts';
import { useTempStores } from '../persistence/helpers.ts';
import { heldEngine, hostStrategy, pipeline, requestInput, type Pipeline } from '../app/pipeline-harness.ts';

const temp = useTempStores();

async function enqueued(p: Pipeline, name: string): Promise<string> {
  const o = await p.shoal.enqueue(name, requestInput(name));
  if (o.status !== 'enqueued') throw new Error(`${name}: ${JSON.stringify(o)}`);
  return o.requestId;
}

describe('sender pause and resume', () => {
  it('paused, nothing new is sent while a result of a request already in flight is still stored; resumed, what waited is sent', async () => {
    const held = heldEngine();
    const p = await pipeline(temp.dir(), { engine: held.engine });
    await p.shoal.upsertStrategies([hostStrategy('A'), hostStrategy('B')]);
    const a = await enqueued(p, 'A');
    await p.waitFor(() => held.received() === 1, 'the service to receive A');
    expect(await p.shoal.pauseSending()).toMatchObject({ paused: true, inFlight: 1, pausedAt: expect.any(Number) });
    const b = await enqueued(p, 'B');
    // The sender handles its messages in order: once a second pause is answered, B's wake has been seen.
    await p.shoal.pauseSending();
    expect(getRequest(p.reader, b)?.state).toBe('pending');
    expect(p.shoal.stats.sender.sent).toBe(1);
    held.release();
    await p.waitFor(() => getRequest(p.reader, a)?.state === 'done', "A's result to be stored while paused");
    await p.shoal.pauseSending();
    expect(getRequest(p.reader, b)?.state).toBe('pending');
    expect(await p.shoal.resumeSending()).toMatchObject({ paused: false, pausedAt: null });
    await p.waitFor(() => getRequest(p.reader, b)?.state === 'done', 'B to be sent and completed after resume');
    await p.close();
  });

  it('a pause outlives a restart of the sender', async () => {
    const p = await pipeline(temp.dir(), { engine: echoEngine });
    await p.shoal.upsertStrategies([hostStrategy('A')]);
    await p.shoal.pauseSending();
    const restarts = p.shoal.stats.sender.claims;
    p.shoal.system.crashActor(p.shoal.system.lookup(paths.sender)!, new Error('injected'));
    await p.waitFor(() => p.shoal.snapshot()[0].children[0].children.find((c) => c.path === paths.sender)?.restartCount === 1, 'the sender to restart');
    const a = await enqueued(p, 'A');
    await p.shoal.pauseSending();
    expect(getRequest(p.reader, a)?.state).toBe('pending');
    expect(p.shoal.stats.sender.claims).toBe(restarts);
    await p.shoal.resumeSending();
    await p.waitFor(() => getRequest(p.reader, a)?.state === 'done', 'A to complete after resume');
    await p.close();
  });
});

describe('replay now', () => {
  it('a replay asked through the facade is claimed and delivered at once, with no periodic scan, and raises the cap when asked', async () => {
    const failing = new Set(['Bad-OOS']);
    const engine: BacktestEngine = (req) => (failing.has(req.strategy.name) ? failingEngine(NO_DATA)(req) : echoEngine(req));
    // scanIntervalMs 0 (the harness's): only an asked replay can bring the letter back.
    const p = await pipeline(temp.dir(), { engine, config: { replay: { replayAtStartup: false, scanIntervalMs: 0, maxReplays: 1 } } });
    await p.shoal.upsertStrategies([hostStrategy('Bad')]);
    const bad = await enqueued(p, 'Bad');
    const letter = () => listDeadLetters(p.reader, { requestId: bad, state: undefined })[0];
    await p.waitFor(() => letter()?.state === 'dead', 'the request to be dead-lettered');
    const first = await p.shoal.replay({ ids: [letter().id] });
    expect(first).toEqual({ claimed: 1, ids: [letter().id] });
    await p.waitFor(() => letter().state === 'dead' && letter().replayCount === 1, 'the replay to fail again and return the letter');
    // At the cap of 1: refused by the policy, taken with a raised cap.
    expect(await p.shoal.replay({ ids: [letter().id] })).toEqual({ claimed: 0, ids: [] });
    failing.clear();
    expect(await p.shoal.replay({ ids: [letter().id], maxReplays: 5 })).toMatchObject({ claimed: 1 });
    await p.waitFor(() => getRequest(p.reader, bad)?.state === 'done', 'the replayed request to complete');
    await p.close();
  });
});
