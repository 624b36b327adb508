/** Flow figures from stored timestamps: each figure counts the requests whose event falls in the period. */
import { describe, expect, it } from 'vitest';
import { flowMetrics, parseDuration } from '../../domain/flow-metrics.ts';

describe('flowMetrics', () => {
  it('queue dwell counts first sends in the period; attempt and end-to-end latency count completions in it', () => {
    const rows = [
      { enqueuedAt: 0, firstSentAt: 100, lastSentAt: 100, completedAt: 600 },
      { enqueuedAt: 50, firstSentAt: 200, lastSentAt: 900, completedAt: 1_000 },
      // Completed after the period: its dwell counts, its latency does not.
      { enqueuedAt: 500, firstSentAt: 700, lastSentAt: 700, completedAt: 5_000 },
      // Enqueued before the period, never sent.
      { enqueuedAt: -10, firstSentAt: null, lastSentAt: null, completedAt: null },
    ];
    const m = flowMetrics(rows, 0, 2_000);
    expect(m).toMatchObject({ enqueued: 3, sent: 3, completed: 2, completedPerMinute: 60 });
    expect(m.queueDwellMs).toMatchObject({ count: 3, min: 100, p50: 150, max: 200 });
    expect(m.attemptMs).toMatchObject({ count: 2, min: 100, max: 500 });
    expect(m.endToEndMs).toMatchObject({ count: 2, min: 600, max: 950 });
  });

  it('an empty period has no latencies, and a period must not be empty', () => {
    expect(flowMetrics([], 0, 60_000)).toMatchObject({ completed: 0, completedPerMinute: 0, queueDwellMs: null, attemptMs: null, endToEndMs: null });
    expect(() => flowMetrics([], 5, 5)).toThrow(/must not be empty/);
  });

  it('durations read as 90s, 15m, 2h, 7d or plain ms; anything else is not one', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    for (const bad of ['', '0s', '-5m', '5 weeks', 'm']) expect(parseDuration(bad)).toBeUndefined();
  });
});
