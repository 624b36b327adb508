import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { parseBacktesterArgs } from '../../backtester/config.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { alertWebhooks, oosConfig } from '../../app/config.ts';
import { CONFIG_KEYS } from '../../app/config-schema.ts';
import { REPO_ROOT } from '../persistence/helpers.ts';

describe('oosConfig', () => {
  it('takes the sockets from the host environment, with the host defaults', () => {
    const c = oosConfig({ dbPath: 'x.db' }, {});
    expect([c.requestEndpoint, c.resultEndpoint]).toEqual(['tcp://localhost:5580', 'tcp://127.0.0.1:5581']);
    expect(c).toMatchObject({ synchronous: 'FULL', window: Math.min(4, availableParallelism()), leaseMs: 120_000, rankIntervalMs: 60_000, oosWindowDays: 180, oosRetryMs: 600_000 });
    expect(c.retry.maxAttempts).toBe(5);
  });

  // Rule: the result socket binds loopback unless every interface is asked for explicitly (docs/security.md).
  it('binds the result socket on loopback by default, on every interface only when asked', () => {
    expect(oosConfig({ dbPath: 'x.db' }, { SWIMMY_PORT_BACKTEST_RES: '7001' }).resultEndpoint).toBe('tcp://127.0.0.1:7001');
    expect(oosConfig({ dbPath: 'x.db', resultsLoopbackOnly: true }, { SWIMMY_PORT_BACKTEST_RES: '7001' }).resultEndpoint).toBe('tcp://127.0.0.1:7001');
    expect(oosConfig({ dbPath: 'x.db', resultsLoopbackOnly: false }, { SWIMMY_PORT_BACKTEST_RES: '7001' }).resultEndpoint).toBe('tcp://*:7001');
    expect(oosConfig({ dbPath: 'x.db', resultEndpoint: 'tcp://10.0.0.2:7002' }, {}).resultEndpoint).toBe('tcp://10.0.0.2:7002');
  });

  it('lets explicit settings win over the environment', () => {
    const c = oosConfig({ dbPath: 'x.db', requestEndpoint: 'tcp://10.1.1.1:9', window: 256 }, { SWIMMY_ZMQ_HOST: 'other' });
    expect(c.requestEndpoint).toBe('tcp://10.1.1.1:9');
    expect(c.window).toBe(256);
  });

  // Rule: the default in-flight window never exceeds what one service runs at once (its workers);
  // more requests would wait in the service's queue while their leases run.
  it("the default window is the service's worker count: SWIMMY_BACKTEST_WORKERS, else the CPU count up to 4", () => {
    expect(oosConfig({ dbPath: 'x.db' }, {}, 1).window).toBe(1);
    expect(oosConfig({ dbPath: 'x.db' }, {}, 2).window).toBe(2);
    expect(oosConfig({ dbPath: 'x.db' }, {}, 64).window).toBe(4);
    expect(oosConfig({ dbPath: 'x.db' }, { SWIMMY_BACKTEST_WORKERS: '3' }, 64).window).toBe(3);
    expect(oosConfig({ dbPath: 'x.db' }, { SWIMMY_BACKTEST_WORKERS: '12' }, 2).window).toBe(12);
  });

  it("the default window does not exceed the bundled backtester's default workers, in any environment", () => {
    for (const cpus of [1, 2, 3, 4, 8, 64]) {
      for (const env of [{}, { SWIMMY_BACKTEST_WORKERS: '1' }, { SWIMMY_BACKTEST_WORKERS: '7' }]) {
        const service = parseBacktesterArgs([], env, cpus);
        if (service === 'help') throw new Error('unexpected help');
        expect(oosConfig({ dbPath: 'x.db' }, env, cpus).window).toBeLessThanOrEqual(service.concurrency);
      }
    }
  });

  it('an explicit window wins over the service\'s variable, even a malformed one; a malformed one is refused otherwise', () => {
    expect(oosConfig({ dbPath: 'x.db', window: 2 }, { SWIMMY_BACKTEST_WORKERS: 'many' }).window).toBe(2);
    expect(oosConfig({ dbPath: 'x.db', window: undefined }, {}, 3).window).toBe(3);
    expect(() => oosConfig({ dbPath: 'x.db' }, { SWIMMY_BACKTEST_WORKERS: 'many' })).toThrow("SWIMMY_BACKTEST_WORKERS must be an integer >= 1 (the backtest service's worker count), got 'many'");
  });
});

describe('configuration checked at start', () => {
  const bad = (o: Record<string, unknown>) => () => oosConfig({ dbPath: 'x.db', ...o } as Parameters<typeof oosConfig>[0], {});

  it('an unknown key is refused with one line that suggests the near one and lists the known keys', () => {
    expect(bad({ widnow: 4 })).toThrow(/^unknown configuration key 'widnow' \(did you mean 'window'\?\); known keys: dbPath, synchronous, /);
    expect(bad({ zzz: 1 })).toThrow(/^unknown configuration key 'zzz'; known keys:/);
  });

  it('a bad value names the key, what it accepts and what it got, nested keys by their path', () => {
    expect(bad({ leaseMs: 0 })).toThrow("configuration key 'leaseMs' must be an integer >= 1, got 0");
    expect(bad({ synchronous: 'OFF' })).toThrow('configuration key \'synchronous\' must be one of FULL, NORMAL, got "OFF"');
    expect(bad({ requestEndpoint: 'localhost:5580' })).toThrow('configuration key \'requestEndpoint\' must be a tcp://HOST:PORT endpoint, got "localhost:5580"');
    expect(bad({ retry: { maxAttempts: 0, backoff: defaultRetryBackoff() } })).toThrow("configuration key 'retry.maxAttempts' must be an integer >= 1, got 0");
    expect(bad({ replay: { quietMs: -1 } })).toThrow("configuration key 'replay.quietMs' must be an integer >= 0, got -1");
    expect(bad({ replay: { quietMs: 5, typo: 1 } })).toThrow(/configuration key 'replay' must be an object with quietMs, .* \(unknown key 'typo'\)/);
  });

  // Rule: a secret's value never appears in an error, not even a wrong one (it may be the real
  // webhook URL mistyped); the key and what it accepts are still named.
  it('a bad secret value is refused without echoing it', () => {
    expect(bad({ webhookUrl: 'htps://discord.example/api/webhooks/1/SECRET' })).toThrow("configuration key 'webhookUrl' must be an http(s) URL, got (a value, not shown: it is secret)");
    expect(bad({ webhookUrl: 'htps://discord.example/api/webhooks/1/SECRET' })).not.toThrow(/SECRET/);
  });

  it('undefined means not set: the default stays', () => {
    expect(oosConfig({ dbPath: 'x.db', leaseMs: undefined }, {}).leaseMs).toBe(120_000);
  });

  it('docs/configuration.md documents every key with its default', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs/configuration.md'), 'utf8');
    for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
      expect(row, `docs/configuration.md has a row for ${key}`).toBeDefined();
      expect(row).toContain(spec.defaultText);
    }
  });
});

describe('the alerts key', () => {
  const bad = (alerts: unknown) => () => oosConfig({ dbPath: 'x.db', alerts } as Parameters<typeof oosConfig>[0], {});
  const hook = (over: Record<string, unknown> = {}) => ({ name: 'ops', kind: 'json', url: 'https://alerts.example/shoal/T0KEN', ...over });

  it('defaults fill what is not set; webhookUrl ($SHOAL_WEBHOOK_URL) stays one more Discord webhook', () => {
    const c = oosConfig({ dbPath: 'x.db', alerts: { ratePerMinute: 10, webhooks: [hook() as never] } }, { SHOAL_WEBHOOK_URL: 'https://discord.example/api/webhooks/1/A' });
    expect(c.alerts).toEqual({ webhooks: [hook()], dedupWindowMs: 3_600_000, ratePerMinute: 10, serviceSilentMinutes: 15, deadLetterThreshold: 10 });
    expect(alertWebhooks(c)).toEqual([hook(), { name: 'webhookUrl', kind: 'discord', url: 'https://discord.example/api/webhooks/1/A' }]);
    expect(alertWebhooks(oosConfig({ dbPath: 'x.db' }, {}))).toEqual([]);
  });

  it('a bad field is refused by its path; a webhook URL is never echoed; names must be unique', () => {
    expect(bad({ webhooks: [hook({ kind: 'slack' })] })).toThrow("configuration key 'alerts.webhooks.0.kind' must be one of discord, json, got (a value, not shown: it is secret)");
    expect(bad({ webhooks: [hook({ url: 'htps://alerts.example/shoal/T0KEN' })] })).toThrow(/^configuration key 'alerts.webhooks.0.url' must be an http\(s\) URL, got \(a value, not shown: it is secret\)$/);
    expect(bad({ webhooks: [hook({ url: 'htps://alerts.example/shoal/T0KEN' })] })).not.toThrow(/T0KEN/);
    expect(bad({ webhooks: [hook({ nmae: 'x' })] })).not.toThrow(/T0KEN/);
    expect(bad({ webhooks: [hook(), hook()] })).toThrow("configuration key 'alerts.webhooks' must be a list of webhooks with unique names ('ops' is used twice)");
    expect(bad({ dedupWindowMs: -1 })).toThrow("configuration key 'alerts.dedupWindowMs' must be an integer >= 0");
    expect(bad({ ratePerMinute: 0 })).toThrow("configuration key 'alerts.ratePerMinute' must be a number > 0");
  });
});

function defaultRetryBackoff() {
  return { minMs: 1, maxMs: 1, factor: 1, jitter: 0, resetAfterMs: 0, firstImmediate: false };
}

describe('bridge mode defaults', () => {
  it("takes the host's ports (intake binds its request port, the forwarder connects to its result port), moves the service to 5590/5591, and turns rank evaluation off", () => {
    const c = oosConfig({ dbPath: 'x.db', bridge: true, rankEvaluation: true }, {});
    expect(c).toMatchObject({
      bridge: true,
      intakeEndpoint: 'tcp://*:5580',
      hostResultsEndpoint: 'tcp://localhost:5581',
      requestEndpoint: 'tcp://localhost:5590',
      resultEndpoint: 'tcp://127.0.0.1:5591',
      rankEvaluation: false,
    });
  });

  it("follows the host's variables for the host's sides, and an explicit endpoint wins", () => {
    const env = { SWIMMY_ZMQ_HOST: 'trader', SWIMMY_PORT_BACKTEST_REQ: '6000', SWIMMY_PORT_BACKTEST_RES: '6001' };
    expect(oosConfig({ dbPath: 'x.db', bridge: true }, env)).toMatchObject({ intakeEndpoint: 'tcp://*:6000', hostResultsEndpoint: 'tcp://trader:6001', requestEndpoint: 'tcp://localhost:5590' });
    expect(oosConfig({ dbPath: 'x.db', bridge: true, requestEndpoint: 'tcp://svc:7000', intakeEndpoint: 'tcp://127.0.0.1:7001' }, env)).toMatchObject({ requestEndpoint: 'tcp://svc:7000', intakeEndpoint: 'tcp://127.0.0.1:7001' });
    // Without the bridge nothing moves.
    expect(oosConfig({ dbPath: 'x.db' }, env)).toMatchObject({ bridge: false, requestEndpoint: 'tcp://trader:6000', resultEndpoint: 'tcp://127.0.0.1:6001', rankEvaluation: true });
  });

  it('refuses a bad forward bound with one line naming the field', () => {
    expect(() => oosConfig({ dbPath: 'x.db', forward: { maxAgeMs: 0 } }, {})).toThrow("configuration key 'forward.maxAgeMs' must be an integer >= 1, got 0");
  });
});
