/**
 * The short form of the chaos suite against the bundled backtest service (the built
 * dist/backtester/main.js, which `npm test` builds first) instead of the stand-in: one cycle of each
 * fault that does not need the stand-in's control of answers (the runtime's SIGKILL points, inside a
 * commit and on a checkpoint starting; the backtester's process SIGKILLed and started again on the
 * same endpoints; a second process holding the write lock; the disk filling up; a graceful stop),
 * then a recovery, then the checker on the driver's history and the store. The long form is
 * `npm run chaos -- --service bundled --cycles N`.
 */
import { describe, expect, it } from 'vitest';
import { BUNDLED_FAULTS, runChaos } from './run.ts';
import { expectSoundRun } from './expect-run.ts';

describe('chaos against the bundled backtest service (short form)', () => {
  it('after a cycle of every allowed fault (the backtester SIGKILLed once) and a recovery, every accepted request is done or dead-lettered with its reason, none is lost or applied twice; the rules that need the service\'s records are named as skipped', async () => {
    // seed % 11 = 5: the replay cycle comes last, when earlier cycles have left poison requests' dead letters to replay.
    const seed = Number(process.env.SHOAL_CHAOS_SEED ?? 20_261_213);
    const lines: string[] = [];
    const report = await runChaos({ seed, perCycle: 12, service: 'bundled', log: (l) => lines.push(l) });
    const s = report.summary;
    const context = `seed ${seed}\n${lines.join('\n')}\n${report.firstViolation ?? ''}`;
    expect(report.service).toBe('bundled');
    expect(report.cycles).toBe(BUNDLED_FAULTS.length);
    expect(report.faultsRun).toEqual(Object.fromEntries(BUNDLED_FAULTS.map((f) => [f, 1])));
    expect(report.faultsRun).not.toHaveProperty('clock-jump');
    expectSoundRun(report, context);
    expect(s.skippedRules.length).toBeGreaterThan(0);
    // Counted only when the backtester's process was seen to exit on the SIGKILL.
    expect(report.serviceKills, context).toBeGreaterThanOrEqual(1);
    const a = report.aims;
    expect([a.clockJumps, a.checkpointKills, a.spuriousTimeouts, a.stuck, report.integrity], context).toEqual([0, 1, 0, 0, 'ok']);
    expect([a.commitKills, a.insideCommit, a.allOrNothing], context).toEqual([1, 1, 1]);
  }, 300_000);
});
