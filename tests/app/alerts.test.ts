/**
 * Alerts from the running runtime: the sources are wired to the notifier, the alerts reach a real
 * webhook on 127.0.0.1, and the webhook URL (a token) stays out of every log line, as `shoal
 * start` logs them (secrets from the effective configuration).
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../app/log.ts';
import { runService, type SignalSource } from '../../app/service.ts';
import { effectiveConfig, secretValues, type ServiceSettings } from '../../app/service-config.ts';
import type { Shoal } from '../../app/shoal.ts';
import { paths } from '../../app/tree.ts';
import { useTempStores } from '../persistence/helpers.ts';
import { WebhookServer } from '../actors/webhook-server.ts';
import { freePort, hostStrategy, requestInput, until } from './pipeline-harness.ts';

const temp = useTempStores();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Line = Record<string, unknown> & { event?: string };

describe('alerts from the runtime', () => {
  it('a gate rejection and a supervisor giving up reach the webhook; a refused delivery is a log line; the webhook URL is in no line', async () => {
    const dir = temp.dir();
    const server = await new WebhookServer((r) => (r.url.includes('/discord/') ? { status: 404, body: `no webhook at ${r.url}` } : { status: 204 })).start();
    cleanups.push(() => server.close());
    const settings: ServiceSettings = {
      runtime: {
        dbPath: path.join(dir, 'shoal.db'),
        requestEndpoint: `tcp://127.0.0.1:${await freePort()}`,
        resultEndpoint: `tcp://127.0.0.1:${await freePort()}`,
        dataDir: dir,
        rankEvaluation: false,
        replay: { replayAtStartup: false, scanIntervalMs: 0 },
        intensity: 1,
        periodMs: 3_600_000,
        alerts: {
          webhooks: [
            { name: 'ops', kind: 'json', url: server.url('/ops/TOKEN-OPS') },
            { name: 'chat', kind: 'discord', url: server.url('/discord/api/webhooks/7/TOKEN-DISCORD') },
          ],
        },
      },
      logLevel: 'debug',
      drainTimeoutMs: 1_000,
    };
    const lines: Line[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Line);
        done();
      },
    });
    const log = await createLogger({ level: 'debug', destination, secrets: secretValues(effectiveConfig(settings, {})) });
    const signals = new EventEmitter() as unknown as SignalSource;
    let shoal: Shoal | undefined;
    const running = runService(settings, { log, env: {}, signals, exit: () => undefined, onStarted: (s) => (shoal = s) });
    cleanups.push(async () => {
      (signals as unknown as EventEmitter).emit('SIGTERM');
      await running;
    });
    await until(() => shoal !== undefined, 'the runtime to start');
    const kinds = () => server.requests.filter((r) => r.url.startsWith('/ops/')).map((r) => (r.body as { kind: string }).kind);

    await shoal!.upsertStrategies([hostStrategy('Bad')]);
    await shoal!.enqueue('Bad', requestInput('Bad', { candlesFile: path.join(dir, 'missing.csv') }));
    await until(() => kinds().includes('gate_rejected'), 'the gate alert at the JSON webhook');
    await until(() => lines.some((l) => l.event === 'alert_dead'), 'the refused Discord delivery in the log');
    expect(lines.find((l) => l.event === 'alert_dead')).toMatchObject({ level: 'error', kind: 'gate_rejected', webhook: 'chat', error: expect.stringContaining('HTTP 404') });

    // Two crashes of one pipeline actor within the period: the pipeline supervisor gives up.
    shoal!.system.crashActor(shoal!.system.lookup(paths.sender)!, new Error('injected once'));
    await until(() => lines.some((l) => l.event === 'restart' && l.path === paths.sender), 'the sender to be restarted');
    shoal!.system.crashActor(shoal!.system.lookup(paths.sender)!, new Error('injected twice'));
    await until(() => kinds().includes('supervisor_gave_up'), 'the give-up alert at the JSON webhook');
    const gaveUp = server.requests.find((r) => (r.body as { kind?: string }).kind === 'supervisor_gave_up')!;
    expect(gaveUp.body).toMatchObject({ key: paths.pipeline, severity: 'critical' });

    const text = JSON.stringify(lines);
    expect(text).not.toContain('TOKEN-OPS');
    expect(text).not.toContain('TOKEN-DISCORD');
    expect(lines.find((l) => l.event === 'start')).toMatchObject({ config: { alerts: { webhooks: [{ name: 'ops', url: '[redacted]' }, { name: 'chat', url: '[redacted]' }] } } });
  }, 120_000);
});
