/** The control server's mechanism over real HTTP on loopback and a real Unix socket: routes, token, limits, failures. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlStats, HttpError, matchRoute, serveControl, type ControlServer, type Route } from '../../../app/control/server.ts';
import { callControl } from '../../../app/control/client.ts';
import { useTempStores } from '../../persistence/helpers.ts';
import { until } from '../../wait.ts';

const temp = useTempStores();
const TOKEN = 'a-test-token-of-enough-length';

const servers: ControlServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

let release: (() => void) | undefined;
const routes: Route[] = [
  { method: 'GET', path: '/v1/ping', access: 'read', handle: () => ({ pong: true }) },
  { method: 'GET', path: '/v1/items/:id', access: 'read', handle: ({ params }) => ({ id: params.id }) },
  { method: 'POST', path: '/v1/echo', access: 'write', handle: ({ body }) => ({ got: body }) },
  { method: 'GET', path: '/v1/boom', access: 'read', handle: () => { throw new Error('kaboom'); } },
  { method: 'GET', path: '/v1/refuse', access: 'read', handle: () => { throw new HttpError(409, 'conflict', 'not now'); } },
  { method: 'GET', path: '/v1/hang', access: 'read', handle: () => new Promise((r) => (release = () => r({ late: true }))) },
];

async function serve(over: Partial<Parameters<typeof serveControl>[0]> = {}) {
  const stats = new ControlStats();
  const failures: string[] = [];
  const server = await serveControl({
    routes,
    listen: { host: '127.0.0.1', port: 0 },
    token: TOKEN,
    readsNeedToken: false,
    maxBodyBytes: 1024,
    requestTimeoutMs: 10_000,
    stats,
    onFailure: (e) => failures.push((e as Error).message),
    ...over,
  });
  servers.push(server);
  return { server, stats, failures };
}

/** Raw bytes to the server; resolves with everything it answered before closing. */
function raw(url: string, bytes: string | Buffer): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname, () => socket.end(bytes));
    let got = '';
    socket.on('data', (d) => (got += d.toString()));
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

describe('route matching', () => {
  it('a path no route has is 404, a known path with another method is 405 naming the allowed ones, parameters are decoded', () => {
    expect(matchRoute(routes, 'GET', '/v1/nope')).toEqual({ status: 404 });
    expect(matchRoute(routes, 'DELETE', '/v1/echo')).toEqual({ status: 405, allow: ['POST'] });
    expect(matchRoute(routes, 'GET', '/v1/items/a%20b')).toMatchObject({ params: { id: 'a b' } });
    expect(matchRoute(routes, 'GET', '/v1/items/')).toEqual({ status: 404 });
  });
});

describe('control server over loopback HTTP', () => {
  it('answers JSON; unknown routes are 404 and wrong methods 405 with Allow, each as { error: { code, message } }', async () => {
    const { server, stats } = await serve();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await callControl(server, 'GET', '/v1/ping')).toEqual({ status: 200, body: { pong: true } });
    expect(await callControl(server, 'GET', '/v1/nope')).toEqual({ status: 404, body: { error: { code: 'not_found', message: expect.stringContaining('/v1/nope') } } });
    expect(await callControl(server, 'GET', '/v1/echo')).toMatchObject({ status: 405, body: { error: { code: 'method_not_allowed' } } });
    expect(await callControl(server, 'GET', '/v1/refuse')).toEqual({ status: 409, body: { error: { code: 'conflict', message: 'not now' } } });
    expect(stats.byStatus).toMatchObject({ 200: 1, 404: 1, 405: 1, 409: 1 });
  });

  it('a mutation without the token is 401, with a wrong one 403 (each counted); with the token it runs', async () => {
    const { server, stats } = await serve();
    expect(await callControl(server, 'POST', '/v1/echo', { body: { a: 1 } })).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(await callControl(server, 'POST', '/v1/echo', { body: { a: 1 }, token: 'wrong' })).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(await callControl(server, 'POST', '/v1/echo', { body: { a: 1 }, token: `${TOKEN}x` })).toMatchObject({ status: 403 });
    expect(await callControl(server, 'POST', '/v1/echo', { body: { a: 1 }, token: TOKEN })).toEqual({ status: 200, body: { got: { a: 1 } } });
    expect(stats).toMatchObject({ unauthorized: 1, forbidden: 2 });
  });

  it('reads need the token too when the server says so (a remote bind)', async () => {
    const { server } = await serve({ readsNeedToken: true });
    expect((await callControl(server, 'GET', '/v1/ping')).status).toBe(401);
    expect((await callControl(server, 'GET', '/v1/ping', { token: TOKEN })).status).toBe(200);
  });

  it('a body over the limit is refused with 413 (declared or streamed), bad JSON with 400, and the server goes on', async () => {
    const { server, stats } = await serve();
    const big = { pad: 'x'.repeat(2_000) };
    expect(await callControl(server, 'POST', '/v1/echo', { body: big, token: TOKEN })).toMatchObject({ status: 413, body: { error: { code: 'body_too_large' } } });
    // Chunked, with no declared length: refused as it streams.
    const port = new URL(server.url!).port;
    const chunked = await raw(server.url!, `POST /v1/echo HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nauthorization: Bearer ${TOKEN}\r\ntransfer-encoding: chunked\r\n\r\n800\r\n${'y'.repeat(0x800)}\r\n0\r\n\r\n`);
    expect(chunked).toMatch(/^HTTP\/1\.1 413/);
    const badJson = await raw(server.url!, `POST /v1/echo HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\ncontent-length: 5\r\nconnection: close\r\n\r\n{nope`);
    expect(badJson).toMatch(/^HTTP\/1\.1 400[\s\S]*"bad_json"/);
    expect(stats.tooLarge).toBe(2);
    expect(await callControl(server, 'GET', '/v1/ping')).toMatchObject({ status: 200 });
  });

  it('survives garbage: bytes that are not HTTP get a 400 and are counted; a handler that throws is a 500, counted and reported', async () => {
    const { server, stats, failures } = await serve();
    expect(await raw(server.url!, Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]))).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(server.url!, 'GET / HTTP/9.9 nonsense\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(stats.malformed).toBe(2);
    expect(await callControl(server, 'GET', '/v1/boom')).toEqual({ status: 500, body: { error: { code: 'internal', message: expect.stringContaining('kaboom') } } });
    expect(stats.failures).toBe(1);
    expect(failures).toEqual(['kaboom']);
    expect(await callControl(server, 'GET', '/v1/ping')).toMatchObject({ status: 200 });
  });

  // Found by tests/fuzz/control.fuzz.test.ts: `//` made the URL parser throw, a 500.
  it('a request target that is no path (such as //) or a parameter that does not decode (1%) is a 400 bad_target, not a handler failure', async () => {
    const { server, stats } = await serve();
    const answer = await raw(server.url!, 'GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(answer).toContain('"code":"bad_target"');
    // Also found by the fuzzer: a parameter whose %-escape does not decode.
    expect(await raw(server.url!, 'GET /v1/items/1% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400[^]*bad_target/);
    expect(stats.failures).toBe(0);
  });

  // Found by the control endpoint fuzzer: a client that closes mid-body was counted as a handler failure.
  it('a client that closes before its body is complete is counted as aborted, not as a failure', async () => {
    const { server, stats, failures } = await serve();
    await raw(server.url!, `POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 50\r\n\r\n{"a":`);
    await until(() => stats.aborted === 1, 'the abort to be counted');
    expect([stats.failures, failures]).toEqual([0, []]);
  });

  it('a handler that does not answer in time is a 503 timeout, counted', async () => {
    const { server, stats } = await serve({ requestTimeoutMs: 200 });
    expect(await callControl(server, 'GET', '/v1/hang')).toMatchObject({ status: 503, body: { error: { code: 'timeout' } } });
    expect(stats.timeouts).toBe(1);
    release?.();
  });

  it('serves on a Unix socket only its owner can use, replacing a stale socket file', async () => {
    const socket = path.join(temp.dir(), 'control.sock');
    // A socket file left by a runtime killed with SIGKILL (a clean close would have removed it).
    const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => holder.stdout.once('data', () => r()));
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    expect(fs.lstatSync(socket).isSocket()).toBe(true);
    const { server } = await serve({ listen: { socket } });
    expect(server.socket).toBe(socket);
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    expect(await callControl(server, 'GET', '/v1/ping')).toEqual({ status: 200, body: { pong: true } });
  });
});
