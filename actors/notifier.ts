/**
 * notifier: the operator notification channel (data-gate alerts, daily summaries). Each
 * notification is emitted to the channel's subscribers, appended as one JSON line to a file when
 * one is configured, and POSTed to a Discord-compatible webhook (`{content}`) when one is
 * configured. Nothing is dropped silently: every outcome is counted in NotifierStats, and no
 * failure reaches whoever sent the notification (they only `tell`).
 */
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import { EventStream, isNumber, isString, kindGuard } from '../runtime/index.ts';
import type { ActorContext, ActorPath, ActorRef, ActorSystem } from '../runtime/index.ts';
import type { ActorDefinition } from '../supervisors/index.ts';

// ---- protocol ----------------------------------------------------------------------------------

export type Severity = 'info' | 'warning' | 'critical';

/** What a notification is about, for subscribers that sort them (the service's logs). */
export type NotificationTopic = 'gate_rejected' | 'daily_summary' | 'daily_summary_failed';

export interface Notification {
  readonly kind: 'notify';
  readonly severity: Severity;
  readonly title: string;
  readonly body: string;
  /** Unix ms, from the sender's clock. */
  readonly at: number;
  readonly topic?: NotificationTopic;
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

export type NotifierMessage = Notification | PruneNotifications;

export const isNotifierMessage = kindGuard<NotifierMessage>({ notify: (m) => isString(m.title) && isString(m.body), prune: (m) => isNumber(m.before) });

// ---- configuration -----------------------------------------------------------------------------

export interface NotifierConfig {
  /** Appends each notification as a JSON line. */
  readonly file?: string;
  /** Discord-compatible webhook: POST {"content": "..."}. */
  readonly webhookUrl?: string;
  /** Default 5 s. */
  readonly webhookTimeoutMs?: number;
  /** Only notifications at or above this severity go to the webhook. Default 'info' (all). */
  readonly webhookMinSeverity?: Severity;
  /** Injectable for tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

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
  webhookSent = 0;
  webhookFailures = 0;
  lastError: string | undefined;
}

/** What the host wires once and shares: the subscriber stream and the counters. */
export class NotificationChannel {
  readonly events = new EventStream<Notification>();
  readonly stats = new NotifierStats();
}

/** Discord rejects content longer than 2,000 characters. */
const WEBHOOK_MAX = 2_000;
const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export function webhookContent(n: Notification): string {
  const text = `**[${n.severity.toUpperCase()}] ${n.title}**\n${n.body}`;
  return text.length <= WEBHOOK_MAX ? text : `${text.slice(0, WEBHOOK_MAX - 2)}\n…`;
}

/** Sends a notification to the notifier at `path`; an absent notifier yields a dead letter, not silence. */
export function notify(system: ActorSystem, path: ActorPath<NotifierMessage>, n: Omit<Notification, 'kind' | 'at'> & { at?: number }): void {
  system.dispatchPath(path, { kind: 'notify', severity: n.severity, title: n.title, body: n.body, at: n.at ?? system.clock.now(), ...(n.topic ? { topic: n.topic } : {}) } satisfies Notification);
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

export function notifier(config: NotifierConfig = {}, channel = new NotificationChannel()): ActorDefinition<undefined, NotifierMessage> {
  const stats = channel.stats;
  const timeoutMs = config.webhookTimeoutMs ?? 5_000;
  const minRank = RANK[config.webhookMinSeverity ?? 'info'];

  const post = async (n: Notification): Promise<void> => {
    const doFetch = config.fetch ?? fetch;
    try {
      const res = await doFetch(config.webhookUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: webhookContent(n) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      stats.webhookSent++;
    } catch (e) {
      stats.webhookFailures++;
      stats.lastError = `webhook POST for "${n.title}" failed: ${(e as Error).message}`;
    }
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
      stats.lastError = `retention of ${config.file} failed: ${(e as Error).message}`;
      return { removed: 0, error: stats.lastError };
    }
  };

  const handle = async (_state: undefined, msgs: readonly NotifierMessage[], _ctx: ActorContext<NotifierMessage>): Promise<undefined> => {
    const valid = msgs.filter((m): m is Notification => m && m.kind === 'notify');
    const prunes = msgs.filter((m): m is PruneNotifications => m && m.kind === 'prune');
    stats.received += valid.length;
    stats.ignored += msgs.length - valid.length - prunes.length;
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
        stats.lastError = `append to ${config.file} failed: ${(e as Error).message}`;
      }
    }
    if (config.webhookUrl !== undefined) {
      for (const n of valid) if (RANK[n.severity] >= minRank) await post(n);
    }
    for (const p of prunes) p.replyTo?.tell(await prune(p.before));
    return undefined;
  };

  return { accepts: isNotifierMessage, initialState: undefined, receiveBatch: handle, options: { batchSize: 256, throughput: 256 } };
}
