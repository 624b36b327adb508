/**
 * Fuzzing the control endpoint of a real runtime with random HTTP requests over raw TCP: methods,
 * paths near the real routes, headers (a right, wrong or missing token, lying lengths) and
 * bodies (JSON, near-JSON, bytes). Rules: every request gets an HTTP answer (JSON with an error
 * code when it is an error), no handler fails (no 500), nothing restarts, and the endpoint still
 * answers afterwards.
 */
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { echoEngine } from '../../backtester/engines.ts';
import { startControlEndpoint } from '../../app/control/endpoint.ts';
import { controlSettings } from '../../app/control/settings.ts';
import { readTokenFile } from '../../app/control/token.ts';
import { useTempStores } from '../persistence/helpers.ts';
import { pipeline } from '../app/pipeline-harness.ts';
import { fuzzParams, fuzzTimeout } from './runs.ts';

const temp = useTempStores();
const RUNS = 200;

const ROUTES = ['/v1/tree', '/v1/status', '/v1/queue', '/v1/dead-letters', '/v1/dead-letters/1', '/v1/dead-letters/replay', '/v1/dead-letters/1/discard', '/v1/sending/pause', '/v1/sending/resume', '/v1/metrics', '/v1/events'];

/** What `exchange` answers when the server neither answered nor closed: a hang. */
const HUNG = 'no answer and no close within 60 s';

/** Sends raw bytes and reads until the server has answered or closes; the answer's text. */
function exchange(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1');
    const finish = (text: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    const done = () => finish(Buffer.concat(chunks).toString('latin1'));
    // Not a limit on speed: the endpoint's own request timeout (10 s) answers long before this
    // unless it hangs, which the property then reports.
    const timer = setTimeout(() => finish(HUNG), 60_000);
    socket.on('data', (d) => {
      chunks.push(d);
      // One answer is all we asked for: stop once its body is complete.
      const text = Buffer.concat(chunks).toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      if (head >= 0 && length !== undefined && text.length >= head + 4 + Number(length)) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.on('connect', () => socket.end(bytes));
  });
}

describe('control endpoint fuzz', () => {
  it(
    'random HTTP requests each get an HTTP answer (a JSON error code for every error), none makes a handler fail, nothing restarts, and the endpoint still serves',
    async () => {
      const dir = temp.dir();
      const p = await pipeline(dir, { engine: echoEngine });
      const failures: string[] = [];
      const c = await startControlEndpoint(p.shoal, controlSettings({}), { onFailure: (e, at) => failures.push(`${at.method} ${at.path}: ${(e as Error).stack ?? String(e)}`) });
      const port = Number(new URL(c.url!).port);
      const token = readTokenFile(`${path.join(dir, 'shoal.db')}.token`);
      const pathArb = fc.oneof(fc.constantFrom(...ROUTES), fc.constantFrom(...ROUTES).chain((r) => fc.string({ maxLength: 12 }).map((x) => r + x)), fc.string({ maxLength: 30 }).map((x) => `/${x}`));
      const bodyArb = fc.oneof(fc.constant(''), fc.json({ maxDepth: 3 }), fc.string({ maxLength: 200 }), fc.constantFrom('{"ids":[1,2,3]}', '{"ids":"x"}', '{"maxReplays":-1}', '{', 'null', '[]'));
      const requestArb = fc.record({
        method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'get', 'BREW', ''),
        path: pathArb,
        auth: fc.constantFrom('right', 'wrong', 'none', 'garbled'),
        body: bodyArb,
        lie: fc.constantFrom('none', 'short', 'long', 'absent'),
        version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/9', ''),
      });
      await fc.assert(
        fc.asyncProperty(requestArb, async (r) => {
          const auth = { right: `Bearer ${token}`, wrong: `Bearer ${'x'.repeat(token.length)}`, none: '', garbled: 'Bearer\u0000\u00ff' }[r.auth];
          const body = Buffer.from(r.body, 'utf8');
          const length = { none: body.length, short: Math.max(0, body.length - 1), long: body.length + 5, absent: -1 }[r.lie];
          const head = [`${r.method} ${r.path} ${r.version}`.trim(), 'Host: 127.0.0.1', ...(auth ? [`Authorization: ${auth}`] : []), ...(length >= 0 ? [`Content-Length: ${length}`] : []), 'Connection: close', '', ''].join('\r\n');
          const answer = await exchange(port, Buffer.concat([Buffer.from(head, 'latin1'), body]));
          expect(answer).not.toBe(HUNG);
          if (answer === '') return; // the parser dropped a request that was not HTTP at all (counted as malformed)
          const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1]);
          expect(Number.isInteger(status), answer.slice(0, 80)).toBe(true);
          expect(status).not.toBe(500);
          if (status >= 400 && r.method !== 'HEAD' && /content-type: application\/json/i.test(answer)) {
            // The first answer only: bytes past a lying Content-Length make a second request.
            const start = answer.indexOf('\r\n\r\n') + 4;
            const json = JSON.parse(answer.slice(start, start + Number(/content-length: (\d+)/i.exec(answer)?.[1]))) as { error?: { code?: string } };
            expect(typeof json.error?.code).toBe('string');
          }
        }),
        fuzzParams(RUNS),
      );
      expect(failures).toEqual([]);
      expect(c.stats.failures).toBe(0);
      expect(p.shoal.status().restarts).toBe(0);
      const after = await exchange(port, Buffer.from('GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      expect(after).toMatch(/^HTTP\/1\.1 200/);
      await c.close();
      await p.close();
    },
    fuzzTimeout(RUNS, 50),
  );
});
