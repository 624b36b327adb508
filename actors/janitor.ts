/**
 * janitor: retention, off the request path. On a timer (the injected clock) it keeps the summary
 * of each finished day that falls out of the retention window, then deletes finished requests,
 * results, trades and events older than the window in small batches through the db-writer (each
 * batch its own commit, so results and claims interleave with it), and trims the notifications
 * file through the notifier (its only writer). What is never deleted: persistence/retention.ts.
 *
 * The window is whole UTC days: on day D with keepDays N, rows from before day D-N go, so at least
 * N full days are always kept. keepDays 0 keeps everything (the janitor then does nothing).
 */
import { kindGuard, type ActorContext, type ActorPath, type ActorRef } from '../runtime/index.ts';
import type { TimerHandle } from '../runtime/clock.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import { openStore, type Store } from '../persistence/connection.ts';
import { readDailyFacts } from '../persistence/report.ts';
import { earliestActivity, RETENTION_HORIZON, retentionHorizon, type PrunedCounts, type StoreDailySummaryOutcome } from '../persistence/retention.ts';
import { assembleDailySummary, DAY_MS, utcDayOf } from '../domain/daily-summary.ts';
import { DEFAULT_RANK_CRITERIA, type RankCriteria } from '../domain/ranks.ts';
import { writeCommand } from './db-client.ts';
import type { DbWriterMessage } from './db-writer.ts';
import type { NotifierMessage } from './notifier.ts';

export interface RetentionPolicy {
  /** Whole UTC days of finished work kept; 0 keeps everything. */
  readonly keepDays: number;
  /** Rows of each kind deleted per commit at most. */
  readonly batch: number;
  /** Time between passes (the first runs at start). */
  readonly intervalMs: number;
}

export const defaultRetention: RetentionPolicy = Object.freeze({ keepDays: 90, batch: 200, intervalMs: 3_600_000 });

/** What one pass did. */
export interface RetentionPass {
  readonly at: number;
  /** Rows before this (a UTC day start) may now be gone; undefined while nothing is old enough. */
  readonly horizon: number | undefined;
  /** Days whose summaries were stored in this pass. */
  readonly daysStored: number;
  readonly pruned: PrunedCounts;
  readonly notificationsPruned: number;
  readonly error?: string;
}

export type JanitorMessage = { readonly kind: 'pass'; readonly replyTo?: ActorRef<RetentionPass> };

export const isJanitorMessage = kindGuard<JanitorMessage>({ pass: true });

export interface JanitorConfig {
  readonly dbPath: string;
  readonly writerPath: ActorPath<DbWriterMessage>;
  readonly notifierPath: ActorPath<NotifierMessage>;
  readonly policy: RetentionPolicy;
  /** The OOS gate the stored summaries' passed/failed split uses. */
  readonly criteria?: RankCriteria;
  /** Told each pass that did something or failed. */
  readonly onPass?: (pass: RetentionPass) => void;
}

/** Counters that outlive restarts of the janitor. */
export class JanitorStats {
  passes = 0;
  daysStored = 0;
  readonly pruned: PrunedCounts = { requests: 0, results: 0, trades: 0, failureEvents: 0, supervisorEvents: 0, alerts: 0 };
  notificationsPruned = 0;
  failures = 0;
  lastPassAt: number | undefined;
  lastError: string | undefined;
}

interface JanitorState {
  reader: Store | undefined;
  timer?: TimerHandle;
}

const NONE: PrunedCounts = { requests: 0, results: 0, trades: 0, failureEvents: 0, supervisorEvents: 0, alerts: 0 };

export function janitor(config: JanitorConfig, stats = new JanitorStats()): ActorDefinition<JanitorState, JanitorMessage> {
  const { keepDays, batch, intervalMs } = config.policy;
  const criteria = config.criteria ?? DEFAULT_RANK_CRITERIA;

  const reader = (state: JanitorState): Store => {
    state.reader ??= openStore({ path: config.dbPath, readonly: true });
    return state.reader;
  };

  /** Keeps the summary of every day before `cutoff` not kept yet, oldest first; returns the horizon. */
  const storeDays = async (state: JanitorState, ctx: ActorContext<JanitorMessage>, cutoff: number, counts: { days: number }): Promise<number | undefined> => {
    const kept = retentionHorizon(reader(state));
    let horizon: number;
    if (kept !== undefined) horizon = kept;
    else {
      const first = earliestActivity(reader(state));
      if (first === undefined) return undefined;
      // Where retention starts on this store: the first day anything was written.
      horizon = utcDayOf(first).from;
      await writeCommand(ctx.system, config.writerPath, { type: 'setCursor', name: RETENTION_HORIZON, value: horizon });
    }
    while (horizon < cutoff) {
      // The day is over and its rows are not deleted until this commit moves the horizon past
      // it, so reading them here, outside the writer, gives the figures they will keep.
      const summary = assembleDailySummary(readDailyFacts(reader(state), horizon, horizon + DAY_MS), ctx.clock.now(), criteria);
      const o: StoreDailySummaryOutcome = await writeCommand(ctx.system, config.writerPath, { type: 'storeDailySummary', dayStart: horizon, summary });
      if (o.status === 'stored') counts.days++;
      horizon = o.horizon;
    }
    return horizon;
  };

  const pass = async (state: JanitorState, ctx: ActorContext<JanitorMessage>): Promise<RetentionPass> => {
    const now = ctx.clock.now();
    const cutoff = utcDayOf(now).from - keepDays * DAY_MS;
    const pruned = { ...NONE };
    const counts = { days: 0 };
    let horizon: number | undefined;
    let notificationsPruned = 0;
    let error: string | undefined;
    try {
      horizon = await storeDays(state, ctx, cutoff, counts);
      if (horizon !== undefined) {
        // One commit per batch: the writer takes other work between them.
        for (let more = true; more; ) {
          const o = await writeCommand(ctx.system, config.writerPath, { type: 'pruneBefore', before: cutoff, limit: batch });
          for (const k of Object.keys(pruned) as (keyof PrunedCounts)[]) pruned[k] += o.pruned[k];
          more = o.more;
        }
        const notifier = ctx.system.lookup(config.notifierPath);
        if (notifier) {
          const r = await ctx.system.query<NotifierMessage, { removed: number; error?: string }>(notifier, (replyTo) => ({ kind: 'prune', before: Math.min(horizon!, cutoff), replyTo }), 60_000);
          notificationsPruned = r.removed;
          if (r.error) error = r.error;
        }
      }
    } catch (e) {
      error = (e as Error).message;
    }
    stats.passes++;
    stats.lastPassAt = now;
    stats.daysStored += counts.days;
    for (const k of Object.keys(pruned) as (keyof PrunedCounts)[]) stats.pruned[k] += pruned[k];
    stats.notificationsPruned += notificationsPruned;
    if (error !== undefined) {
      stats.failures++;
      stats.lastError = error;
    }
    return { at: now, horizon, daysStored: counts.days, pruned, notificationsPruned, ...(error !== undefined ? { error } : {}) };
  };

  const schedule = (state: JanitorState, ctx: ActorContext<JanitorMessage>) => {
    if (state.timer) ctx.clock.clearTimeout(state.timer);
    state.timer = ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'pass' }), intervalMs);
  };

  const didSomething = (p: RetentionPass) =>
    p.error !== undefined || p.daysStored > 0 || p.notificationsPruned > 0 || Object.values(p.pruned).some((n) => n > 0);

  return {
    accepts: isJanitorMessage,
    init: (ctx) => {
      const state: JanitorState = { reader: undefined };
      // keepDays 0 keeps everything: no timer, no pass (one asked for still answers).
      if (keepDays > 0) ctx.self.tell({ kind: 'pass' });
      return state;
    },
    receive: async (state, msg, ctx) => {
      const report = keepDays > 0 ? await pass(state, ctx) : { at: ctx.clock.now(), horizon: undefined, daysStored: 0, pruned: { ...NONE }, notificationsPruned: 0 };
      if (keepDays > 0 && !msg.replyTo) schedule(state, ctx);
      if (didSomething(report)) config.onPass?.(report);
      msg.replyTo?.tell(report);
      return state;
    },
    onStop: (state, _reason, ctx) => {
      if (state.timer) ctx.clock.clearTimeout(state.timer);
      state.reader?.close();
    },
  };
}
