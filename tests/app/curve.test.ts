/**
 * CURVE in the running flow (real sockets on 127.0.0.1, a real database): with `curve` enabled,
 * shoal's PUSH talks only to a service with the configured key, and its result socket stores
 * results only from clients of the allow-list. A client with another key or without CURVE cannot
 * inject a result: the attempt is counted, recorded as a `connection_refused` failure and told as
 * an event (which `shoal start` logs). The settings' checks are tested directly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { curveKeyPair, Push } from 'zeromq';
import { echoEngine } from '../../backtester/engines.ts';
import { startBacktestService } from '../../backtester/service.ts';
import { loadCurve, missingCurveSettings } from '../../app/curve.ts';
import { secretValues } from '../../app/service-config.ts';
import { ConfigError } from '../../app/config-schema.ts';
import { oosConfig } from '../../app/config.ts';
import type { ShoalEvent } from '../../app/api.ts';
import { failureEventsSince } from '../../persistence/events.ts';
import { getRequest } from '../../persistence/outbox.ts';
import { decodeBacktestRequest, encodeBacktestResult, type BacktestResultInput } from '../../protocol/index.ts';
import { readKeyPair, writeKeyPair } from '../../transport/curve-keys.ts';
import { PullChannel } from '../../transport/pull-channel.ts';
import { PushChannel } from '../../transport/push-channel.ts';
import { useTempStores } from '../persistence/helpers.ts';
import { freePort, hostStrategy, pipeline, requestInput, until } from './pipeline-harness.ts';

const temp = useTempStores();

describe('loadCurve', () => {
  // Rule: CURVE is off unless enabled; off, no key file is read.
  it('is off unless enabled', () => {
    expect(loadCurve(undefined)).toBeUndefined();
    expect(loadCurve({ enabled: false, secretKeyFile: '/nonexistent.key' })).toBeUndefined();
  });

  // Rule: enabled but incomplete settings refuse the start in one line naming every missing key.
  it('names what is missing in one line', () => {
    expect(missingCurveSettings({ enabled: true })).toHaveLength(3);
    expect(() => loadCurve({ enabled: true })).toThrow(ConfigError);
    expect(() => loadCurve({ enabled: true, serverPublicKey: curveKeyPair().publicKey, allowedClientKeys: [curveKeyPair().publicKey] })).toThrow(
      "curve is enabled but 'curve.secretKeyFile' (shoal's secret key, from shoal keys generate) is not set",
    );
  });

  // Rule: a bad key file is a configuration error of one line, and its secret is handed to the log's scrubber.
  it('reads the key pair, refusing a bad file as a configuration error', () => {
    const dir = temp.dir();
    const files = writeKeyPair(dir, 'shoal');
    const settings = { enabled: true, secretKeyFile: files.secretKeyFile, serverPublicKey: curveKeyPair().publicKey, allowedClientKeys: [curveKeyPair().publicKey] };
    const curve = loadCurve(settings)!;
    expect(curve.server).toMatchObject({ role: 'server', allowedClientKeys: settings.allowedClientKeys, keys: { publicKey: files.publicKey } });
    expect(curve.client).toMatchObject({ role: 'client', serverKey: settings.serverPublicKey, keys: { publicKey: files.publicKey } });
    expect(curve.secrets).toEqual([readKeyPair(files.secretKeyFile).secretKey]);
    fs.chmodSync(files.secretKeyFile, 0o644);
    expect(() => loadCurve(settings)).toThrow(new ConfigError(`curve: secret key file ${files.secretKeyFile} may be read by other users (mode 0644); chmod 600 it`));
  });

  // Rule: the curve key is checked like any other: a bad public key or an unknown field is refused naming where.
  it('the configuration check refuses bad keys and unknown fields', () => {
    expect(() => oosConfig({ dbPath: 'x.db', curve: { enabled: true, serverPublicKey: 'nope' } })).toThrow("configuration key 'curve.serverPublicKey' must be a 40-character Z85 CURVE key, got \"nope\"");
    expect(() => oosConfig({ dbPath: 'x.db', curve: { enabled: true, allowedClientKeys: ['short'] } })).toThrow("configuration key 'curve.allowedClientKeys' must be a list of 40-character Z85 public keys, got \"short\"");
    expect(() => oosConfig({ dbPath: 'x.db', curve: { enable: true } as never })).toThrow(/unknown key 'enable'/);
  });
});

describe('the flow with CURVE on (real sockets)', () => {
  // Rule: with CURVE on, an allowed service gets requests and its results are stored; another key or no CURVE injects nothing,
  // and each attempt is counted, recorded and told.
  it('stores the allowed service results and refuses, records and tells the others', async () => {
    const dir = temp.dir();
    const shoalFiles = writeKeyPair(dir, 'shoal');
    const serviceKeys = readKeyPair(writeKeyPair(dir, 'service').secretKeyFile);
    const stranger = curveKeyPair();
    // The service's side: a CURVE PULL that lets only shoal's key in, a CURVE PUSH that expects shoal's key.
    const requests = await PullChannel.bind('tcp://127.0.0.1:0', { curve: { role: 'server', keys: serviceKeys, allowedClientKeys: [shoalFiles.publicKey] }, name: 'service' });
    const p = await pipeline(dir, {
      config: {
        requestEndpoint: requests.endpoint,
        curve: { enabled: true, secretKeyFile: shoalFiles.secretKeyFile, serverPublicKey: serviceKeys.publicKey, allowedClientKeys: [serviceKeys.publicKey] },
      },
    });
    const seen: ShoalEvent[] = [];
    p.shoal.events.subscribe((e) => seen.push(e));
    const results = new PushChannel(p.resultEndpoint, { curve: { role: 'client', keys: serviceKeys, serverKey: shoalFiles.publicKey }, sendTimeoutMs: 20_000 });
    const plain = new Push({ linger: 0 });
    let intruder: PushChannel | undefined;
    const refusedDetails = () => failureEventsSince(p.reader, 0).filter((f) => f.kind === 'connection_refused').map((f) => f.detail ?? '');
    try {
      await p.shoal.upsertStrategies([hostStrategy('A'), hostStrategy('B')]);
      const a = await p.shoal.enqueue('A', requestInput('A'));
      const b = await p.shoal.enqueue('B', requestInput('B'));
      if (a.status !== 'enqueued' || b.status !== 'enqueued') throw new Error('not enqueued');
      // Both requests reach the service over CURVE.
      const answers = new Map<string, string>();
      while (answers.size < 2) {
        const req = decodeBacktestRequest(await requests.receive());
        if (!req.ok) throw new Error(req.error.message);
        answers.set(req.value.requestId, encodeBacktestResult((await echoEngine(req.value)) as BacktestResultInput));
      }

      // A client without CURVE: refused at the handshake (alone, so the refusal is its own).
      plain.connect(p.resultEndpoint);
      void plain.send(answers.get(b.requestId)!).catch(() => undefined);
      await until(() => p.shoal.stats.results.refusals.refused >= 1, 'the result socket to refuse the plain client');
      plain.close();
      intruder = new PushChannel(p.resultEndpoint, { curve: { role: 'client', keys: stranger, serverKey: shoalFiles.publicKey }, sendTimeoutMs: 100 });
      // A stranger's key: refused by the allow-list, its result for B never arrives (it is not even connected).
      await until(() => refusedDetails().some((d) => d.includes(stranger.publicKey)), 'the result socket to refuse the stranger, recorded');
      await expect(intruder.send(answers.get(b.requestId)!)).rejects.toThrow(/no connected peer/);

      // The allowed service's result for A is stored; B is still waiting for its own.
      await results.send(answers.get(a.requestId)!);
      expect(await p.shoal.outcome(a.requestId)).toMatchObject({ status: 'done', strategyName: 'A' });
      expect(getRequest(p.reader, b.requestId)?.state).toBe('in_flight');
      expect(p.shoal.stats.results.frames).toBe(1);

      // Each refusal is recorded (with the peer and, from the ZAP handler, the key) and told once durable.
      await until(() => seen.filter((e) => e.type === 'connectionRefused').length >= 2, 'the connectionRefused events');
      const recorded = failureEventsSince(p.reader, 0).filter((f) => f.kind === 'connection_refused');
      expect(recorded[0].detail).toMatch(/refused: (the peer does not use CURVE|the peer closed the connection during the handshake)/);
      expect(recorded.map((f) => f.detail)).toContain(`handshake on ${p.resultEndpoint} refused: client key not in the allow-list (peer 127.0.0.1, key ${stranger.publicKey})`);
      expect(recorded.every((f) => f.source === '/shoal/pipeline/result-handler')).toBe(true);
      // No secret key anywhere in what was recorded.
      const text = JSON.stringify(recorded);
      for (const secret of [stranger.secretKey, serviceKeys.secretKey, readKeyPair(shoalFiles.secretKeyFile).secretKey]) expect(text).not.toContain(secret);

      await results.send(answers.get(b.requestId)!);
      expect(await p.shoal.outcome(b.requestId)).toMatchObject({ status: 'done', strategyName: 'B' });
    } finally {
      results.close();
      intruder?.close();
      if (!plain.closed) plain.close();
      requests.close();
      await p.close();
    }
  });

  // Rule: with the bundled service speaking CURVE with the right keys, the flow runs as in plain TCP.
  it('runs the flow end to end with the bundled service over CURVE', async () => {
    const dir = temp.dir();
    const shoalFiles = writeKeyPair(dir, 'shoal');
    const serviceKeys = readKeyPair(writeKeyPair(dir, 'service').secretKeyFile);
    const requestEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    const p = await pipeline(dir, {
      config: { requestEndpoint, curve: { enabled: true, secretKeyFile: shoalFiles.secretKeyFile, serverPublicKey: serviceKeys.publicKey, allowedClientKeys: [serviceKeys.publicKey] } },
    });
    const logged: string[] = [];
    const service = await startBacktestService({
      bind: requestEndpoint,
      resultEndpoint: p.resultEndpoint,
      engine: echoEngine,
      curve: { keys: serviceKeys, allowedClientKeys: [shoalFiles.publicKey], serverKey: shoalFiles.publicKey },
      log: (l) => logged.push(l),
    });
    try {
      await p.shoal.upsertStrategies([hostStrategy('A')]);
      const a = await p.shoal.enqueue('A', requestInput('A'));
      if (a.status !== 'enqueued') throw new Error('not enqueued');
      expect(await p.shoal.outcome(a.requestId)).toMatchObject({ status: 'done', strategyName: 'A' });
      expect(p.shoal.stats.results.refusals.refused + p.shoal.stats.sender.refusals.refused).toBe(0);
      expect(logged).toEqual([]);
    } finally {
      await service.stop();
      await p.close();
    }
  });

  // Rule: shoal's PUSH does not hand requests to a service whose key is not the configured one; the failed handshake is recorded.
  it('does not send to a service with another key', async () => {
    const dir = temp.dir();
    const shoalFiles = writeKeyPair(dir, 'shoal');
    const expected = curveKeyPair();
    const impostor = curveKeyPair();
    const requests = await PullChannel.bind('tcp://127.0.0.1:0', { curve: { role: 'server', keys: impostor, allowedClientKeys: [shoalFiles.publicKey] }, name: 'impostor' });
    const p = await pipeline(dir, {
      config: { requestEndpoint: requests.endpoint, curve: { enabled: true, secretKeyFile: shoalFiles.secretKeyFile, serverPublicKey: expected.publicKey, allowedClientKeys: [expected.publicKey] } },
    });
    try {
      await until(() => p.shoal.stats.sender.refusals.refused >= 1, "the sender's handshake with the impostor to fail");
      expect(p.shoal.stats.sender.peers).toBe(0);
      await until(() => failureEventsSince(p.reader, 0).some((f) => f.kind === 'connection_refused' && f.source === '/shoal/pipeline/sender'), 'the refusal to be recorded');
    } finally {
      requests.close();
      await p.close();
    }
  });

  // Rule: key files are read before anything opens; a bad one refuses the start with one line.
  it('refuses to start on a secret key file others may read', async () => {
    const dir = temp.dir();
    const files = writeKeyPair(dir, 'shoal');
    fs.chmodSync(files.secretKeyFile, 0o604);
    await expect(
      pipeline(dir, { config: { curve: { enabled: true, secretKeyFile: files.secretKeyFile, serverPublicKey: curveKeyPair().publicKey, allowedClientKeys: [curveKeyPair().publicKey] } } }),
    ).rejects.toThrow(`curve: secret key file ${files.secretKeyFile} may be read by other users (mode 0604); chmod 600 it`);
    expect(fs.existsSync(path.join(dir, 'shoal.db'))).toBe(false);
  });
});

describe('secrets of a CURVE configuration', () => {
  // Rule: the key file's path is not a secret (it is shown), the key read from it is (the scrubber gets it).
  it('treats curve.secretKeyFile as a path and the key it holds as the secret', () => {
    const dir = temp.dir();
    const files = writeKeyPair(dir, 'shoal');
    const config = oosConfig({ dbPath: 'x.db', curve: { enabled: true, secretKeyFile: files.secretKeyFile, serverPublicKey: curveKeyPair().publicKey, allowedClientKeys: [curveKeyPair().publicKey] } }, {});
    expect(secretValues(config)).not.toContain(files.secretKeyFile);
    expect(loadCurve(config.curve)?.secrets).toEqual([readKeyPair(files.secretKeyFile).secretKey]);
  });
});
