/**
 * The control endpoint of a real runtime (real database, real sockets) over loopback HTTP: what it
 * shows matches the store, mutations need the token and take effect at once, and its address
 * file is there while it serves and gone after a clean stop.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { echoEngine, failingEngine, NO_DATA, type BacktestEngine } from '../../../backtester/engines.ts';
import { startControlEndpoint, type ControlEndpoint } from '../../../app/control/endpoint.ts';
import { controlSettings } from '../../../app/control/settings.ts';
import { controlFileOf, discoverControl } from '../../../app/control/discovery.ts';
import { callControl } from '../../../app/control/client.ts';
import { readTokenFile } from '../../../app/control/token.ts';
import { countByState, getRequest } from '../../../persistence/outbox.ts';
import { listDeadLetters } from '../../../persistence/dead-letters.ts';
import { useTempStores } from '../../persistence/helpers.ts';
import { hostStrategy, pipeline, requestInput, type Pipeline } from '../pipeline-harness.ts';

const temp = useTempStores();
const open: { p: Pipeline; c: ControlEndpoint }[] = [];
afterEach(async () => {
  for (const { p, c } of open.splice(0)) {
    await c.close();
    await p.close();
  }
});

async function running(engine: BacktestEngine): Promise<{ p: Pipeline; c: ControlEndpoint; token: string; dbPath: string }> {
  const dir = temp.dir();
  const p = await pipeline(dir, { engine });
  const dbPath = path.join(dir, 'shoal.db');
  const c = await startControlEndpoint(p.shoal, controlSettings({}));
  open.push({ p, c });
  return { p, c, token: readTokenFile(`${dbPath}.token`), dbPath };
}

async function enqueued(p: Pipeline, name: string): Promise<string> {
  const o = await p.shoal.enqueue(name, requestInput(name));
  if (o.status !== 'enqueued') throw new Error(`${name}: ${JSON.stringify(o)}`);
  return o.requestId;
}

describe('control endpoint of a running runtime', () => {
  it('creates the token file 0600 at first start and publishes its address; a clean stop removes the address', async () => {
    const { p, c, dbPath } = await running(echoEngine);
    expect(fs.statSync(`${dbPath}.token`).mode & 0o777).toBe(0o600);
    const found = discoverControl(dbPath);
    expect(found).toEqual({ found: true, address: expect.objectContaining({ pid: process.pid, url: c.url, readsNeedToken: false }) });
    // The same token at the next start: the file is read, not replaced.
    const token = readTokenFile(`${dbPath}.token`);
    await c.close();
    expect(fs.existsSync(controlFileOf(dbPath))).toBe(false);
    const again = await startControlEndpoint(p.shoal, controlSettings({}));
    open.push({ p, c: again });
    expect(readTokenFile(`${dbPath}.token`)).toBe(token);
  });

  it('tree, status, queue and events agree with the runtime and its store', async () => {
    const { p, c } = await running(echoEngine);
    await p.shoal.upsertStrategies([hostStrategy('A')]);
    const a = await enqueued(p, 'A');
    await p.waitFor(() => getRequest(p.reader, a)?.state === 'done', 'A to complete');
    const tree = await callControl(c, 'GET', '/v1/tree');
    expect(tree.status).toBe(200);
    const root = (tree.body as { tree: { path: string; status: string; startedAt: number; children: { path: string }[] }[] }).tree[0];
    expect(root).toMatchObject({ path: '/shoal', status: 'running', startedAt: expect.any(Number) });
    expect(root.children.map((n) => n.path)).toContain('/shoal/pipeline');
    const status = (await callControl(c, 'GET', '/v1/status')).body as Record<string, unknown>;
    expect(status).toMatchObject({ up: true, pid: process.pid, outbox: countByState(p.reader), inFlight: 0, oldestPendingAgeMs: null, restartsToday: 0, sending: { paused: false }, control: { url: c.url } });
    const queue = (await callControl(c, 'GET', '/v1/queue?state=done')).body as { counts: unknown; requests: { requestId: string }[] };
    expect(queue.counts).toEqual(countByState(p.reader));
    expect(queue.requests.map((r) => r.requestId)).toEqual([a]);
    expect((await callControl(c, 'GET', '/v1/queue?state=lost')).status).toBe(400);
    const metrics = (await callControl(c, 'GET', '/v1/metrics')).body as { flow: { completed: number; endToEndMs: { count: number } }; control: { requests: number } };
    expect(metrics.flow).toMatchObject({ completed: 1, enqueued: 1, sent: 1, endToEndMs: { count: 1 } });
    expect(metrics.control.requests).toBeGreaterThan(0);
    expect((await callControl(c, 'GET', '/v1/events?limit=5')).status).toBe(200);
  });

  it('pause and resume need the token and act on the sender at once', async () => {
    const { p, c, token } = await running(echoEngine);
    expect((await callControl(c, 'POST', '/v1/sending/pause')).status).toBe(401);
    expect((await callControl(c, 'POST', '/v1/sending/pause', { token: 'not-the-token-at-all' })).status).toBe(403);
    expect(p.shoal.stats.sender.paused).toBe(false);
    expect(await callControl(c, 'POST', '/v1/sending/pause', { token })).toMatchObject({ status: 200, body: { paused: true } });
    await p.shoal.upsertStrategies([hostStrategy('A')]);
    const a = await enqueued(p, 'A');
    await p.shoal.pauseSending();
    expect(getRequest(p.reader, a)?.state).toBe('pending');
    expect(((await callControl(c, 'GET', '/v1/status')).body as { sending: unknown }).sending).toMatchObject({ paused: true });
    expect(await callControl(c, 'POST', '/v1/sending/resume', { token })).toMatchObject({ status: 200, body: { paused: false } });
    await p.waitFor(() => getRequest(p.reader, a)?.state === 'done', 'A to complete after resume');
    expect(c.stats).toMatchObject({ unauthorized: 1, forbidden: 1 });
  });

  it('a pause while the sender is not running (a drain stopped it) is 503 unavailable, not a failure of the endpoint', async () => {
    const { p, c, token } = await running(echoEngine);
    await p.shoal.root.childSupervisor('pipeline')!.terminateChild('sender');
    expect(await callControl(c, 'POST', '/v1/sending/pause', { token })).toMatchObject({ status: 503, body: { error: { code: 'unavailable', message: expect.stringContaining('is not running') } } });
    expect(c.stats.failures).toBe(0);
  });

  it('dead letters: list and show match the store; replay through the endpoint takes effect at once; discard; refusals name why', async () => {
    const failing = new Set(['Bad-OOS', 'Gone-OOS']);
    const { p, c, token } = await running((req) => (failing.has(req.strategy.name) ? failingEngine(NO_DATA)(req) : echoEngine(req)));
    await p.shoal.upsertStrategies([hostStrategy('Bad'), hostStrategy('Gone')]);
    const bad = await enqueued(p, 'Bad');
    const gone = await enqueued(p, 'Gone');
    await p.waitFor(() => listDeadLetters(p.reader, { state: 'dead' }).length === 2, 'both requests to be dead-lettered');
    const listed = (await callControl(c, 'GET', '/v1/dead-letters')).body as { id: number; requestId: string }[];
    expect(listed).toEqual(JSON.parse(JSON.stringify(listDeadLetters(p.reader, { state: 'dead' }))));
    const [badLetter, goneLetter] = [listed.find((l) => l.requestId === bad)!, listed.find((l) => l.requestId === gone)!];
    expect((await callControl(c, 'GET', `/v1/dead-letters/${badLetter.id}`)).body).toMatchObject({ id: badLetter.id, requestId: bad });
    expect((await callControl(c, 'GET', '/v1/dead-letters/999999')).status).toBe(404);
    expect((await callControl(c, 'GET', '/v1/dead-letters/x')).status).toBe(400);

    expect((await callControl(c, 'POST', '/v1/dead-letters/replay', { body: { ids: [badLetter.id] } })).status).toBe(401);
    expect((await callControl(c, 'POST', '/v1/dead-letters/replay', { token, body: {} })).status).toBe(400);
    failing.delete('Bad-OOS');
    // The harness runs no periodic scan: only the endpoint's replay can bring it back.
    const replay = await callControl(c, 'POST', '/v1/dead-letters/replay', { token, body: { ids: [badLetter.id, 424242] } });
    expect(replay).toEqual({ status: 200, body: { claimed: 1, ids: [badLetter.id], refused: [{ id: 424242, why: 'no such letter (424242)' }], atCap: 0, maxReplays: 3 } });
    await p.waitFor(() => getRequest(p.reader, bad)?.state === 'done', 'the replayed request to complete');

    expect(await callControl(c, 'POST', `/v1/dead-letters/${goneLetter.id}/discard`, { token, body: { reason: 'retired' } })).toEqual({ status: 200, body: { id: goneLetter.id, discarded: true } });
    expect(await callControl(c, 'POST', `/v1/dead-letters/${goneLetter.id}/discard`, { token })).toMatchObject({ status: 409, body: { error: { code: 'not_discardable' } } });
    expect(listDeadLetters(p.reader, { requestId: gone, state: undefined })[0]).toMatchObject({ state: 'discarded', note: 'retired' });
  });
});
