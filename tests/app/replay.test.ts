/**
 * Dead-letter replay in the running OOS flow: each letter goes where what it holds belongs, no
 * replay crashes an actor, a request's replays are capped across its deaths, and the result
 * socket rebinds its own port however often its actor restarts.
 */
import { describe, expect, it } from 'vitest';
import type { SystemEvent, TreeNode } from '../../runtime/index.ts';
import { echoEngine, failingEngine, NO_DATA, type BacktestEngine } from '../../backtester/engines.ts';
import { encodeBacktestResult, type BacktestRequest } from '../../protocol/index.ts';
import { writeCommands } from '../../actors/db-client.ts';
import { openStore, type Store } from '../../persistence/connection.ts';
import { applyBatch } from '../../persistence/batch.ts';
import { getDeadLetter, listDeadLetters } from '../../persistence/dead-letters.ts';
import { countByState, getRequest } from '../../persistence/outbox.ts';
import type { DeadLetter } from '../../persistence/records.ts';
import { paths } from '../../app/tree.ts';
import { exited, spawnFixture, useTempStores, waitForLine } from '../persistence/helpers.ts';
import { Shoal } from '../../app/shoal.ts';
import { freePort, rawService, hostStrategy } from './pipeline-harness.ts';
import { pipeline, rawResultPush, requestInput, until, type Pipeline } from './pipeline-harness.ts';

const temp = useTempStores();

/** Collects crash events of the runtime's actors (a replay must cause none unless its message is poison). */
function crashes(p: Pipeline): SystemEvent[] {
  const seen: SystemEvent[] = [];
  p.shoal.system.events.subscribe((e) => {
    if (e.type === 'actor_crashed') seen.push(e);
  });
  return seen;
}

/** An engine that answers `error` to the strategies in `failing` and an echo to every other. */
function switchable(failing: Set<string>, error: string): BacktestEngine {
  return (req) => (failing.has(req.strategy.name) ? failingEngine(error)(req) : echoEngine(req));
}

async function enqueued(p: Pipeline, name: string): Promise<string> {
  const o = await p.shoal.enqueue(name, requestInput(name));
  if (o.status !== 'enqueued') throw new Error(`${name} not enqueued: ${JSON.stringify(o)}`);
  return o.requestId;
}

const letterOf = (p: Pipeline, requestId: string): DeadLetter => letterOfStore(p.reader, requestId);
const letterOfStore = (store: Store, requestId: string): DeadLetter => listDeadLetters(store, { requestId, state: undefined })[0];

const success = (req: Pick<BacktestRequest, 'requestId'>) =>
  encodeBacktestResult({ kind: 'success', requestId: req.requestId, strategyName: 'X-OOS', trades: 212, wins: 118, losses: 94, pnl: 3.21, sharpe: 0.52, sortino: 0.8, maxDrawdown: 0.031, winRate: 0.5566, profitFactor: 1.34 });

describe('replay by letter kind in the running runtime', () => {
  it('a request dead-lettered by the result-handler (non-retryable error) is requeued by its replay, not sent to the result-handler; fresh requests flow meanwhile', async () => {
    const failing = new Set(['Bad-OOS']);
    const p = await pipeline(temp.dir(), { engine: switchable(failing, NO_DATA) });
    const crashed = crashes(p);
    await p.shoal.upsertStrategies([hostStrategy('Bad'), ...Array.from({ length: 50 }, (_, i) => hostStrategy(`F${i}`))]);
    const bad = await enqueued(p, 'Bad');
    await p.waitFor(() => getRequest(p.reader, bad)?.state === 'dead', 'the request to die at its first error');
    expect(letterOf(p, bad)).toMatchObject({ source: paths.resultHandler, state: 'dead', replayCount: 0 });

    failing.clear(); // the data is there now
    await p.shoal.replay({ ids: [letterOf(p, bad).id] });
    const fresh = await Promise.all(Array.from({ length: 50 }, (_, i) => enqueued(p, `F${i}`)));
    await p.waitFor(() => getRequest(p.reader, bad)?.state === 'done' && fresh.every((id) => getRequest(p.reader, id)?.state === 'done'), 'the replayed and the 50 fresh requests to complete');
    await p.waitFor(() => letterOf(p, bad).state === 'replayed', 'the letter to be settled');
    expect(letterOf(p, bad)).toMatchObject({ replayCount: 0, note: 'the request completed' });
    expect(crashed).toEqual([]);
    await p.close();
  });

  it('a request dead-lettered by the sender (attempts used up) is requeued by its replay and completes', async () => {
    let answer = false;
    const p = await pipeline(temp.dir(), { engine: (req) => (answer ? echoEngine(req) : null), config: { leaseMs: 300, tickMs: 100, retry: { maxAttempts: 2, backoff: { minMs: 10, maxMs: 10, factor: 1, jitter: 0, resetAfterMs: 0, firstImmediate: false } } } });
    const crashed = crashes(p);
    await p.shoal.upsertStrategies([hostStrategy('T')]);
    const id = await enqueued(p, 'T');
    await p.waitFor(() => getRequest(p.reader, id)?.state === 'dead', 'the request to time out twice and die');
    expect(letterOf(p, id).source).toBe(paths.sender);
    answer = true;
    await p.shoal.replay({ ids: [letterOf(p, id).id] });
    await p.waitFor(() => letterOf(p, id).state === 'replayed', 'the replayed request to complete');
    expect(getRequest(p.reader, id)?.state).toBe('done');
    expect(crashed).toEqual([]);
    await p.close();
  });

  it('an orphan result frame is applied by its replay once its request exists; an undecodable one is returned with the reason; neither crashes an actor', async () => {
    const p = await pipeline(temp.dir());
    const crashed = crashes(p);
    const push = await rawResultPush(p.resultEndpoint);
    const requestId = '0193b0b2-0000-7000-8000-0000000000aa';
    await push.send(success({ requestId }));
    await push.send('((type . "BACKTEST_RESULT") (result . ((strategy_name . "X"');
    await p.waitFor(() => listDeadLetters(p.reader, { source: paths.resultHandler }).length === 2, 'both frames to be dead-lettered');
    const frames = listDeadLetters(p.reader, { source: paths.resultHandler });
    const orphan = frames.find((l) => /orphan result/.test(l.error))!;
    const garbled = frames.find((l) => /undecodable result frame/.test(l.error))!;
    expect([orphan, garbled].every(Boolean)).toBe(true);

    // The request is enqueued under that id only now (no service runs, so it stays unanswered).
    await p.shoal.upsertStrategies([hostStrategy('X')]);
    await p.shoal.enqueue('X', requestInput('X'), { requestId });
    await p.shoal.replay({ ids: [orphan.id, garbled.id] });
    await p.waitFor(() => getDeadLetter(p.reader, orphan.id)?.state === 'replayed' && getDeadLetter(p.reader, garbled.id)?.replayCount === 1, 'both replays to end');
    expect(getRequest(p.reader, requestId)?.state).toBe('done');
    expect(getDeadLetter(p.reader, garbled.id)).toMatchObject({ state: 'dead' });
    expect(getDeadLetter(p.reader, garbled.id)?.error).toMatch(/undecodable result frame/);
    expect(crashed).toEqual([]);
    push.close();
    await p.close();
  });

  it("a kernel letter goes back to its actor only if that actor's protocol accepts it; none crashes any actor", async () => {
    const dir = temp.dir();
    const p = await pipeline(dir, { engine: echoEngine });
    const crashed = crashes(p);
    const foreign = { kind: 'oos_request_elsewhere', payload: {} };
    // Messages each actor takes, and one each must refuse (another actor's, or missing fields).
    const letters: [source: string, message: unknown, accepted: boolean][] = [
      [paths.dbWriter, { kind: 'checkpoint' }, true],
      [paths.dbWriter, { kind: 'write', commands: 'not a list' }, false],
      [paths.sender, { kind: 'tick' }, true],
      [paths.sender, foreign, false],
      [paths.gate, { kind: 'check', file: p.candles }, false], // its reply address is gone: refused, not a TypeError
      [paths.gate, { kind: 'write', commands: [] }, false],
      [paths.rankEvaluator, { kind: 'cycle' }, true],
      [paths.rankEvaluator, { kind: 'frame' }, false],
      [paths.notifier, { kind: 'notify', severity: 'info', title: 'replayed', body: 'a replayed notification', at: 0 }, true],
      [paths.notifier, { kind: 'notify' }, false],
      [paths.dailyReporter, { kind: 'report' }, true],
      [paths.dailyReporter, { kind: 'tick' }, false],
      [paths.replayer, { kind: 'scan' }, true],
      [paths.replayer, 'a bare string', false],
    ];
    const outcomes = await writeCommands(
      p.shoal.system,
      paths.dbWriter,
      letters.map(([source, message]) => ({ type: 'insertDeadLetter' as const, source, message, error: 'poison: earlier', attempts: 3 })),
    );
    const ids = outcomes.map((o) => (o.type === 'insertDeadLetter' && o.status === 'inserted' ? o.id : -1));
    await p.shoal.replay({ ids });
    await p.waitFor(() => ids.every((id) => getDeadLetter(p.reader, id)?.state !== 'replaying'), 'every replay to end');
    letters.forEach(([source, , accepted], i) => {
      const l = getDeadLetter(p.reader, ids[i])!;
      if (accepted) expect([source, l.state]).toEqual([source, 'replayed']);
      else {
        expect([source, l.state, l.replayCount]).toEqual([source, 'dead', 1]);
        expect(l.error).toMatch(/^replay: no handler understands this letter/);
      }
    });
    expect(crashed).toEqual([]);
    await p.close();
  });
});

describe('replays are capped per request', () => {
  it('a request that can never succeed is sent maxAttempts x (1 + maxReplays) times in all, across deaths and restarts; then the CLI-facing claim refuses it', async () => {
    const dir = temp.dir();
    const retry = { maxAttempts: 2, backoff: { minMs: 1, maxMs: 1, factor: 1, jitter: 0, resetAfterMs: 0, firstImmediate: false } };
    const config = { retry, replay: { maxReplays: 2, quietMs: 10, replayAtStartup: true, scanIntervalMs: 0 } };
    let id = '';
    // Three lives of the runtime: each start replays what is eligible.
    for (let life = 0; life < 3; life++) {
      const p = await pipeline(dir, { engine: failingEngine('Guardian process failure'), config });
      if (life === 0) {
        await p.shoal.upsertStrategies([hostStrategy('Never')]);
        id = await enqueued(p, 'Never');
      }
      await p.waitFor(() => getRequest(p.reader, id)?.state === 'dead' && (life === 0 || (letterOf(p, id)?.replayCount ?? 0) >= life), `life ${life}: the request to be dead again`);
      await p.close();
    }
    const reader = openStore({ path: `${dir}/shoal.db`, readonly: true });
    const letter = listDeadLetters(reader, { requestId: id, state: undefined });
    expect(letter).toHaveLength(1);
    expect(letter[0]).toMatchObject({ state: 'dead', replayCount: 2 });
    expect(getRequest(reader, id)?.history).toHaveLength(2 * (1 + 2));
    reader.close();
    // A fourth life replays nothing more.
    const p = await pipeline(dir, { engine: failingEngine('Guardian process failure'), config });
    const claimed = await p.shoal.replay({ ids: [letter[0].id] });
    expect(claimed).toEqual({ claimed: 0, ids: [] });
    expect(getRequest(p.reader, id)?.history).toHaveLength(6);
    await p.close();
  });
});

describe('a replay interrupted by SIGKILL', () => {
  const idOf = (frame: string) => /\(request_id \. "([^"]+)"\)/.exec(frame)![1];

  it('killed with the replayed request in flight, the restarted runtime completes it once and settles the letter', async () => {
    const dir = temp.dir();
    const dbPath = `${dir}/shoal.db`;
    const requestEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    const resultEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    const service = await rawService(requestEndpoint);
    const results = await rawResultPush(resultEndpoint);
    const child = spawnFixture('../../app/fixtures/replay-then-hang.ts', [dbPath, requestEndpoint, resultEndpoint]);
    await waitForLine(child, 'enqueued', 60_000);
    await until(() => service.frames.length === 1, 'the first send', 60_000);
    const id = idOf(service.frames[0]);
    await results.send(`((type . "BACKTEST_RESULT") (result . ((strategy_name . "K-OOS") (error . "No data available") (sharpe . 0) (request_id . "${id}"))))`);
    await waitForLine(child, 'replaying', 60_000);
    // Claimed in the store before it is sent: the frame may still be on its way.
    await until(() => service.frames.length === 2, 'the replayed send', 60_000);
    expect(idOf(service.frames[1])).toBe(id);
    child.kill('SIGKILL');
    expect((await exited(child)).signal).toBe('SIGKILL');

    const reader = temp.open({ path: dbPath, readonly: true });
    const [letter] = listDeadLetters(reader, { requestId: id, state: undefined });
    expect([letter.state, getRequest(reader, id)?.state]).toEqual(['replaying', 'in_flight']);

    // The service answers the replayed send after the runtime died; a new runtime takes it.
    const shoal = await Shoal.start({ dbPath, requestEndpoint, resultEndpoint, dataDir: dir, rankEvaluation: false, replay: { quietMs: 10, scanIntervalMs: 50 } });
    await results.send(success({ requestId: id }));
    await until(() => getDeadLetter(reader, letter.id)?.state === 'replayed', 'the letter to be settled by the completion', 30_000);
    expect(getRequest(reader, id)?.state).toBe('done');
    expect(getDeadLetter(reader, letter.id)).toMatchObject({ replayCount: 0, note: 'the request completed' });
    // Only the two sends before the kill: nothing requeued the request a second time.
    expect(service.frames.map(idOf)).toEqual([id, id]);
    await shoal.stop();
    service.close();
    results.close();
  });

  it('a letter left replaying before its request was requeued (killed between the two) is replayed by the next runtime', async () => {
    const failing = new Set(['Cut-OOS']);
    const dir = temp.dir();
    let p = await pipeline(dir, { engine: switchable(failing, NO_DATA) });
    await p.shoal.upsertStrategies([hostStrategy('Cut')]);
    const id = await enqueued(p, 'Cut');
    await p.waitFor(() => getRequest(p.reader, id)?.state === 'dead', 'the request to die');
    await p.close();
    // What a kill right after the claim leaves behind: the letter claimed, the request still dead.
    const store = temp.open({ path: `${dir}/shoal.db` });
    applyBatch(store, [{ type: 'claimDeadLettersForReplay', ids: [letterOfStore(store, id).id], limit: 1, maxReplays: 3 }], Date.now());
    expect(letterOfStore(store, id).state).toBe('replaying');
    failing.clear();
    p = await pipeline(dir, { engine: switchable(failing, NO_DATA), config: { replay: { replayAtStartup: false, scanIntervalMs: 20 } } });
    await p.waitFor(() => letterOf(p, id).state === 'replayed', 'the stalled replay to be picked up and completed');
    expect(getRequest(p.reader, id)?.state).toBe('done');
    await p.close();
  });
});

describe('the result socket across restarts', () => {
  it('the result-handler crashed 20 times in a row rebinds its own port every time, and results still complete', async () => {
    const p = await pipeline(temp.dir(), { engine: echoEngine, config: { intensity: 1_000, restartBackoff: { minMs: 0, maxMs: 0, factor: 1, jitter: 0, resetAfterMs: 0, firstImmediate: true } } });
    const starts: string[] = [];
    const restarts: SystemEvent[] = [];
    const failures: string[] = [];
    p.shoal.system.events.subscribe((e) => {
      if (e.path !== paths.resultHandler) return;
      if (e.type === 'actor_started') starts.push(e.path);
      if (e.type === 'actor_restarted') restarts.push(e);
      if (e.type === 'actor_crashed') failures.push(e.error ?? '');
    });
    for (let i = 1; i <= 20; i++) {
      p.shoal.system.crashActor(p.shoal.system.lookup(paths.resultHandler)!, new Error(`injected crash ${i}`));
      await until(() => restarts.length === i && p.shoal.system.lookup(paths.resultHandler) !== undefined && p.shoal.snapshot().length > 0, `restart ${i}`);
      await until(() => starts.length >= i, `restart ${i} to finish binding`);
    }
    // Exactly the injected crashes: no restart failed to bind and had to be tried again.
    expect(failures).toEqual(Array.from({ length: 20 }, (_, i) => `Error: injected crash ${i + 1}`));
    const node = findNode(p.shoal.snapshot(), paths.resultHandler);
    expect(node?.status).toBe('running');
    expect(node?.lastError ?? '').not.toMatch(/in use/i);
    await p.shoal.upsertStrategies([hostStrategy('After')]);
    const id = await enqueued(p, 'After');
    await p.waitFor(() => getRequest(p.reader, id)?.state === 'done', 'a request after 20 restarts to complete');
    expect(countByState(p.reader).dead).toBe(0);
    await p.close();
  });
});

function findNode(nodes: readonly TreeNode[], path: string): TreeNode | undefined {
  for (const n of nodes) {
    if (n.path === path) return n;
    const inner = findNode(n.children ?? [], path);
    if (inner) return inner;
  }
  return undefined;
}

