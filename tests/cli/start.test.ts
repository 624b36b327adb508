/**
 * `shoal start` as a user and a service manager run it: the built CLI in a child process, real
 * sockets on 127.0.0.1, a real database, signals sent to it. Waits are on its log lines.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBacktestService, type BacktestService } from '../../backtester/service.ts';
import { echoEngine, type BacktestEngine } from '../../backtester/engines.ts';
import { openStore } from '../../persistence/connection.ts';
import { START_FLAGS } from '../../app/service-config.ts';
import { count, useTempStores } from '../persistence/helpers.ts';
import { freePort, heldEngine, until } from '../app/pipeline-harness.ts';
import { runCli } from './cli-process.ts';
import { seedOutbox, startService, type RunningService } from './service-process.ts';

const temp = useTempStores();
const SECRET = 'S3CR3T-W3BH00K-T0K3N';
/** A webhook on a closed loopback port: nothing leaves the machine, and nothing is posted in these tests anyway. */
const WEBHOOK = `http://127.0.0.1:9/api/webhooks/1/${SECRET}`;

const running: RunningService[] = [];
const services: BacktestService[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  for (const s of services.splice(0)) await s.stop();
});

function start(args: string[], env: Record<string, string> = {}): RunningService {
  const r = startService(args, env);
  running.push(r);
  return r;
}

interface Setup {
  dir: string;
  dbPath: string;
  args: string[];
  requestEndpoint: string;
  resultEndpoint: string;
}

/** A config file that keeps the runtime to the seeded requests, and the flags that point it at the test's sockets. */
async function setup(config: Record<string, unknown> = {}): Promise<Setup> {
  const dir = temp.dir();
  const dbPath = path.join(dir, 'shoal.db');
  const requestEndpoint = `tcp://127.0.0.1:${await freePort()}`;
  const resultEndpoint = `tcp://127.0.0.1:${await freePort()}`;
  const file = path.join(dir, 'shoal.json');
  fs.writeFileSync(file, JSON.stringify({ rankEvaluation: false, replay: { replayAtStartup: false }, webhookUrl: WEBHOOK, ...config }));
  return { dir, dbPath, requestEndpoint, resultEndpoint, args: ['--config', file, '--db', dbPath, '--service', requestEndpoint, '--service-results', resultEndpoint] };
}

async function service(s: Setup, engine: BacktestEngine, concurrency: number): Promise<BacktestService> {
  const svc = await startBacktestService({ bind: s.requestEndpoint, resultEndpoint: s.resultEndpoint, engine, concurrency });
  services.push(svc);
  return svc;
}

describe('shoal start: usage and configuration', () => {
  // Rule: --help explains every option, gives an example and the exit codes.
  it('--help explains every option, with examples and exit codes, and exits 0', async () => {
    const r = await runCli(['start', '--help']);
    expect(r.code).toBe(0);
    for (const f of START_FLAGS) expect(r.stdout).toContain(`--${f.flag}`);
    expect(r.stdout).toMatch(/--config FILE/);
    expect(r.stdout).toMatch(/--print-config/);
    expect(r.stdout).toMatch(/Examples:\n {2}shoal start --config /);
    expect(r.stdout).toMatch(/Exit codes: 0 stopped on a signal/);
    expect((await runCli(['--help'])).stdout).toMatch(/^ {2}start /m);
  });

  // Rule: bad input is refused before anything opens, on one line naming where it came from; exit 2.
  it('refuses an unknown key, a bad value or a missing file with one line and exit code 2, creating nothing', async () => {
    const dir = temp.dir();
    const dbPath = path.join(dir, 'shoal.db');
    const file = path.join(dir, 'shoal.json');
    fs.writeFileSync(file, JSON.stringify({ widnow: 4 }));
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--config', file], {}, /^shoal start: config file .*shoal\.json: unknown configuration key 'widnow' \(did you mean 'window'\?\); known keys: /],
      [['--window', '0'], {}, /^shoal start: --window: configuration key 'window' must be an integer >= 1, got 0$/],
      [['--config', path.join(dir, 'none.json')], {}, /^shoal start: cannot read config file .*none\.json: no such file$/],
      [[], { SHOAL_LOG_LEVEL: 'loud' }, /^shoal start: SHOAL_LOG_LEVEL: configuration key 'logLevel' must be one of trace, debug, info, warn, error, fatal, silent, got "loud"$/],
      [[], { SWIMMY_PORT_BACKTEST_REQ: 'x' }, /^shoal start: SWIMMY_PORT_BACKTEST_REQ must be a TCP port \(1-65535\), got 'x'$/],
    ];
    for (const [args, env, message] of cases) {
      const r = await runCli(['start', '--db', dbPath, ...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
      expect(r.stdout).toBe('');
    }
    // A flag parseArgs refuses gets the usage after its line.
    const bad = await runCli(['start', '--window', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^shoal start: --window must be a whole number, got 'many'\n\nUsage: shoal start/);
    expect(fs.existsSync(dbPath)).toBe(false);
    // Six CLI starts: minutes on a loaded machine, not seconds.
  }, 120_000);

  // Rule: flags win over SHOAL_* variables, which win over the file; secrets are never printed.
  it('--print-config shows the merged configuration: flags over environment over file, the webhook hidden', async () => {
    const dir = temp.dir();
    const file = path.join(dir, 'shoal.json');
    fs.writeFileSync(file, JSON.stringify({ dbPath: '/from-file.db', dataDir: '/file-data', window: 3, retention: { batch: 50 }, webhookUrl: WEBHOOK }));
    const r = await runCli(['start', '--config', file, '--window', '5', '--keep-days', '30', '--print-config'], { SHOAL_DB: '/from-env.db', SHOAL_LOG_LEVEL: 'warn', SWIMMY_ZMQ_HOST: 'svc-host' });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const c = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(c).toMatchObject({ dbPath: '/from-env.db', dataDir: '/file-data', window: 5, logLevel: 'warn', retention: { keepDays: 30, batch: 50, intervalMs: 3_600_000 }, webhookUrl: '[redacted]' });
    expect(c.requestEndpoint).toBe('tcp://svc-host:5580');
    expect(r.stdout).not.toContain(SECRET);
  });

  // Rule: alert webhook URLs are secrets in --print-config; their names are shown.
  it('--print-config hides every alert webhook URL and shows its name', async () => {
    const dir = temp.dir();
    const file = path.join(dir, 'shoal.json');
    fs.writeFileSync(file, JSON.stringify({ dbPath: path.join(dir, 'x.db'), alerts: { webhooks: [{ name: 'ops', kind: 'json', url: `https://alerts.example/${SECRET}` }] } }));
    const r = await runCli(['start', '--config', file, '--print-config']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toMatchObject({ alerts: { webhooks: [{ name: 'ops', kind: 'json', url: '[redacted]' }], ratePerMinute: 30 } });
    expect(r.stdout).not.toContain(SECRET);
  });

  // Rule: a secret given in the configuration never appears on stdout or stderr, not even in a refusal.
  it('a mistyped webhook URL is refused without showing it', async () => {
    const dir = temp.dir();
    const file = path.join(dir, 'shoal.json');
    fs.writeFileSync(file, JSON.stringify({ webhookUrl: `htps://discord.example/api/webhooks/1/${SECRET}` }));
    const r = await runCli(['start', '--config', file, '--db', path.join(dir, 'x.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/configuration key 'webhookUrl' must be an http\(s\) URL, got \(a value, not shown: it is secret\)/);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });
});

describe('shoal start: running and stopping', () => {
  // Rule: SIGTERM stops taking work, lets in-flight requests finish (up to the drain timeout),
  // closes, checkpoints, and exits 0; the logs are JSON lines without a secret.
  it('on SIGTERM drains the requests in flight, stores their results, checkpoints the WAL and exits 0', async () => {
    const s = await setup({ drainTimeoutMs: 120_000, window: 4 });
    const ids = seedOutbox(s.dbPath, 4);
    const held = heldEngine();
    await service(s, held.engine, 4);
    const shoal = start(s.args);
    const started = await shoal.line('start');
    expect(started).toMatchObject({ level: 'info', dbPath: s.dbPath, config: { webhookUrl: '[redacted]', window: 4 } });
    await until(() => held.received() === 4, 'the service to hold the 4 requests');

    shoal.child.kill('SIGTERM');
    expect(await shoal.line('stopping')).toMatchObject({ signal: 'SIGTERM', drainTimeoutMs: 120_000 });
    // The results arrive during the drain and are stored before the runtime stops.
    held.release();
    expect(await shoal.line('drained')).toMatchObject({ level: 'info' });
    expect(await shoal.exited).toEqual({ code: 0, signal: null });
    expect(shoal.lines.at(-1)).toMatchObject({ event: 'stopped', signal: 'SIGTERM', inFlight: 0, exitCode: 0 });

    const reader = openStore({ path: s.dbPath, readonly: true });
    try {
      expect(count(reader, 'oos_requests', "state = 'done'")).toBe(ids.length);
      expect(count(reader, 'oos_results')).toBe(ids.length);
    } finally {
      reader.close();
    }
    // Checkpointed: the WAL holds nothing the database lacks.
    expect(fs.existsSync(`${s.dbPath}-wal`) ? fs.statSync(`${s.dbPath}-wal`).size : 0).toBe(0);
    expect(shoal.stdout() + shoal.stderr()).not.toContain(SECRET);
    expect(shoal.stderr()).toBe('');
  }, 120_000);

  // Rule: the telemetry key turns on the SDK: metrics served on 127.0.0.1 for Prometheus, traces over OTLP/HTTP, what is buffered flushed at stop.
  it('with telemetry configured, serves the metrics on 127.0.0.1 and exports every request\'s spans over OTLP/HTTP, flushing them at stop', async () => {
    const posts: { url: string; type: string; body: string }[] = [];
    const collector = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posts.push({ url: req.url ?? '', type: String(req.headers['content-type']), body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    const otlpPort = await freePort();
    await new Promise<void>((r) => collector.listen(otlpPort, '127.0.0.1', r));
    try {
      const prometheusPort = await freePort();
      const s = await setup({ window: 2, telemetry: { traces: 'otlp', otlpEndpoint: `http://127.0.0.1:${otlpPort}/v1/traces`, prometheusPort } });
      const ids = seedOutbox(s.dbPath, 2);
      await service(s, echoEngine, 2);
      const shoal = start(s.args);
      expect(await shoal.line('telemetry')).toMatchObject({ traces: 'otlp', prometheus: `http://127.0.0.1:${prometheusPort}/metrics` });
      let scrape = '';
      await until(async () => {
        // A scrape that meets a kept-alive connection the server is closing is tried again, as Prometheus would.
        scrape = await fetch(`http://127.0.0.1:${prometheusPort}/metrics`, { headers: { connection: 'close' } })
          .then((r) => r.text())
          .catch(() => '');
        return /^shoal_oos_completed_total(\{[^}]*\})? 2$/m.test(scrape);
      }, 'the scrape to show both results');
      expect(scrape).toMatch(/^# TYPE shoal_oos_end_to_end_seconds histogram$/m);

      shoal.child.kill('SIGTERM');
      expect(await shoal.exited).toEqual({ code: 0, signal: null });
      const spans = posts
        .filter((p) => p.url === '/v1/traces')
        .flatMap((p) => (JSON.parse(p.body) as { resourceSpans: { scopeSpans: { spans: { name: string; attributes: { key: string; value: { stringValue?: string } }[] }[] }[] }[] }).resourceSpans)
        .flatMap((r) => r.scopeSpans.flatMap((x) => x.spans));
      const idOf = (sp: (typeof spans)[number]) => sp.attributes.find((a) => a.key === 'messaging.message.id')?.value.stringValue;
      for (const id of ids) {
        expect(spans.filter((sp) => sp.name.startsWith('send ') && idOf(sp) === id)).toHaveLength(1);
        expect(spans.filter((sp) => sp.name.startsWith('process ') && idOf(sp) === id)).toHaveLength(1);
      }
    } finally {
      collector.close();
    }
  }, 120_000);

  // Rule: the drain is bounded; what did not finish is kept, never dropped.
  it('when the drain timeout passes, stops anyway, says how many requests are still in flight (they stay in the outbox), and exits 0', async () => {
    const s = await setup({ drainTimeoutMs: 300, window: 3 });
    seedOutbox(s.dbPath, 3);
    const svc = await service(s, () => null, 3);
    const shoal = start(s.args);
    await shoal.line('start');
    await until(() => svc.stats.received === 3, 'the service to take the 3 requests');
    shoal.child.kill('SIGINT');
    expect(await shoal.line('drain_timeout')).toMatchObject({ level: 'warn', inFlight: 3 });
    expect(await shoal.exited).toEqual({ code: 0, signal: null });
    const reader = openStore({ path: s.dbPath, readonly: true });
    try {
      expect(count(reader, 'oos_requests', "state = 'in_flight'")).toBe(3);
    } finally {
      reader.close();
    }
  }, 120_000);

  // Rule: a second signal stops at once, says so, and exits 128 + its number.
  it('a second signal during the drain stops at once with exit code 130 (SIGINT)', async () => {
    const s = await setup({ drainTimeoutMs: 600_000, window: 2 });
    seedOutbox(s.dbPath, 2);
    const svc = await service(s, () => null, 2);
    const shoal = start(s.args);
    await shoal.line('start');
    await until(() => svc.stats.received === 2, 'the service to take the 2 requests');
    shoal.child.kill('SIGTERM');
    await shoal.line('stopping');
    shoal.child.kill('SIGINT');
    expect(await shoal.exited).toEqual({ code: 130, signal: null });
    expect(shoal.lines.at(-1)).toMatchObject({ event: 'forced_stop', level: 'fatal', signal: 'SIGINT', firstSignal: 'SIGTERM', exitCode: 130 });
  }, 120_000);

  // Rule: a start that cannot work says why in one log line and exits 1 (a service manager retries).
  it('a second runtime on the same database logs start_failed naming the holder and exits 1', async () => {
    const s = await setup();
    const first = start(s.args);
    await first.line('start');
    const second = start(['--db', s.dbPath, '--service', s.requestEndpoint, '--service-results', `tcp://127.0.0.1:${await freePort()}`]);
    expect(await second.exited).toEqual({ code: 1, signal: null });
    expect(second.lines).toHaveLength(1);
    expect(second.lines[0]).toMatchObject({ level: 'fatal', event: 'start_failed', error: expect.stringContaining(`in use by another shoal runtime (pid ${first.child.pid})`) });
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
  }, 120_000);
});
