/**
 * Retention under a steady load, on a compressed clock: many days of requests through the real
 * runtime (real sockets, a real service, a real database), the janitor on the injected clock.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { echoEngine } from '../../backtester/engines.ts';
import { paths } from '../../app/tree.ts';
import { ManualClock } from '../../runtime/index.ts';
import { dailySummaryFor } from '../../persistence/report.ts';
import { DAY_MS, utcDayOf } from '../../domain/daily-summary.ts';
import { count, useTempStores } from '../persistence/helpers.ts';
import { hostStrategy, pipeline, requestInput } from './pipeline-harness.ts';

const temp = useTempStores();

const KEEP_DAYS = 2;
const DAYS = 14;
const PER_DAY = 12;

interface DayFigures {
  requests: number;
  results: number;
  trades: number;
  supervisorEvents: number;
  alerts: number;
  pages: number;
  fileBytes: number;
  walBytes: number;
  notificationLines: number;
}

describe('retention on a running runtime', () => {
  // Rule: under a steady load the stored rows, the database file and its WAL stop growing once
  // the retention window is full, and the daily figures of pruned days stay readable.
  it(`keeps ${KEEP_DAYS} days of finished work over ${DAYS} days of requests: row counts, file and WAL size stop growing`, async () => {
    const dir = temp.dir();
    const start = Date.UTC(2026, 0, 5, 1);
    const clock = new ManualClock(start);
    const p = await pipeline(dir, {
      engine: echoEngine,
      clock,
      config: { retention: { keepDays: KEEP_DAYS, batch: 25, intervalMs: 6 * 3_600_000 }, snapshotIntervalMs: 0 },
    });
    const names = Array.from({ length: PER_DAY }, (_, i) => `S${i}`);
    await p.shoal.upsertStrategies(names.map((n) => hostStrategy(n)));
    const figures: DayFigures[] = [];
    const notifications = p.shoal.config.notificationsFile;
    try {
      for (let day = 0; day < DAYS; day++) {
        const ids = await Promise.all(
          names.map(async (n) => {
            const o = await p.shoal.enqueue(n, requestInput(n));
            if (o.status !== 'enqueued') throw new Error(`${n} on day ${day}: ${JSON.stringify(o)}`);
            return o.requestId;
          }),
        );
        for (const id of ids) expect((await p.shoal.outcome(id)).status).toBe('done');
        // A restart a day: supervisor events pile up like the rest.
        p.shoal.system.crashActor(p.shoal.system.lookup(paths.notifier)!, new Error(`injected on day ${day}`));
        const today = utcDayOf(clock.now()).from;
        await p.waitFor(() => count(p.reader, 'supervisor_events', `kind = 'restart' and at >= ${today}`) > 0, `the restart of day ${day} to be recorded`);

        const passes = p.shoal.stats.janitor.passes;
        const written = p.shoal.notifications.stats.written;
        clock.advance(DAY_MS);
        await p.waitFor(() => p.shoal.stats.janitor.passes > passes, `the retention pass after day ${day}`);
        await p.waitFor(() => p.shoal.notifications.stats.written > written, `the daily summary after day ${day} to be written`);
        figures.push({
          requests: count(p.reader, 'oos_requests'),
          results: count(p.reader, 'oos_results'),
          trades: count(p.reader, 'oos_trades'),
          supervisorEvents: count(p.reader, 'supervisor_events'),
          alerts: count(p.reader, 'alerts'),
          pages: p.reader.sqlite.pragma('page_count', { simple: true }) as number,
          fileBytes: fs.statSync(p.shoal.config.dbPath).size,
          walBytes: fs.existsSync(`${p.shoal.config.dbPath}-wal`) ? fs.statSync(`${p.shoal.config.dbPath}-wal`).size : 0,
          notificationLines: fs.existsSync(notifications) ? fs.readFileSync(notifications, 'utf8').split('\n').filter(Boolean).length : 0,
        });
      }
      console.log(figures.map((f, d) => `day ${d}: ${JSON.stringify(f)}`).join('\n'));

      // From the day the window is full, exactly KEEP_DAYS days of requests are kept.
      const steady = figures.slice(KEEP_DAYS);
      for (const f of steady) {
        expect(f.requests).toBe(KEEP_DAYS * PER_DAY);
        expect(f.results).toBe(KEEP_DAYS * PER_DAY);
      }
      expect(new Set(steady.map((f) => f.trades)).size).toBe(1);
      // A crash and a restart a day.
      for (const f of steady) expect(f.supervisorEvents).toBe(2 * KEEP_DAYS);
      // The daily summary's alert a day: old ones go with the rest.
      expect(new Set(steady.map((f) => f.alerts)).size).toBe(1);
      // A daily summary a day (sent just after midnight), today's included.
      for (const f of steady) expect(f.notificationLines).toBe(KEEP_DAYS + 1);
      // Freed pages are reused: the file stops growing once the window is full (the last half
      // of the run adds no page to the first half's largest file).
      const half = Math.floor(DAYS / 2);
      expect(Math.max(...figures.slice(half).map((f) => f.pages))).toBeLessThanOrEqual(Math.max(...figures.slice(KEEP_DAYS, half).map((f) => f.pages)));
      // The WAL holds at most what was written since the last checkpoint: bounded by a day's work.
      expect(Math.max(...figures.slice(half).map((f) => f.walBytes))).toBeLessThanOrEqual(Math.max(...figures.slice(0, half).map((f) => f.walBytes)));

      // The first day's rows are long gone; its figures are not.
      const first = dailySummaryFor(p.reader, utcDayOf(start).from, clock.now());
      expect(first.storedAt).toBeDefined();
      expect(first.oos).toMatchObject({ requested: PER_DAY, completed: PER_DAY, deadLettered: 0 });
      expect(first.restarts.byPath[paths.notifier]).toBe(1);
      expect(p.shoal.stats.janitor.lastError).toBeUndefined();
    } finally {
      await p.close();
    }
  }, 120_000);
});
