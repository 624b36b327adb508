/**
 * The short form of bridge mode against the bundled backtest service (the built
 * dist/backtester/main.js) instead of the stand-in: the built `shoal start --bridge` between the
 * stand-in host process and the backtester, one cycle of each fault that does not need the
 * stand-in's control of answers (the backtester's process SIGKILLed once and started again on the
 * same endpoints among them), a recovery, then the bridge checker on the host's history and the
 * store. The long form is `npm run chaos -- --mode bridge --service bundled --cycles N`.
 */
import { describe, expect, it } from 'vitest';
import { BRIDGE_BUNDLED_FAULTS, isBridgeReport } from './bridge.ts';
import { runChaos } from './run.ts';
import { expectSoundBridgeRun } from './expect-run.ts';

describe('chaos, bridge mode against the bundled backtest service (short form)', () => {
  it('every request shoal stored ends done and reaches the host, or dead or refused with its reason; none applied twice; the backtester SIGKILLed once; the rules that need the service\'s records are named as skipped', async () => {
    // seed % 12 = 5: the replay cycle comes last, when earlier cycles have left poison requests' dead letters to replay.
    const seed = Number(process.env.SHOAL_CHAOS_SEED ?? 20_261_213);
    const lines: string[] = [];
    const report = await runChaos({ seed, mode: 'bridge', service: 'bundled', perCycle: 8, bridge: { resendAfterMs: 6_000, maxAsks: 2 }, log: (l) => lines.push(l) });
    if (!isBridgeReport(report)) throw new Error('not a bridge report');
    const s = report.bridge;
    const context = `seed ${seed}\n${lines.join('\n')}\n${report.firstViolation ?? ''}`;
    expect(report.service).toBe('bundled');
    expect(report.cycles).toBe(BRIDGE_BUNDLED_FAULTS.length);
    expect(report.faultsRun).toEqual(Object.fromEntries(BRIDGE_BUNDLED_FAULTS.map((f) => [f, 1])));
    expectSoundBridgeRun(report, s, context);
    expect(s.skippedRules.length).toBeGreaterThan(0);
    // Counted only when the backtester's process was seen to exit on the SIGKILL.
    expect(report.serviceKills, context).toBe(1);
    const a = report.aims;
    expect([a.commitKills, a.insideCommit, a.allOrNothing], context).toEqual([1, 1, 1]);
    expect([a.clockJumps, a.checkpointKills, a.spuriousTimeouts, a.stuck, report.integrity], context).toEqual([0, 1, 0, 0, 'ok']);
  }, 480_000);
});
