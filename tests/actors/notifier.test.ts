import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { actorPath, ManualClock, type Clock } from '../../runtime/index.ts';
import { notifier, NotificationChannel, raiseAlert, type DeliveryEvent, type NotifierConfig, type WebhookTarget } from '../../actors/notifier.ts';
import type { DbWriterMessage } from '../../actors/db-writer.ts';
import { alertOf } from '../../domain/alerts.ts';
import type { RetryPolicy } from '../../domain/retry-policy.ts';
import { countAlertDeliveries, getAlert } from '../../persistence/alerts.ts';
import { useTempStores } from '../persistence/helpers.ts';
import { until } from '../wait.ts';
import { NOTIFIER, WRITER, writerTree, type WriterTree } from './writer-tree.ts';
import { WebhookServer, type Answer, type Received } from './webhook-server.ts';

const temp = useTempStores();
const T0 = 1_700_000_000_000;
const retry: RetryPolicy = { maxAttempts: 3, backoff: { minMs: 1_000, maxMs: 10_000, factor: 2, jitter: 0, resetAfterMs: 0, firstImmediate: false } };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Harness {
  t: WriterTree;
  server: WebhookServer;
  channel: NotificationChannel;
  events: DeliveryEvent[];
  raise: (key?: string) => void;
  reader: ReturnType<typeof temp.open>;
}

async function harness(script: (r: Received, n: number) => Answer, options: { clock?: Clock; webhooks?: (s: WebhookServer) => WebhookTarget[]; config?: Partial<NotifierConfig> } = {}): Promise<Harness> {
  const dir = temp.dir();
  const server = await new WebhookServer(script).start();
  cleanups.push(() => server.close());
  const channel = new NotificationChannel();
  const events: DeliveryEvent[] = [];
  channel.deliveries.subscribe((e) => events.push(e));
  const webhooks = options.webhooks?.(server) ?? [{ name: 'ops', kind: 'json', url: server.url() }];
  const dbPath = path.join(dir, 'shoal.db');
  const t = await writerTree(dir, {
    clock: options.clock,
    extra: [{ id: 'notifier', start: () => notifier({ dbPath, writerPath: WRITER, webhooks, retry, timeoutMs: 10_000, ratePerMinute: 6_000, random: () => 0.5, ...options.config }, channel) }],
  });
  cleanups.push(() => t.system.stop());
  const reader = temp.open({ path: dbPath, readonly: true });
  const raise = (key = 'USDJPY_M1.csv') => raiseAlert(t.system, NOTIFIER, alertOf('gate_rejected', key, { title: `OOS data rejected: ${key}`, body: 'gaps at line 3', fields: [{ name: 'file', value: key }] }));
  return { t, server, channel, events, raise, reader };
}

const outcomes = (h: Harness) => h.events.map((e) => e.outcome);

describe('durable notifier', () => {
  it('an alert is in the store before any webhook sees it; each webhook gets it once, with the alert id in a header and the payload', async () => {
    let storedFirst: boolean[] = [];
    const h = await harness(() => ({ status: 204 }), {
      webhooks: (s) => [
        { name: 'discord', kind: 'discord', url: s.url('/api/webhooks/1/tok') },
        { name: 'ops', kind: 'json', url: s.url('/ops') },
      ],
    });
    h.server.answer((r) => {
      storedFirst.push(getAlert(h.reader, r.alertId!) !== undefined);
      return { status: r.url.startsWith('/api') ? 200 : 204, body: r.url.startsWith('/api') ? '{"id":"1"}' : '' };
    });
    h.raise();
    await until(() => h.events.length === 2, 'both deliveries');
    expect(storedFirst).toEqual([true, true]);
    const [discord, ops] = ['/api', '/ops'].map((p) => h.server.requests.find((r) => r.url.startsWith(p))!);
    expect(discord.url).toBe('/api/webhooks/1/tok?wait=true');
    expect(discord.body).toMatchObject({ allowed_mentions: { parse: [] }, embeds: [{ title: '[CRITICAL] OOS data rejected: USDJPY_M1.csv', description: 'gaps at line 3', fields: [{ name: 'file', value: 'USDJPY_M1.csv', inline: true }] }] });
    expect((discord.body as { embeds: { footer: { text: string } }[] }).embeds[0].footer.text).toContain(discord.alertId);
    expect(ops.body).toMatchObject({ id: ops.alertId, kind: 'gate_rejected', key: 'USDJPY_M1.csv', severity: 'critical' });
    expect(discord.alertId).toBe(ops.alertId);
    expect(getAlert(h.reader, ops.alertId!)?.deliveries.map((d) => [d.target, d.state, d.attempts])).toEqual([
      ['discord', 'sent', 1],
      ['ops', 'sent', 1],
    ]);
    expect(h.channel.stats).toMatchObject({ alertsRaised: 1, delivered: 2, retried: 0, dead: 0 });
  });

  it('the same kind and key within the window is sent once; the repeat is counted on the stored alert', async () => {
    const h = await harness(() => ({ status: 204 }), { config: { dedupWindowMs: 60_000 } });
    h.raise();
    h.raise();
    await until(() => h.channel.stats.alertsDeduplicated === 1 && h.events.length === 1, 'one delivery and one repeat');
    expect(h.server.requests).toHaveLength(1);
    expect(getAlert(h.reader, h.server.requests[0].alertId!)?.repeats).toBe(1);
    expect(countAlertDeliveries(h.reader)).toEqual({ pending: 0, sent: 1, dead: 0 });
  });

  it('a 5xx is retried after the backoff (injected clock), then sent', async () => {
    const clock = new ManualClock(T0);
    const h = await harness((_r, n) => (n === 1 ? { status: 503, body: 'busy' } : { status: 204 }), { clock });
    h.raise();
    await until(() => h.events.length === 1, 'the first try');
    expect(h.events[0]).toMatchObject({ outcome: 'retry', attempts: 1, error: 'HTTP 503: busy', nextAttemptAt: T0 + 1_000 });
    await until(() => clock.nextDue() === T0 + 1_000, 'the retry to be scheduled');
    expect(h.server.requests).toHaveLength(1);
    clock.advance(1_000);
    await until(() => h.events.length === 2, 'the second try');
    expect(outcomes(h)).toEqual(['retry', 'sent']);
    expect(h.server.delivered.get(h.server.requests[0].alertId!)).toBe(1);
  });

  it('a 429 waits as long as the webhook asks (the later of retry_after in the body and Retry-After), and the webhook is not tried before', async () => {
    const clock = new ManualClock(T0);
    const h = await harness((_r, n) => (n === 1 ? { status: 429, body: '{"message":"You are being rate limited.","retry_after":3.5,"global":false}', headers: { 'retry-after': '2' } } : { status: 204 }), { clock });
    h.raise('a');
    await until(() => h.events.length === 1, 'the first try');
    expect(h.events[0]).toMatchObject({ outcome: 'retry', nextAttemptAt: T0 + 3_500 });
    // A second alert meanwhile waits for the same webhook.
    h.raise('b');
    await until(() => h.channel.stats.alertsRaised === 2 && clock.nextDue() === T0 + 3_500, 'both held until the wait ends');
    expect(h.server.requests).toHaveLength(1);
    expect(h.channel.stats.rateLimited).toBe(1);
    clock.advance(3_500);
    await until(() => h.server.delivered.size >= 1, 'the first alert after the wait');
  });

  it('no answer within the timeout is retried; the next try is delivered', async () => {
    // The deadline is generous for a loopback answer on a loaded machine; only the held POST meets it.
    const patient: RetryPolicy = { maxAttempts: 10, backoff: { ...retry.backoff, minMs: 50 } };
    const h = await harness((_r, n) => (n === 1 ? 'hang' : { status: 204 }), { config: { timeoutMs: 2_000, retry: patient } });
    h.raise();
    await until(() => h.events.some((e) => e.outcome === 'sent'), 'the retried delivery');
    expect(h.events[0]).toMatchObject({ outcome: 'retry', attempts: 1, error: 'no answer within 2000 ms' });
    expect(h.events.at(-1)).toMatchObject({ outcome: 'sent' });
    expect(h.server.requests.length).toBeGreaterThanOrEqual(2);
    expect(h.server.delivered.size).toBe(1);
  });

  it('a refused connection is retried with backoff', async () => {
    const clock = new ManualClock(T0);
    // A port that was just listened on and is closed now: nothing answers there.
    const gone = await new WebhookServer().start();
    const url = gone.url();
    await gone.close();
    const h = await harness(() => ({ status: 204 }), { clock, webhooks: () => [{ name: 'down', kind: 'json', url }] });
    h.raise();
    await until(() => h.events.length === 1, 'the first try');
    expect(h.events[0]).toMatchObject({ outcome: 'retry', nextAttemptAt: T0 + 1_000, error: expect.stringContaining('ECONNREFUSED') });
  });

  it('another 4xx is never retried: the delivery is dead with its status, counted and told', async () => {
    const h = await harness(() => ({ status: 404, body: '{"message":"Unknown Webhook","code":10015}' }));
    h.raise();
    await until(() => h.events.length === 1, 'the try');
    expect(h.events[0]).toMatchObject({ outcome: 'dead', error: expect.stringMatching(/^HTTP 404: .*Unknown Webhook.*\(not retryable\)$/) });
    expect(getAlert(h.reader, h.server.requests[0].alertId!)?.deliveries[0]).toMatchObject({ state: 'dead', attempts: 1, lastStatus: 404 });
    expect(countAlertDeliveries(h.reader)).toEqual({ pending: 0, sent: 0, dead: 1 });
    expect(h.channel.stats).toMatchObject({ dead: 1, retried: 0 });
    expect(h.channel.stats.lastError).toContain('to webhook ops: HTTP 404');
  });

  it('each webhook is rate-limited on its own (injected clock): one try per 60/ratePerMinute seconds', async () => {
    const clock = new ManualClock(T0);
    const h = await harness(() => ({ status: 204 }), { clock, config: { ratePerMinute: 60 } });
    for (const key of ['a', 'b', 'c']) h.raise(key);
    await until(() => h.events.length === 1 && clock.nextDue() === T0 + 1_000, 'one sent, the next held for a second');
    expect(h.server.requests).toHaveLength(1);
    clock.advance(1_000);
    await until(() => h.events.length === 2 && clock.nextDue() === T0 + 2_000, 'the second a second later');
    clock.advance(1_000);
    await until(() => h.events.length === 3, 'the third');
    expect(outcomes(h)).toEqual(['sent', 'sent', 'sent']);
  });

  it('the webhook URL (its token) never appears in an error, a stored error or the counters', async () => {
    const h = await harness((r) => ({ status: 404, body: `no webhook at ${r.url}` }), { webhooks: (s) => [{ name: 'discord', kind: 'discord', url: s.url('/api/webhooks/42/TOPSECRET') }] });
    h.raise();
    await until(() => h.events.length === 1, 'the try');
    const texts = [h.events[0].error, h.channel.stats.lastError, getAlert(h.reader, h.server.requests[0].alertId!)?.deliveries[0].lastError];
    for (const text of texts) {
      expect(text).toContain('[redacted]');
      expect(text).not.toContain('TOPSECRET');
    }
  });

  it('an alert the store cannot take is delivered from memory, once per window, and counted', async () => {
    const dir = temp.dir();
    const server = await new WebhookServer().start();
    cleanups.push(() => server.close());
    const channel = new NotificationChannel();
    const config: NotifierConfig = { dbPath: path.join(dir, 'shoal.db'), writerPath: actorPath<DbWriterMessage>('/t/no-writer'), webhooks: [{ name: 'ops', kind: 'json', url: server.url() }], retry };
    const t = await writerTree(dir, { extra: [{ id: 'notifier', start: () => notifier(config, channel) }] });
    cleanups.push(() => t.system.stop());
    const alert = alertOf('store_unwritable', 'full', { title: 'database write failed: the disk is full', body: 'SQLITE_FULL' });
    raiseAlert(t.system, NOTIFIER, alert);
    raiseAlert(t.system, NOTIFIER, alert);
    await until(() => channel.stats.delivered === 1 && channel.stats.alertsDeduplicated === 1, 'the alert delivered from memory');
    expect(channel.stats).toMatchObject({ alertsUnstored: 1, alertsRaised: 0 });
    expect(channel.stats.lastError).toContain('could not be stored, delivering it from memory');
    expect(server.requests).toHaveLength(1);
  });

  it('an alert raised while the writer restarts is stored once it is back (injected clock), not delivered from memory', async () => {
    const clock = new ManualClock(T0);
    const h = await harness(() => ({ status: 204 }), { clock });
    await h.t.sup.terminateChild('db-writer');
    h.raise();
    await until(() => clock.nextDue() === T0 + 100, 'the notifier to wait before storing again');
    await h.t.sup.restartChild('db-writer');
    clock.advance(100);
    await until(() => h.events.length === 1, 'the delivery');
    expect(h.channel.stats).toMatchObject({ alertsRaised: 1, alertsUnstored: 0, delivered: 1 });
    expect(getAlert(h.reader, h.server.requests[0].alertId!)?.deliveries[0].state).toBe('sent');
  });

  it('every notification reaches the subscribers, a failing file is counted, and neither failure reaches the sender', async () => {
    const dir = temp.dir();
    const channel = new NotificationChannel();
    const seen: string[] = [];
    channel.events.subscribe((n) => seen.push(n.title));
    channel.events.subscribe(() => {
      throw new Error('a broken subscriber');
    });
    const t = await writerTree(dir, { extra: [{ id: 'notifier', start: () => notifier({ file: path.join(dir, 'no-such-dir', 'n.jsonl') }, channel) }] });
    cleanups.push(() => t.system.stop());
    for (const title of ['one', 'two']) t.system.dispatchPath(NOTIFIER, { kind: 'notify', severity: 'info', title, body: 'b', at: 1 });
    await until(() => channel.stats.writeFailures === 2, 'both appends to fail');
    expect(seen).toEqual(['one', 'two']);
    expect(channel.stats).toMatchObject({ received: 2, emitted: 2, subscriberErrors: 2, written: 0 });
    expect(t.sup.whichChildren().find((c) => c.id === 'notifier')?.restartCount).toBe(0);
    expect(fs.existsSync(path.join(dir, 'no-such-dir'))).toBe(false);
  });
});
