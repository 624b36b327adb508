/**
 * `shoal start` and the sockets' security, as a user runs it (the built CLI): the result socket
 * binds 127.0.0.1 unless told otherwise; with CURVE on, the printed configuration and the logs
 * never show the secret key (the scrubber knows it), a bad key file is a configuration error of one
 * line, and a client without CURVE is refused with a `connection_refused` log line.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { curveKeyPair, Push } from 'zeromq';
import { createLogger } from '../../app/log.ts';
import { effectiveConfig, loadServiceConfig } from '../../app/service-config.ts';
import { startSecrets } from '../../cli/start.ts';
import { readKeyPair, writeKeyPair } from '../../transport/curve-keys.ts';
import { freePort, until } from '../app/pipeline-harness.ts';
import { useTempStores } from '../persistence/helpers.ts';
import { runCli } from './cli-process.ts';
import { startService, type RunningService } from './service-process.ts';

const temp = useTempStores();
/** How a refused plain client is told: the mismatch, or the hang-up when it noticed first. */
const PLAIN_REFUSED = /the peer does not use CURVE \(security mechanism mismatch\)|the peer closed the connection during the handshake/;
const running: RunningService[] = [];
afterEach(() => {
  for (const r of running.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
});

/** A config file with CURVE on, shoal's key pair written beside it. */
function curveSetup(extra: Record<string, unknown> = {}) {
  const dir = temp.dir();
  const files = writeKeyPair(dir, 'shoal');
  const secret = readKeyPair(files.secretKeyFile).secretKey;
  const curve = { enabled: true, secretKeyFile: files.secretKeyFile, serverPublicKey: curveKeyPair().publicKey, allowedClientKeys: [curveKeyPair().publicKey], ...extra };
  const file = path.join(dir, 'shoal.json');
  fs.writeFileSync(file, JSON.stringify({ rankEvaluation: false, replay: { replayAtStartup: false }, curve }));
  return { dir, files, secret, curve, file, dbPath: path.join(dir, 'shoal.db') };
}

/** An IPv4 address of this machine that is not loopback, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
}

describe('shoal start: the result socket', () => {
  // Rule: the result socket binds loopback by default, on the host's port variable; every interface only when asked.
  it('binds 127.0.0.1:$SWIMMY_PORT_BACKTEST_RES by default, and tcp://* only when resultsLoopbackOnly is false', async () => {
    const port = await freePort();
    const dir = temp.dir();
    const r = await runCli(['start', '--db', path.join(dir, 'x.db'), '--print-config'], { SWIMMY_PORT_BACKTEST_RES: String(port) });
    expect(JSON.parse(r.stdout)).toMatchObject({ resultEndpoint: `tcp://127.0.0.1:${port}` });
    const file = path.join(dir, 'all.json');
    fs.writeFileSync(file, JSON.stringify({ resultsLoopbackOnly: false }));
    const all = await runCli(['start', '--config', file, '--db', path.join(dir, 'x.db'), '--print-config'], { SWIMMY_PORT_BACKTEST_RES: String(port) });
    expect(JSON.parse(all.stdout)).toMatchObject({ resultEndpoint: `tcp://*:${port}` });

    // Running: bound on loopback, so another interface of this machine does not answer on that port.
    const shoal = startService(['--db', path.join(dir, 'run.db'), '--service', `tcp://127.0.0.1:${await freePort()}`, '--log-level', 'info'], { SWIMMY_PORT_BACKTEST_RES: String(port) });
    running.push(shoal);
    expect(await shoal.line('results_bound')).toMatchObject({ endpoint: `tcp://127.0.0.1:${port}` });
    const external = externalAddress();
    if (external !== undefined) {
      const attempt = await new Promise<string>((resolve) => {
        const socket = net.connect({ host: external, port }, () => {
          socket.destroy();
          resolve('connected');
        });
        // A firewall may drop rather than refuse: no answer is as good as a refusal here.
        socket.setTimeout(10_000, () => {
          socket.destroy();
          resolve('no answer');
        });
        socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(attempt).not.toBe('connected');
    }
    shoal.child.kill('SIGTERM');
    expect(await shoal.exited).toEqual({ code: 0, signal: null });
  }, 120_000);
});

describe('shoal start with CURVE', () => {
  // Rule: the printed configuration shows where the secret key is, never the key.
  it('--print-config shows the key file, not the secret key', async () => {
    const s = curveSetup();
    const r = await runCli(['start', '--config', s.file, '--db', s.dbPath, '--print-config']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toMatchObject({ curve: s.curve });
    expect(r.stdout).not.toContain(s.secret);
  });

  // Rule: a bad key file, or the secret key written where a public one belongs, is a configuration error of one line (exit 2) that never shows the key.
  it('refuses a readable secret key file and a misplaced secret key in one line', async () => {
    const s = curveSetup();
    fs.chmodSync(s.files.secretKeyFile, 0o644);
    const readable = await runCli(['start', '--config', s.file, '--db', s.dbPath]);
    expect(readable).toMatchObject({ code: 2, stdout: '', stderr: `shoal start: curve: secret key file ${s.files.secretKeyFile} may be read by other users (mode 0644); chmod 600 it\n` });

    const m = curveSetup();
    fs.writeFileSync(m.file, JSON.stringify({ curve: { ...m.curve, allowedClientKeys: [m.secret] } }));
    const misplaced = await runCli(['start', '--config', m.file, '--db', m.dbPath, '--print-config']);
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toBe("shoal start: curve: shoal's secret key is among curve.serverPublicKey/curve.allowedClientKeys; those take public keys (the .pub files)\n");
    expect(misplaced.stdout + misplaced.stderr).not.toContain(m.secret);
    expect(fs.existsSync(m.dbPath)).toBe(false);
  });

  // Rule: the log's scrubber knows the CURVE secret key: wherever it would appear in a line, it is [redacted].
  it('the logger of shoal start removes the CURVE secret key from any line', async () => {
    const s = curveSetup();
    const settings = loadServiceConfig({ configFile: s.file, flags: { db: s.dbPath }, env: {} });
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
    const log = await createLogger({ level: 'info', secrets: startSecrets(effectiveConfig(settings, {})), destination });
    log.error({ event: 'test', error: `zmq said: bad key ${s.secret}` }, `failed with ${s.secret}`);
    await until(() => lines.length === 1, 'the line to be written');
    expect(lines[0]).not.toContain(s.secret);
    expect(lines[0]).toContain('bad key [redacted]');
  });

  // Rule: a client without CURVE is refused, and `shoal start` logs it (connection_refused) without any secret.
  it('logs connection_refused for a plain client, and never the secret key', async () => {
    const s = curveSetup();
    const resultEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    const shoal = startService(['--config', s.file, '--db', s.dbPath, '--service', `tcp://127.0.0.1:${await freePort()}`, '--service-results', resultEndpoint]);
    running.push(shoal);
    await shoal.line('start');
    const plain = new Push({ linger: 0 });
    try {
      plain.connect(resultEndpoint);
      void plain.send('((type . "BACKTEST_RESULT"))').catch(() => undefined);
      const line = await shoal.line('connection_refused');
      // Which side notices the mismatch first is a race: either we read its greeting, or it hangs up on ours.
      expect(line).toMatchObject({ level: 'warn', source: '/shoal/pipeline/result-handler', detail: expect.stringMatching(PLAIN_REFUSED) });
      expect(line.detail).toContain(`handshake on ${resultEndpoint} refused: `);
    } finally {
      plain.close();
    }
    shoal.child.kill('SIGTERM');
    expect(await shoal.exited).toEqual({ code: 0, signal: null });
    expect(shoal.stdout() + shoal.stderr()).not.toContain(s.secret);
    expect(shoal.lines.find((l) => l.event === 'start')).toMatchObject({ config: { curve: { secretKeyFile: s.files.secretKeyFile } } });
  }, 120_000);
});
