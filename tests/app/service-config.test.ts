/**
 * The configuration of `shoal start`: its layers and their precedence, refusals that name where a
 * bad key was written, and the secrets the logger must keep out of its output.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { effectiveConfig, ENV_KEYS, loadServiceConfig, mergeLayers, secretValues, START_FLAGS, type ServiceConfigSources } from '../../app/service-config.ts';
import { createLogger, REDACTED, scrubber } from '../../app/log.ts';
import { CONFIG_KEYS } from '../../app/config-schema.ts';
import { REPO_ROOT } from '../persistence/helpers.ts';

const FILE = '/etc/shoal/shoal.json';
const load = (over: Partial<ServiceConfigSources> & { file?: unknown } = {}) =>
  loadServiceConfig({
    configFile: over.file === undefined ? over.configFile : FILE,
    flags: over.flags ?? {},
    env: over.env ?? {},
    readFile: (p) => {
      if (p !== FILE) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return typeof over.file === 'string' ? over.file : JSON.stringify(over.file);
    },
  });

describe('shoal start configuration', () => {
  // Rule: defaults < config file < SHOAL_* variables < flags, key by key.
  it('takes each key from the last source that sets it: file, then environment, then flags', () => {
    const file = { dbPath: '/file.db', dataDir: '/file-data', window: 3, logLevel: 'warn', drainTimeoutMs: 5_000 };
    expect(load({ file }).runtime).toMatchObject({ dbPath: '/file.db', dataDir: '/file-data', window: 3 });
    const withEnv = load({ file, env: { SHOAL_DB: '/env.db', SHOAL_LOG_LEVEL: 'debug' } });
    expect(withEnv.runtime).toMatchObject({ dbPath: '/env.db', dataDir: '/file-data', window: 3 });
    expect(withEnv.logLevel).toBe('debug');
    const withFlags = load({ file, env: { SHOAL_DB: '/env.db' }, flags: { db: '/flag.db', window: 7, 'log-level': 'error' } });
    expect(withFlags.runtime).toMatchObject({ dbPath: '/flag.db', dataDir: '/file-data', window: 7 });
    expect(withFlags).toMatchObject({ logLevel: 'error', drainTimeoutMs: 5_000, configFile: FILE });
    // The service keys are not the runtime's.
    expect(withFlags.runtime).not.toHaveProperty('logLevel');
    expect(withFlags.runtime).not.toHaveProperty('drainTimeoutMs');
  });

  // Rule: sensible defaults; the sockets follow the host's variables, as for an embedded runtime.
  it('with nothing given: ./shoal.db, level info, a 30 s drain, and the sockets from the host variables', () => {
    const s = load();
    expect(s).toMatchObject({ runtime: { dbPath: 'shoal.db' }, logLevel: 'info', drainTimeoutMs: 30_000 });
    const c = effectiveConfig(s, { SWIMMY_ZMQ_HOST: 'svc', SWIMMY_PORT_BACKTEST_REQ: '6000', SWIMMY_PORT_BACKTEST_RES: '6001' });
    expect([c.requestEndpoint, c.resultEndpoint]).toEqual(['tcp://svc:6000', 'tcp://127.0.0.1:6001']);
    expect(c.retention).toEqual({ keepDays: 90, batch: 200, intervalMs: 3_600_000 });
  });

  // Rule: the telemetry key is the service's (Shoal.start does not get it); what runs is shown with its defaults, nothing exported unless asked.
  it('telemetry: exports nothing by default; a configured field merges over the defaults and stays out of the runtime configuration', () => {
    const defaults = { traces: 'none', prometheusPort: 0, prometheusHost: '127.0.0.1', sampleRatio: 1, actorSpans: false, actorSampleRatio: 0.01 };
    expect(effectiveConfig(load(), {}).telemetry).toEqual(defaults);
    const s = load({ file: { telemetry: { traces: 'otlp', prometheusPort: 9464 } } });
    expect(s.telemetry).toEqual({ traces: 'otlp', prometheusPort: 9464 });
    expect('telemetry' in s.runtime).toBe(false);
    expect(effectiveConfig(s, {}).telemetry).toEqual({ ...defaults, traces: 'otlp', prometheusPort: 9464 });
    expect(() => load({ file: { telemetry: { traces: 'jaeger' } } })).toThrow(/configuration key 'telemetry\.traces' must be one of none, console, otlp, got "jaeger"/);
  });

  // Rule: the host's SWIMMY_* variables describe where its sockets are: defaults, which any key written in a source overrides.
  it('an endpoint written in the file wins over the SWIMMY_* defaults', () => {
    const c = effectiveConfig(load({ file: { requestEndpoint: 'tcp://10.0.0.5:7000' } }), { SWIMMY_ZMQ_HOST: 'svc' });
    expect(c.requestEndpoint).toBe('tcp://10.0.0.5:7000');
  });

  // Rule: setting one field of a nested key in a later source keeps the others from earlier ones.
  it('a nested key merges field by field across sources', () => {
    const s = load({ file: { retention: { batch: 50, intervalMs: 60_000 } }, flags: { 'keep-days': 7 } });
    expect(s.runtime.retention).toEqual({ batch: 50, intervalMs: 60_000, keepDays: 7 });
    expect(mergeLayers({ a: { x: 1, y: 2 }, b: 1 }, { a: { y: 3 }, b: undefined })).toEqual({ a: { x: 1, y: 3 }, b: 1 });
  });

  // Rule: a bad key or value stops the start with one line naming where it was written.
  it('refuses an unknown key or a bad value with one line naming the file, variable or flag', () => {
    expect(() => load({ file: { widnow: 4 } })).toThrow(/^config file \/etc\/shoal\/shoal.json: unknown configuration key 'widnow' \(did you mean 'window'\?\)/);
    expect(() => load({ file: { retention: { keepDays: -1 } } })).toThrow("config file /etc/shoal/shoal.json: configuration key 'retention.keepDays' must be an integer >= 0, got -1");
    expect(() => load({ env: { SHOAL_LOG_LEVEL: 'loud' } })).toThrow(/^SHOAL_LOG_LEVEL: configuration key 'logLevel' must be one of trace, debug, info, warn, error, fatal, silent, got "loud"$/);
    expect(() => load({ flags: { window: 0 } })).toThrow("--window: configuration key 'window' must be an integer >= 1, got 0");
    expect(() => load({ flags: { 'keep-days': -2 } })).toThrow("--keep-days: configuration key 'retention.keepDays' must be an integer >= 0, got -2");
    for (const bad of [() => load({ file: { widnow: 4 } }), () => load({ flags: { window: 0 } })]) {
      try {
        bad();
      } catch (e) {
        expect((e as Error).message).not.toContain('\n');
      }
    }
  });

  // Rule: a config file that cannot be used is one clear line, never a stack.
  it('refuses a config file it cannot read or parse, or that is not one object, in one line', () => {
    expect(() => load({ configFile: '/nope.json' })).toThrow('cannot read config file /nope.json: no such file');
    expect(() => load({ file: '{"window": 4,' })).toThrow(/^config file \/etc\/shoal\/shoal.json is not valid JSON: /);
    expect(() => load({ file: '[1]' })).toThrow('config file /etc/shoal/shoal.json must hold one JSON object of configuration keys, got an array');
  });

  // Rule: $SHOAL_CONFIG names the file when --config does not.
  it('reads the file named by SHOAL_CONFIG when --config is not given', () => {
    const viaEnv = loadServiceConfig({ flags: {}, env: { SHOAL_CONFIG: FILE }, readFile: () => JSON.stringify({ dbPath: '/x.db' }) });
    expect(viaEnv).toMatchObject({ configFile: FILE, runtime: { dbPath: '/x.db' } });
  });

  // Rule: every flag sets a key that exists, and docs/cli.md lists each flag with its key.
  it('maps every flag onto a configuration key, and docs/cli.md lists the mapping', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs/cli.md'), 'utf8');
    for (const f of START_FLAGS) {
      expect(CONFIG_KEYS, `--${f.flag}`).toHaveProperty(f.key.split('.')[0]);
      expect(doc).toMatch(new RegExp(`\\| \`--${f.flag}[^|]*\` \\| \`${f.key.replace('.', '\\.')}\``));
    }
    for (const key of Object.values(ENV_KEYS)) expect(CONFIG_KEYS).toHaveProperty(key);
  });
});

describe('secrets in the service output', () => {
  // Rule: every secret the configuration holds is known to the logger, including ones named as tokens.
  it('finds the secret values of a configuration: keys marked secret and fields named as tokens', () => {
    expect(secretValues({ webhookUrl: 'https://hook/abc', dbPath: 'x.db', control: { token: 't0k3n', port: 1 } }).sort()).toEqual(['https://hook/abc', 't0k3n']);
  });

  // Rule: the URL of every alert webhook is a secret; its name and kind stay readable.
  it('finds the alert webhook URLs, and only them, in the alerts key', () => {
    const alerts = { webhooks: [{ name: 'ops', kind: 'json', url: 'https://a.example/T1' }, { name: 'chat', kind: 'discord', url: 'https://discord.example/api/webhooks/2/T2' }], ratePerMinute: 30 };
    expect(secretValues({ alerts }).sort()).toEqual(['https://a.example/T1', 'https://discord.example/api/webhooks/2/T2']);
  });

  // Rule: a secret never reaches the log output, in whatever field or text it appears.
  it('the logger writes no secret: censored by name in the config, scrubbed from any other field or message', async () => {
    const secret = 'https://discord.example/api/webhooks/1/S3CR3T';
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = await createLogger({ level: 'info', secrets: [secret], destination });
    log.info({ event: 'start', config: { webhookUrl: secret, dbPath: 'x.db' } }, 'started');
    log.warn({ event: 'x', error: `fetch ${secret} failed` }, `could not post to ${secret}`);
    log.info({ event: 'y', nested: { token: 'abc' } }, 'token field');
    const out = lines.join('');
    expect(out).not.toContain('S3CR3T');
    const parsed = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ level: 'info', event: 'start', msg: 'started', config: { webhookUrl: REDACTED, dbPath: 'x.db' } });
    expect(parsed[1]).toMatchObject({ level: 'warn', error: `fetch ${REDACTED} failed`, msg: `could not post to ${REDACTED}` });
    expect(parsed[2]).toMatchObject({ nested: { token: REDACTED } });
    expect(typeof parsed[0].time).toBe('string');
  });

  // Rule: on a terminal the lines are readable text, not JSON, and keep secrets out all the same.
  it('the readable form prints the time, level, event and message on one line, without the secret', async () => {
    const out: string[] = [];
    const log = await createLogger({ level: 'info', pretty: true, secrets: ['S3CR3T'], destination: { write: (s: string) => void out.push(s) } });
    log.warn({ event: 'dead_letter', deadLetterId: 7, reason: 'post to https://hook/S3CR3T failed' }, 'dead letter 7');
    const text = out.join('');
    expect(() => JSON.parse(text)).toThrow();
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(text).toMatch(/^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] WARN: dead letter 7 .*"event":"dead_letter"/);
    expect(text).not.toContain('S3CR3T');
  });

  // Rule: a secret is scrubbed in whatever form a line carries it.
  it('scrubs a secret written raw or escaped inside JSON', () => {
    const scrub = scrubber(['a"b']);
    expect(scrub('x a"b y')).toBe(`x ${REDACTED} y`);
    expect(scrub(JSON.stringify({ v: 'a"b' }))).toBe(`{"v":"${REDACTED}"}`);
    expect(scrubber([])('unchanged')).toBe('unchanged');
  });
});
