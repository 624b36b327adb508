/**
 * What happens to one delivery of an alert to one webhook after a try, and what the webhook is
 * sent. Pure: the response (or the failure) in, the decision out.
 *
 * - 2xx: sent.
 * - 429: retried when the webhook says (the later of the JSON body's `retry_after` and the
 *   `Retry-After` header, both in seconds), never sooner than the backoff.
 * - network errors, timeouts, 408 and 5xx: retried with the retry policy's backoff until its
 *   attempts are used, then dead.
 * - any other status: dead at once (a 4xx will not change by itself: a wrong URL, a deleted
 *   webhook, a payload the receiver refuses).
 */
import { decideAfterFailure, type RetryPolicy } from './retry-policy.ts';
import { SEVERITY_RANK, type Alert, type Severity } from './alerts.ts';

export const WEBHOOK_KINDS = ['discord', 'json'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

export const DELIVERY_STATES = ['pending', 'sent', 'dead'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** How one try ended. */
export type TryResult =
  | { readonly type: 'response'; readonly status: number; readonly retryAfterHeader?: string | null; readonly body?: string }
  | { readonly type: 'network'; readonly error: string }
  | { readonly type: 'timeout'; readonly afterMs: number };

export type DeliveryDecision =
  | { readonly action: 'sent' }
  | { readonly action: 'retry'; readonly nextAttemptAt: number; readonly error: string; readonly rateLimitedUntil?: number }
  | { readonly action: 'dead'; readonly error: string };

/** Milliseconds a 429 asks to wait: the later of the body's retry_after and the Retry-After header. */
export function retryAfterMs(header: string | null | undefined, body: string | undefined, now: number): number | undefined {
  const waits: number[] = [];
  if (body) {
    try {
      const r = (JSON.parse(body) as { retry_after?: unknown }).retry_after;
      if (typeof r === 'number' && Number.isFinite(r) && r >= 0) waits.push(Math.ceil(r * 1_000));
    } catch {
      // Not JSON: the header may still say.
    }
  }
  if (header) {
    const t = header.trim();
    if (/^\d+(\.\d+)?$/.test(t)) waits.push(Math.ceil(Number(t) * 1_000));
    else {
      const at = Date.parse(t);
      if (Number.isFinite(at)) waits.push(Math.max(0, at - now));
    }
  }
  return waits.length === 0 ? undefined : Math.max(...waits);
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** `attempts`: tries made so far, including this one. */
export function decideDelivery(result: TryResult, attempts: number, now: number, policy: RetryPolicy, random: () => number = Math.random): DeliveryDecision {
  if (result.type === 'response' && result.status >= 200 && result.status < 300) return { action: 'sent' };
  const error =
    result.type === 'response'
      ? `HTTP ${result.status}${result.body ? `: ${result.body.slice(0, 200)}` : ''}`
      : result.type === 'timeout'
        ? `no answer within ${result.afterMs} ms`
        : result.error;
  const retryable = result.type !== 'response' || isRetryableStatus(result.status);
  const decision = decideAfterFailure(attempts, now, policy, retryable, random);
  if (decision.action === 'dead') return { action: 'dead', error: `${error} (${decision.reason})` };
  if (result.type === 'response' && result.status === 429) {
    const wait = retryAfterMs(result.retryAfterHeader, result.body, now);
    if (wait !== undefined) {
      const until = now + wait;
      return { action: 'retry', nextAttemptAt: Math.max(decision.nextAttemptAt, until), error, rateLimitedUntil: until };
    }
  }
  return { action: 'retry', nextAttemptAt: decision.nextAttemptAt, error };
}

// ---- payloads -----------------------------------------------------------------------------------

/** Embed colours by severity (decimal RGB, as Discord takes them). */
export const SEVERITY_COLOUR: Readonly<Record<Severity, number>> = { info: 0x3498db, warning: 0xf1c40f, critical: 0xe74c3c };

// Discord's embed limits (execute-webhook, API v10).
const LIMIT = { title: 256, description: 4096, fields: 25, fieldName: 256, fieldValue: 1024, footer: 2048, total: 6000 };

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The body of Discord's execute-webhook (API v10): one embed; mentions are never parsed. */
export function discordBody(alert: Alert): object {
  const title = cut(`[${alert.severity.toUpperCase()}] ${alert.title}`, LIMIT.title);
  const footer = cut(`shoal alert ${alert.id} · ${alert.kind}`, LIMIT.footer);
  const fields = (alert.fields ?? []).slice(0, LIMIT.fields).map((f) => ({ name: cut(f.name, LIMIT.fieldName), value: cut(f.value || '-', LIMIT.fieldValue), inline: true }));
  // The total counts title, description, field names and values, and the footer.
  const used = title.length + footer.length + fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
  const description = cut(alert.body || '-', Math.max(1, Math.min(LIMIT.description, LIMIT.total - used)));
  return {
    allowed_mentions: { parse: [] },
    embeds: [{ title, description, color: SEVERITY_COLOUR[alert.severity], fields, timestamp: new Date(alert.createdAt).toISOString(), footer: { text: footer } }],
  };
}

/** The body of a generic JSON webhook: the alert as stored. */
export function jsonBody(alert: Alert): object {
  return { id: alert.id, kind: alert.kind, key: alert.key, severity: alert.severity, title: alert.title, body: alert.body, fields: alert.fields ?? [], createdAt: new Date(alert.createdAt).toISOString() };
}

export const BODIES: Readonly<Record<WebhookKind, (alert: Alert) => object>> = { discord: discordBody, json: jsonBody };

/** Header carrying the alert id, so a receiver can drop a repeated delivery. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

export function atLeast(severity: Severity, min: Severity): boolean {
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[min];
}
