/**
 * notifier: the operator notification channel. Each notification is emitted to the channel's
 * subscribers (the service's log) and appended as one JSON line to a file when one is configured.
 * A notification with a topic is an alert (domain/alerts.ts): it is written to the store through
 * the db-writer, and committed, before any webhook is tried, so a crash cannot lose it; within the
 * deduplication window an alert of the same kind and key is counted on the first one instead.
 *
 * Delivery (domain/alert-delivery.ts decides): each stored alert has one delivery per configured
 * webhook (Discord embeds or generic JSON). A delivery is claimed in the store before its POST
 * (attempts + 1, leased for the timeout), then finished: sent, retried later (network errors,
 * timeouts, 5xx; a 429 waits as long as the webhook asks, and the webhook is not tried before),
 * or dead (any other 4xx, or the attempts used), with the error. Each webhook is rate-limited on
 * its own (a token bucket of one, `ratePerMinute`). A process killed mid-POST tries again when the
 * lease ends; the alert id goes with every try (the Idempotency-Key header, and the payload) so a
 * receiver can drop a repeat.
 *
 * An alert the store cannot take (the writer down, the disk full) is delivered from memory with
 * the same rules: it survives restarts of this actor but not of the process, and is counted.
 * Webhook URLs are secrets: every error this module records or tells is scrubbed of them.
 * Nothing is dropped silently: every outcome is counted in NotifierStats and told on the
 * channel's `deliveries` stream; no failure reaches whoever raised the alert (they only `tell`).
 */
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import { EventStream, isNumber, isString, kindGuard } from '../runtime/index.ts';
import type { ActorContext, ActorPath, ActorRef, ActorSystem, TimerHandle } from '../runtime/index.ts';
import { refill, msUntilToken, type TokenBucket } from '../runtime/token-bucket.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import { openStore, type Store } from '../persistence/connection.ts';
import { dueAlertDeliveries, nextAlertDeliveryAt, type DueDelivery, type RaiseAlertCommand } from '../persistence/alerts.ts';
import { UuidV7Generator } from '../persistence/uuidv7.ts';
import type { WriteCommand } from '../persistence/commands.ts';
import { isAlertKind, type Alert, type AlertField, type AlertInput, type AlertKind, type Severity } from '../domain/alerts.ts';
import { BODIES, decideDelivery, IDEMPOTENCY_HEADER, type DeliveryDecision, type TryResult, type WebhookKind } from '../domain/alert-delivery.ts';
import type { RetryPolicy } from '../domain/retry-policy.ts';
import { scrubber } from '../domain/redaction.ts';
import { writeCommands } from './db-client.ts';
import { DbWriteError, type DbWriterMessage } from './db-writer.ts';

export type { Severity } from '../domain/alerts.ts';

// ---- protocol ----------------------------------------------------------------------------------

/** What a notification is about: the alert kind (domain/alerts.ts). */
export type NotificationTopic = AlertKind;

export interface Notification {
  readonly kind: 'notify';
  readonly severity: Severity;
  readonly title: string;
  readonly body: string;
  /** Unix ms, from the sender's clock. */
  readonly at: number;
  /** The alert kind; a notification without one is only emitted and written to the file. */
  readonly topic?: NotificationTopic;
  /** The deduplication key (default: the title). */
  readonly key?: string;
  readonly fields?: readonly AlertField[];
}

/**
 * Retention of the notifications file: lines with `at` before `before` are removed (the file is
 * rewritten beside itself and renamed over it). The reply tells how many lines went.
 */
export interface PruneNotifications {
  readonly kind: 'prune';
  readonly before: number;
  readonly replyTo?: ActorRef<{ readonly removed: number; readonly error?: string }>;
}

/** Look for due deliveries now (the notifier's own timer; anyone may send it). */
export interface DeliverAlerts {
  readonly kind: 'deliver';
}

export type NotifierMessage = Notification | PruneNotifications | DeliverAlerts;

export const isNotifierMessage = kindGuard<NotifierMessage>({ notify: (m) => isString(m.title) && isString(m.body), prune: (m) => isNumber(m.before), deliver: true });

// ---- configuration -----------------------------------------------------------------------------

export interface WebhookTarget {
  /** How the webhook is named in the store, the logs and the counters (the URL never is). */
  readonly name: string;
  readonly kind: WebhookKind;
  /** A secret: it carries the webhook's token. */
  readonly url: string;
}

export interface NotifierConfig {
  /** Appends each notification as a JSON line. */
  readonly file?: string;
  /** The store alerts are kept in: read here, written through the db-writer. Without both, alerts are only emitted. */
  readonly dbPath?: string;
  readonly writerPath?: ActorPath<DbWriterMessage>;
  readonly webhooks?: readonly WebhookTarget[];
  /** Default 1 h; 0 sends every occurrence. */
  readonly dedupWindowMs?: number;
  /** Per webhook. Default 30. */
  readonly ratePerMinute?: number;
  /** One POST's deadline. Default 5 s. */
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
  /** Injectable for tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  readonly random?: () => number;
}

export const DEFAULT_ALERT_RETRY: RetryPolicy = Object.freeze({
  maxAttempts: 10,
  backoff: Object.freeze({ minMs: 2_000, maxMs: 600_000, factor: 3, jitter: 0.2, resetAfterMs: 0, firstImmediate: false }),
});

/** Beyond the POST's own deadline, before a claimed delivery is tried again by a later process. */
const LEASE_MARGIN_MS = 1_000;
/** Due deliveries read per pass. */
const PAGE = 200;
/** How soon a pass whose store reads or writes failed looks again. */
const STORE_RETRY_MS = 1_000;
/** Waits before storing an alert again when the writer could not be reached; then it is delivered from memory. */
const STORE_TRIES = [100, 400, 1_600];

/** Outcome counters; lives outside the actor so restarts keep them. */
export class NotifierStats {
  received = 0;
  /** Messages that were not notifications. */
  ignored = 0;
  emitted = 0;
  subscriberErrors = 0;
  written = 0;
  writeFailures = 0;
  /** Lines removed from the file by retention. */
  pruned = 0;
  /** Alerts stored for delivery. */
  alertsRaised = 0;
  /** Alerts absorbed by an earlier one of the same kind and key within the window. */
  alertsDeduplicated = 0;
  /** Alerts the store could not take: delivered from memory. */
  alertsUnstored = 0;
  delivered = 0;
  /** Tries that failed and will be tried again. */
  retried = 0;
  /** 429 answers. */
  rateLimited = 0;
  /** Deliveries given up (a 4xx, the attempts used, the webhook no longer configured). */
  dead = 0;
  /** Store writes of delivery bookkeeping that failed (the delivery is tried again after its lease). */
  bookkeepingFailures = 0;
  lastError: string | undefined;
}

/** One delivery's outcome, for the log. The error is scrubbed of webhook URLs. */
export interface DeliveryEvent {
  readonly alertId: string;
  readonly kind: AlertKind;
  readonly target: string;
  readonly outcome: 'sent' | 'retry' | 'dead';
  readonly attempts: number;
  readonly error?: string;
  readonly nextAttemptAt?: number;
  /** True when the alert is not in the store (delivered from memory). */
  readonly unstored?: boolean;
}

/** A delivery held in memory because the store could not take its alert. */
interface VolatileDelivery extends DueDelivery {
  nextAttemptAt: number;
  attempts: number;
}

/** What the host wires once and shares: the subscriber streams, the counters, and state that outlives restarts. */
export class NotificationChannel {
  readonly events = new EventStream<Notification>();
  readonly deliveries = new EventStream<DeliveryEvent>();
  readonly stats = new NotifierStats();
  /** Per webhook: its token bucket, and the time a 429 asked it to wait until. */
  readonly limits = new Map<string, { bucket: TokenBucket; blockedUntil: number }>();
  readonly volatile: VolatileDelivery[] = [];
  /** Alerts delivered from memory by kind and key, with when: deduplicated here as the store would. */
  readonly unstoredSeen = new Map<string, number>();
}

/** Sends a notification to the notifier at `path`; an absent notifier yields a dead letter, not silence. */
export function notify(system: ActorSystem, path: ActorPath<NotifierMessage>, n: Omit<Notification, 'kind' | 'at'> & { at?: number }): void {
  const { at, ...rest } = n;
  system.dispatchPath(path, { kind: 'notify', ...rest, at: at ?? system.clock.now() } satisfies Notification);
}

/** Raises an alert (domain/alerts.ts builds them) through the notifier at `path`. */
export function raiseAlert(system: ActorSystem, path: ActorPath<NotifierMessage>, alert: AlertInput): void {
  notify(system, path, { topic: alert.kind, key: alert.key, severity: alert.severity, title: alert.title, body: alert.body, ...(alert.fields ? { fields: alert.fields } : {}) });
}

/**
 * The lines of a notifications file to keep: those at or after `before`. A line that cannot be
 * read as a notification is kept (nothing is dropped that retention cannot date).
 */
export function linesToKeep(content: string, before: number): { kept: string; removed: number } {
  const lines = content.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let removed = 0;
  const kept = lines.filter((line) => {
    let at: unknown;
    try {
      at = (JSON.parse(line) as { at?: unknown }).at;
    } catch {
      return true;
    }
    const old = typeof at === 'number' && at < before;
    if (old) removed++;
    return !old;
  });
  return { kept: kept.length === 0 ? '' : `${kept.join('\n')}\n`, removed };
}

/** Discord answers with the created message (200) only with ?wait=true; without, it only queued it. */
export function webhookRequestUrl(target: WebhookTarget): string {
  if (target.kind !== 'discord') return target.url;
  const u = new URL(target.url);
  u.searchParams.set('wait', 'true');
  return u.toString();
}

interface NotifierState {
  reader: Store | undefined;
  timer?: TimerHandle;
  /** The delivery pass in progress, if any; another is run after it when asked meanwhile. */
  pass?: Promise<void>;
  again: boolean;
  stopped: boolean;
}

const uuids = new UuidV7Generator();

export function notifier(config: NotifierConfig = {}, channel = new NotificationChannel()): ActorDefinition<NotifierState, NotifierMessage> {
  const stats = channel.stats;
  const webhooks = new Map((config.webhooks ?? []).map((w) => [w.name, w]));
  const durable = config.dbPath !== undefined && config.writerPath !== undefined;
  const dedupWindowMs = config.dedupWindowMs ?? 3_600_000;
  const ratePerSec = (config.ratePerMinute ?? 30) / 60;
  const timeoutMs = config.timeoutMs ?? 5_000;
  const retry = config.retry ?? DEFAULT_ALERT_RETRY;
  const random = config.random ?? Math.random;
  // Every URL form a message could carry: as configured and as requested.
  const scrub = scrubber([...webhooks.values()].flatMap((w) => [w.url, webhookRequestUrl(w), new URL(w.url).pathname]).filter((s) => s.length > 1));
  const fail = (text: string) => {
    stats.lastError = scrub(text);
    return stats.lastError;
  };

  const reader = (state: NotifierState): Store => {
    state.reader ??= openStore({ path: config.dbPath!, readonly: true });
    return state.reader;
  };

  /** One POST; how it ended, never thrown. */
  const post = async (target: WebhookTarget, alert: Alert): Promise<TryResult> => {
    const doFetch = config.fetch ?? fetch;
    try {
      const res = await doFetch(webhookRequestUrl(target), {
        method: 'POST',
        headers: { 'content-type': 'application/json', [IDEMPOTENCY_HEADER]: alert.id, 'user-agent': 'shoal-notifier' },
        body: JSON.stringify(BODIES[target.kind](alert)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = await res.text();
      return { type: 'response', status: res.status, retryAfterHeader: res.headers.get('retry-after'), body: body.slice(0, 2_000) };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === 'TimeoutError' || err.name === 'AbortError') return { type: 'timeout', afterMs: timeoutMs };
      const cause = err.cause ? `: ${err.cause.code ?? err.cause.message ?? ''}` : '';
      return { type: 'network', error: scrub(`${err.message}${cause}`) };
    }
  };

  const limitOf = (name: string, now: number) => {
    let l = channel.limits.get(name);
    if (!l) channel.limits.set(name, (l = { bucket: { tokens: 1, at: now }, blockedUntil: 0 }));
    return l;
  };

  /** Ms until the webhook may be tried (429 wait, then the rate), 0 when now. */
  const waitFor = (name: string, now: number): number => {
    const l = limitOf(name, now);
    return Math.max(l.blockedUntil - now, msUntilToken(l.bucket, now, ratePerSec, 1), 0);
  };

  const takeToken = (name: string, now: number) => {
    const l = limitOf(name, now);
    const b = refill(l.bucket, now, ratePerSec, 1);
    l.bucket = { tokens: b.tokens - 1, at: now };
  };

  const tell = (d: DueDelivery, decision: DeliveryDecision | { action: 'dead'; error: string }, attempts: number, unstored: boolean) => {
    if (decision.action === 'sent') stats.delivered++;
    else if (decision.action === 'retry') stats.retried++;
    else stats.dead++;
    const error = decision.action === 'sent' ? undefined : scrub(decision.error);
    if (error !== undefined) fail(`alert ${d.alert.id} (${d.alert.kind}) to webhook ${d.target}: ${error}`);
    const before = channel.deliveries.subscriberErrors;
    channel.deliveries.emit({
      alertId: d.alert.id,
      kind: d.alert.kind,
      target: d.target,
      outcome: decision.action,
      attempts,
      ...(error !== undefined ? { error } : {}),
      ...(decision.action === 'retry' ? { nextAttemptAt: decision.nextAttemptAt } : {}),
      ...(unstored ? { unstored } : {}),
    });
    stats.subscriberErrors += channel.deliveries.subscriberErrors - before;
  };

  const write = (ctx: ActorContext<NotifierMessage>, commands: WriteCommand[]) => writeCommands(ctx.system, config.writerPath!, commands, 30_000);

  /** Tries one stored delivery: claim, POST, finish. A failed claim leaves it for a later pass (false). */
  const deliverStored = async (ctx: ActorContext<NotifierMessage>, d: DueDelivery, target: WebhookTarget): Promise<boolean> => {
    const now = ctx.clock.now();
    let attempts: number;
    try {
      const [claim] = await write(ctx, [{ type: 'claimAlertDelivery', alertId: d.alert.id, target: d.target, leaseUntil: now + timeoutMs + LEASE_MARGIN_MS }]);
      if (claim.status !== 'claimed') return true;
      attempts = (claim as { attempts: number }).attempts;
    } catch (e) {
      stats.bookkeepingFailures++;
      fail(`claiming alert ${d.alert.id} for webhook ${d.target} failed: ${(e as Error).message}`);
      return false;
    }
    takeToken(d.target, now);
    const result = await post(target, d.alert);
    const decision = decideDelivery(result, attempts, ctx.clock.now(), retry, random);
    if (result.type === 'response' && result.status === 429) stats.rateLimited++;
    if (decision.action === 'retry' && decision.rateLimitedUntil !== undefined) limitOf(d.target, now).blockedUntil = decision.rateLimitedUntil;
    try {
      await write(ctx, [
        {
          type: 'finishAlertDelivery',
          alertId: d.alert.id,
          target: d.target,
          outcome: decision.action,
          ...(decision.action === 'retry' ? { nextAttemptAt: decision.nextAttemptAt } : {}),
          ...(decision.action === 'sent' ? {} : { error: scrub(decision.error) }),
          ...(result.type === 'response' ? { httpStatus: result.status } : {}),
        },
      ]);
    } catch (e) {
      // The lease ends and the delivery is tried again: a repeat the receiver can drop by id.
      stats.bookkeepingFailures++;
      fail(`recording the delivery of alert ${d.alert.id} to webhook ${d.target} failed: ${(e as Error).message}`);
    }
    tell(d, decision, attempts, false);
    return true;
  };

  const deliverVolatile = async (ctx: ActorContext<NotifierMessage>, d: VolatileDelivery, target: WebhookTarget): Promise<void> => {
    const now = ctx.clock.now();
    takeToken(d.target, now);
    d.attempts++;
    d.nextAttemptAt = now + timeoutMs + LEASE_MARGIN_MS;
    const result = await post(target, d.alert);
    const decision = decideDelivery(result, d.attempts, ctx.clock.now(), retry, random);
    if (result.type === 'response' && result.status === 429) stats.rateLimited++;
    if (decision.action === 'retry') {
      d.nextAttemptAt = decision.nextAttemptAt;
      if (decision.rateLimitedUntil !== undefined) limitOf(d.target, now).blockedUntil = decision.rateLimitedUntil;
    } else channel.volatile.splice(channel.volatile.indexOf(d), 1);
    tell(d, decision, d.attempts, true);
  };

  /**
   * Delivers what is due, each webhook in order and at its own pace. Returns when to look again:
   * `more` at once (a full page, or a try that came due meanwhile), else in `wakeMs` (the next
   * due try, a webhook's limits, or a store that failed), else only when an alert arrives.
   */
  const pass = async (state: NotifierState, ctx: ActorContext<NotifierMessage>): Promise<{ more: boolean; wakeMs?: number }> => {
    const now = ctx.clock.now();
    const stored = durable ? dueAlertDeliveries(reader(state), now, PAGE) : [];
    const volatile = channel.volatile.filter((d) => d.nextAttemptAt <= now);
    const byTarget = new Map<string, Array<{ d: DueDelivery; volatile: boolean }>>();
    const gone: DueDelivery[] = [];
    for (const d of stored) {
      if (webhooks.has(d.target)) byTarget.set(d.target, [...(byTarget.get(d.target) ?? []), { d, volatile: false }]);
      else gone.push(d);
    }
    for (const d of volatile) byTarget.set(d.target, [...(byTarget.get(d.target) ?? []), { d, volatile: true }]);
    let wake: number | undefined;
    let storeFailed = false;
    const soonest = (ms: number) => (wake = wake === undefined ? ms : Math.min(wake, ms));
    if (gone.length > 0) {
      // A webhook removed from the configuration: its deliveries end, visibly.
      const error = 'the webhook is no longer configured';
      try {
        await write(ctx, gone.map((d) => ({ type: 'finishAlertDelivery' as const, alertId: d.alert.id, target: d.target, outcome: 'dead' as const, error })));
        for (const d of gone) tell(d, { action: 'dead', error }, d.attempts, false);
      } catch (e) {
        stats.bookkeepingFailures++;
        fail(`ending deliveries to removed webhooks failed: ${(e as Error).message}`);
        storeFailed = true;
        soonest(STORE_RETRY_MS);
      }
    }
    await Promise.all(
      [...byTarget].map(async ([name, items]) => {
        const target = webhooks.get(name)!;
        for (const { d, volatile: v } of items) {
          if (state.stopped) return;
          const wait = waitFor(name, ctx.clock.now());
          if (wait > 0) {
            soonest(wait);
            return;
          }
          if (v) await deliverVolatile(ctx, d as VolatileDelivery, target);
          else if (!(await deliverStored(ctx, d, target))) {
            storeFailed = true;
            soonest(STORE_RETRY_MS);
            return;
          }
        }
      }),
    );
    const t = ctx.clock.now();
    // A retry whose backoff ended while the pass ran is due now: another pass at once, unless its
    // webhook is held back (its wait is counted above) or the store failed (looked at again soon).
    const ready = (d: DueDelivery) => webhooks.has(d.target) && waitFor(d.target, t) === 0;
    const dueNow = !storeFailed && ((durable && dueAlertDeliveries(reader(state), t, PAGE).some(ready)) || channel.volatile.some((d) => d.nextAttemptAt <= t && ready(d)));
    const next = durable ? nextAlertDeliveryAt(reader(state)) : undefined;
    if (next !== undefined && next > t) soonest(next - t);
    for (const d of channel.volatile) if (d.nextAttemptAt > t) soonest(d.nextAttemptAt - t);
    return { more: stored.length === PAGE || dueNow, ...(wake !== undefined ? { wakeMs: wake } : {}) };
  };

  const schedule = (state: NotifierState, ctx: ActorContext<NotifierMessage>, ms: number | undefined) => {
    if (state.timer) ctx.clock.clearTimeout(state.timer);
    state.timer = undefined;
    if (ms === undefined || state.stopped) return;
    state.timer = ctx.clock.setTimeout(() => {
      state.timer = undefined;
      if (!state.stopped) ctx.self.tell({ kind: 'deliver' });
    }, ms);
  };

  /** Runs a pass unless one runs; one asked meanwhile runs after it. Never awaited by the handler, so notifications flow during slow POSTs. */
  const startPass = (state: NotifierState, ctx: ActorContext<NotifierMessage>) => {
    if (webhooks.size === 0 && !durable) return;
    if (state.pass) {
      state.again = true;
      return;
    }
    state.again = false;
    state.pass = pass(state, ctx)
      .then(
        (r) => {
          state.pass = undefined;
          if (state.stopped) return;
          if (state.again || r.more) ctx.self.tell({ kind: 'deliver' });
          else schedule(state, ctx, r.wakeMs);
        },
        (e) => {
          state.pass = undefined;
          fail(`alert delivery pass failed: ${(e as Error).message}`);
          schedule(state, ctx, STORE_RETRY_MS);
        },
      );
  };

  /** Stores the alerts of a batch of notifications; what the store cannot take is delivered from memory. */
  const store = async (ctx: ActorContext<NotifierMessage>, alerts: Notification[]) => {
    const commands: RaiseAlertCommand[] = alerts.map((n) => ({
      type: 'raiseAlert',
      id: uuids.next(ctx.clock.now()),
      kind: n.topic!,
      key: n.key ?? n.title,
      severity: n.severity,
      title: n.title,
      body: n.body,
      ...(n.fields ? { fields: n.fields } : {}),
      dedupWindowMs,
      targets: [...webhooks.keys()],
    }));
    let outcomes: Awaited<ReturnType<typeof writeCommands>> | undefined;
    let error: string | undefined;
    if (durable) {
      for (let attempt = 0; ; attempt++) {
        try {
          outcomes = await write(ctx, commands);
          error = undefined;
          break;
        } catch (e) {
          error = (e as Error).message;
          // The database refused it (full, read-only): it will not take it sooner. A writer that
          // is restarting (a supervisor giving up is such a moment) is back in moments.
          if (e instanceof DbWriteError || attempt >= STORE_TRIES.length) break;
          await new Promise((resolve) => ctx.clock.setTimeout(() => resolve(undefined), STORE_TRIES[attempt]));
        }
      }
    }
    commands.forEach((c, i) => {
      const o = outcomes?.[i];
      if (o?.status === 'raised') stats.alertsRaised++;
      else if (o?.status === 'deduplicated') stats.alertsDeduplicated++;
      else {
        const seenKey = `${c.kind}\u0000${c.key}`;
        const seen = channel.unstoredSeen.get(seenKey);
        if (seen !== undefined && ctx.clock.now() - seen < dedupWindowMs) {
          stats.alertsDeduplicated++;
          return;
        }
        channel.unstoredSeen.set(seenKey, ctx.clock.now());
        stats.alertsUnstored++;
        if (durable) fail(`alert ${c.kind} "${c.title}" could not be stored, delivering it from memory: ${o ? (o as { error: string }).error : error}`);
        const alert: Alert = { id: c.id, kind: c.kind, key: c.key, severity: c.severity, title: c.title, body: c.body, fields: c.fields ?? [], createdAt: ctx.clock.now() };
        for (const target of webhooks.keys()) channel.volatile.push({ alert, target, attempts: 0, nextAttemptAt: ctx.clock.now() });
      }
    });
  };

  /** Rewrites the file without its old lines; the notifier is the file's only writer, so no append is lost. */
  const prune = async (before: number): Promise<{ removed: number; error?: string }> => {
    if (config.file === undefined) return { removed: 0 };
    try {
      let content: string;
      try {
        content = await readFile(config.file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { removed: 0 };
        throw e;
      }
      const { kept, removed } = linesToKeep(content, before);
      if (removed > 0) {
        const temp = `${config.file}.retention`;
        await writeFile(temp, kept, { flush: true });
        await rename(temp, config.file);
        stats.pruned += removed;
      }
      return { removed };
    } catch (e) {
      return { removed: 0, error: fail(`retention of ${config.file} failed: ${(e as Error).message}`) };
    }
  };

  const handle = async (state: NotifierState, msgs: readonly NotifierMessage[], ctx: ActorContext<NotifierMessage>): Promise<NotifierState> => {
    const valid = msgs.filter((m): m is Notification => m && m.kind === 'notify');
    const prunes = msgs.filter((m): m is PruneNotifications => m && m.kind === 'prune');
    const delivers = msgs.filter((m) => m && m.kind === 'deliver').length;
    stats.received += valid.length;
    stats.ignored += msgs.length - valid.length - prunes.length - delivers;
    const alerts = valid.filter((n) => isAlertKind(n.topic));
    // Stored first: once committed, a crash cannot lose them.
    if (alerts.length > 0) await store(ctx, alerts);
    for (const n of valid) {
      const before = channel.events.subscriberErrors;
      channel.events.emit(n);
      stats.subscriberErrors += channel.events.subscriberErrors - before;
      stats.emitted++;
    }
    if (config.file !== undefined && valid.length > 0) {
      // One append per batch: the lines of a turn land together, in order.
      try {
        await appendFile(config.file, valid.map((n) => `${JSON.stringify(n)}\n`).join(''));
        stats.written += valid.length;
      } catch (e) {
        stats.writeFailures += valid.length;
        fail(`append to ${config.file} failed: ${(e as Error).message}`);
      }
    }
    if (alerts.length > 0 || delivers > 0) startPass(state, ctx);
    for (const p of prunes) p.replyTo?.tell(await prune(p.before));
    return state;
  };

  return {
    accepts: isNotifierMessage,
    init: (ctx) => {
      const state: NotifierState = { reader: undefined, again: false, stopped: false };
      // Deliveries left pending by an earlier run (or process): as a message, so a failing store does not fail the start.
      if (webhooks.size > 0 || durable) ctx.self.tell({ kind: 'deliver' });
      return state;
    },
    receiveBatch: handle,
    onStop: async (state, _reason, ctx) => {
      state.stopped = true;
      if (state.timer) ctx.clock.clearTimeout(state.timer);
      // A POST in progress ends by its deadline; its delivery stays claimed until its lease ends.
      await state.pass?.catch(() => undefined);
      state.reader?.close();
    },
    options: { batchSize: 256, throughput: 256 },
  };
}
