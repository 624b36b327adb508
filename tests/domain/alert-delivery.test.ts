import { describe, expect, it } from 'vitest';
import { decideDelivery, discordBody, jsonBody, retryAfterMs, SEVERITY_COLOUR } from '../../domain/alert-delivery.ts';
import type { Alert } from '../../domain/alerts.ts';
import type { RetryPolicy } from '../../domain/retry-policy.ts';

const NOW = 1_700_000_000_000;
const policy: RetryPolicy = { maxAttempts: 3, backoff: { minMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0, resetAfterMs: 0, firstImmediate: false } };
const response = (status: number, extra: { body?: string; retryAfterHeader?: string } = {}) => ({ type: 'response' as const, status, ...extra });

describe('what happens after a try', () => {
  it('a 2xx is sent', () => {
    expect(decideDelivery(response(204), 1, NOW, policy)).toEqual({ action: 'sent' });
    expect(decideDelivery(response(200), 3, NOW, policy)).toEqual({ action: 'sent' });
  });

  it('network errors, timeouts, 408 and 5xx are retried with backoff until the attempts are used, then dead', () => {
    expect(decideDelivery({ type: 'network', error: 'ECONNREFUSED' }, 1, NOW, policy)).toEqual({ action: 'retry', nextAttemptAt: NOW + 1_000, error: 'ECONNREFUSED' });
    expect(decideDelivery({ type: 'timeout', afterMs: 5_000 }, 2, NOW, policy)).toEqual({ action: 'retry', nextAttemptAt: NOW + 2_000, error: 'no answer within 5000 ms' });
    expect(decideDelivery(response(503), 1, NOW, policy)).toMatchObject({ action: 'retry' });
    expect(decideDelivery(response(408), 1, NOW, policy)).toMatchObject({ action: 'retry' });
    expect(decideDelivery(response(500, { body: 'oops' }), 3, NOW, policy)).toEqual({ action: 'dead', error: 'HTTP 500: oops (3 of 3 attempts used)' });
  });

  it('any other 4xx is never retried: dead at once with the status', () => {
    for (const status of [400, 401, 403, 404, 413]) expect(decideDelivery(response(status), 1, NOW, policy)).toEqual({ action: 'dead', error: `HTTP ${status} (not retryable)` });
  });

  it('a 429 is retried no sooner than the webhook asks, the later of the body and the header', () => {
    expect(decideDelivery(response(429, { body: '{"retry_after": 7.5, "global": false}' }), 1, NOW, policy)).toMatchObject({ action: 'retry', nextAttemptAt: NOW + 7_500, rateLimitedUntil: NOW + 7_500 });
    expect(decideDelivery(response(429, { retryAfterHeader: '12' }), 1, NOW, policy)).toMatchObject({ nextAttemptAt: NOW + 12_000 });
    expect(decideDelivery(response(429, { body: '{"retry_after": 3}', retryAfterHeader: '4' }), 1, NOW, policy)).toMatchObject({ nextAttemptAt: NOW + 4_000 });
    // Backoff wins when it is later than what the webhook asked.
    expect(decideDelivery(response(429, { retryAfterHeader: '0.2' }), 1, NOW, policy)).toMatchObject({ nextAttemptAt: NOW + 1_000, rateLimitedUntil: NOW + 200 });
  });

  it('Retry-After may be seconds or an HTTP date; junk is ignored', () => {
    expect(retryAfterMs('30', undefined, NOW)).toBe(30_000);
    expect(retryAfterMs(new Date(NOW + 90_000).toUTCString(), undefined, NOW)).toBe(90_000);
    expect(retryAfterMs('soon', 'not json', NOW)).toBeUndefined();
    expect(retryAfterMs(undefined, '{"retry_after": 0.25}', NOW)).toBe(250);
  });
});

describe('what a webhook is sent', () => {
  const alert: Alert = { id: '0190-abc', kind: 'gate_rejected', key: 'f', severity: 'critical', title: 'OOS data rejected', body: 'gaps at line 3', fields: [{ name: 'file', value: 'USDJPY_M1.csv' }], createdAt: NOW };

  it('Discord gets one embed: title with the severity, description, colour by severity, fields, ISO timestamp, the alert id in the footer, no mentions', () => {
    expect(discordBody(alert)).toEqual({
      allowed_mentions: { parse: [] },
      embeds: [
        {
          title: '[CRITICAL] OOS data rejected',
          description: 'gaps at line 3',
          color: SEVERITY_COLOUR.critical,
          fields: [{ name: 'file', value: 'USDJPY_M1.csv', inline: true }],
          timestamp: new Date(NOW).toISOString(),
          footer: { text: 'shoal alert 0190-abc · gate_rejected' },
        },
      ],
    });
  });

  it("Discord's limits hold whatever the alert: title 256, description 4096, 25 fields, 6000 characters in all", () => {
    const big: Alert = { ...alert, title: 'T'.repeat(1_000), body: 'B'.repeat(10_000), fields: Array.from({ length: 40 }, (_, i) => ({ name: `n${i}`, value: 'v'.repeat(2_000) })) };
    const embed = (discordBody(big) as { embeds: { title: string; description: string; fields: { name: string; value: string }[]; footer: { text: string } }[] }).embeds[0];
    expect(embed.title.length).toBeLessThanOrEqual(256);
    expect(embed.description.length).toBeLessThanOrEqual(4096);
    expect(embed.fields.length).toBe(25);
    expect(Math.max(...embed.fields.map((f) => f.value.length))).toBeLessThanOrEqual(1024);
    const total = embed.title.length + embed.description.length + embed.footer.text.length + embed.fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
    // 25 fields of 1024 exceed the total by themselves; the description shrinks to one character then.
    expect(embed.description.length).toBe(1);
    expect(total).toBeGreaterThan(0);
  });

  it('a generic JSON webhook gets the alert with its id', () => {
    expect(jsonBody(alert)).toEqual({ id: '0190-abc', kind: 'gate_rejected', key: 'f', severity: 'critical', title: 'OOS data rejected', body: 'gaps at line 3', fields: alert.fields, createdAt: new Date(NOW).toISOString() });
  });
});
