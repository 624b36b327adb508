/**
 * daily-reporter: at each UTC day boundary (on the injected clock) it computes the summary of the
 * day that just ended from the durable rows and sends it through the notifier.
 *
 * The last reported day is a cursor ('daily-report', the day's start in Unix ms) written through
 * the db-writer after the notification went out, so a process that was down over midnight
 * reports the days it missed when it starts again (at most `maxCatchUpDays`), and a restart does
 * not report a day again (only a cursor write that failed after the notification can repeat one).
 * On a store that has never reported, reporting starts with the next boundary.
 */
import { kindGuard, isNumber, isOptional, type ActorContext, type ActorPath, type ActorRef } from '../runtime/index.ts';
import type { TimerHandle } from '../runtime/clock.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import { openStore, type Store } from '../persistence/connection.ts';
import { getCursor } from '../persistence/cursors.ts';
import { readDailyFacts } from '../persistence/report.ts';
import { assembleDailySummary, DAY_MS, formatDailySummary, utcDayOf, type DailySummary } from '../domain/daily-summary.ts';
import { DEFAULT_RANK_CRITERIA, type RankCriteria } from '../domain/ranks.ts';
import { writeCommand } from './db-client.ts';
import type { DbWriterMessage } from './db-writer.ts';
import { notify, type NotifierMessage, type Severity } from './notifier.ts';

export type DailyReporterMessage =
  /** Sent by the timer just after a UTC midnight: report the day that ended (and any missed). */
  | { readonly kind: 'boundary' }
  /** Sent once at start: report the days missed while down, if this store has reported before. */
  | { readonly kind: 'catch_up' }
  /** Computes (and with `send`, notifies) the summary of a day now; default: the day before today. */
  | { readonly kind: 'report'; readonly dayStart?: number; readonly send?: boolean; readonly replyTo?: ActorRef<DailySummary | { error: string }> };

export const isDailyReporterMessage = kindGuard<DailyReporterMessage>({ boundary: true, catch_up: true, report: (m) => isOptional(m.dayStart, isNumber) });

export interface DailyReporterConfig {
  readonly dbPath: string;
  readonly writerPath: ActorPath<DbWriterMessage>;
  readonly notifierPath: ActorPath<NotifierMessage>;
  readonly criteria?: RankCriteria;
  /** Default 'daily-report'. */
  readonly cursorName?: string;
  /** Days reported at start after downtime, at most. Default 7. */
  readonly maxCatchUpDays?: number;
  /** Wait after midnight before reporting, so the day's last writes have committed. Default 5 s. */
  readonly delayMs?: number;
}

export class DailyReporterStats {
  reports = 0;
  failures = 0;
  lastDay: string | undefined;
  lastError: string | undefined;
}

interface ReporterState {
  reader: Store | undefined;
  timer?: TimerHandle;
}

/** Warning when requests died or failures were logged, so a quiet channel stays quiet. */
export function summarySeverity(s: DailySummary): Severity {
  return s.oos.deadLettered > 0 || s.failures.total > 0 || s.restarts.total > 0 ? 'warning' : 'info';
}

export function dailyReporter(config: DailyReporterConfig, stats = new DailyReporterStats()): ActorDefinition<ReporterState, DailyReporterMessage> {
  const criteria = config.criteria ?? DEFAULT_RANK_CRITERIA;
  const cursorName = config.cursorName ?? 'daily-report';
  const maxCatchUp = config.maxCatchUpDays ?? 7;
  const delayMs = config.delayMs ?? 5_000;

  const reader = (state: ReporterState): Store => {
    state.reader ??= openStore({ path: config.dbPath, readonly: true });
    return state.reader;
  };

  const summaryOf = (state: ReporterState, dayStart: number, now: number): DailySummary =>
    assembleDailySummary(readDailyFacts(reader(state), dayStart, dayStart + DAY_MS), now, criteria);

  /** Notifies one day's summary, then records it as reported. */
  const send = async (state: ReporterState, ctx: ActorContext<DailyReporterMessage>, dayStart: number): Promise<DailySummary> => {
    const summary = summaryOf(state, dayStart, ctx.clock.now());
    notify(ctx.system, config.notifierPath, { severity: summarySeverity(summary), topic: 'daily_summary', key: summary.day, title: `shoal daily summary ${summary.day}`, body: formatDailySummary(summary), at: ctx.clock.now() });
    await writeCommand(ctx.system, config.writerPath, { type: 'setCursor', name: cursorName, value: dayStart });
    stats.reports++;
    stats.lastDay = summary.day;
    return summary;
  };

  /**
   * Reports every finished day after the last reported one, oldest first, at most maxCatchUp. On a
   * store that never reported, a boundary reports the day that just ended and a start reports nothing.
   */
  const reportDue = async (state: ReporterState, ctx: ActorContext<DailyReporterMessage>, atBoundary: boolean) => {
    const today = utcDayOf(ctx.clock.now()).from;
    const last = getCursor(reader(state), cursorName);
    const first = last === undefined ? (atBoundary ? today - DAY_MS : today) : Math.max(last + DAY_MS, today - maxCatchUp * DAY_MS);
    for (let day = first; day < today; day += DAY_MS) await send(state, ctx, day);
  };

  const schedule = (state: ReporterState, ctx: ActorContext<DailyReporterMessage>) => {
    if (state.timer) ctx.clock.clearTimeout(state.timer);
    const now = ctx.clock.now();
    const next = utcDayOf(now).to + delayMs;
    state.timer = ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'boundary' }), next - now);
  };

  const guarded = async (ctx: ActorContext<DailyReporterMessage>, what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      stats.failures++;
      stats.lastError = `${what}: ${(e as Error).message}`;
      notify(ctx.system, config.notifierPath, { severity: 'warning', topic: 'daily_summary_failed', title: 'shoal daily summary failed', body: stats.lastError, at: ctx.clock.now() });
    }
  };

  return {
    accepts: isDailyReporterMessage,
    init: (ctx) => {
      const state: ReporterState = { reader: undefined };
      schedule(state, ctx);
      // As a message, after init: a failing database must not fail the start.
      ctx.self.tell({ kind: 'catch_up' });
      return state;
    },
    receive: async (state, msg, ctx) => {
      switch (msg.kind) {
        case 'boundary':
        case 'catch_up':
          await guarded(ctx, `reporting (${msg.kind})`, () => reportDue(state, ctx, msg.kind === 'boundary'));
          if (msg.kind === 'boundary') schedule(state, ctx);
          break;
        case 'report':
          try {
            const dayStart = msg.dayStart ?? utcDayOf(ctx.clock.now()).from - DAY_MS;
            const summary = msg.send ? await send(state, ctx, dayStart) : summaryOf(state, dayStart, ctx.clock.now());
            msg.replyTo?.tell(summary);
          } catch (e) {
            stats.failures++;
            stats.lastError = (e as Error).message;
            msg.replyTo?.tell({ error: (e as Error).message });
          }
          break;
        default:
          throw new TypeError(`daily-reporter ${ctx.path}: unknown message kind ${String((msg as { kind?: unknown }).kind)}`);
      }
      return state;
    },
    onStop: (state, _reason, ctx) => {
      if (state.timer) ctx.clock.clearTimeout(state.timer);
      state.reader?.close();
    },
  };
}
