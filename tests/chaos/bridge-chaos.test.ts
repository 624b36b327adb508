/**
 * The short form of the fault-injection suite in bridge mode: the built `shoal start --bridge`
 * between a stand-in host process and the misbehaving service, one cycle of each fault (SIGKILL of
 * shoal after a request was stored, after a send, right after a result, at a random moment, during
 * a dead-letter replay, inside a commit (held open by a test-only trap) or on a checkpoint
 * starting; the service's process SIGKILLed and restarted; SIGKILL and restart of the host; a
 * graceful stop of shoal; a second process holding the write lock and the database's file system
 * filling up while the host sends; shoal's wall clock stepping), a recovery, then the bridge
 * checker. The long form is `npm run chaos -- --mode bridge --cycles N`.
 */
import { describe, expect, it } from 'vitest';
import { BRIDGE_FAULTS, isBridgeReport } from './bridge.ts';
import { runChaos } from './run.ts';
import { expectSoundBridgeRun } from './expect-run.ts';

describe('chaos, bridge mode (short form)', () => {
  it('every request shoal stored ends done and reaches the host, or dead or refused with its reason; none applied twice; one trace id per request, the host’s; frames never stored only across a stop, counted; frames sent while the store was locked or full are stored or refused once it is free; a clock step times out nothing and leaves nothing stuck; the database is intact', async () => {
    const seed = Number(process.env.SHOAL_CHAOS_SEED ?? 20_261_207);
    const lines: string[] = [];
    const report = await runChaos({ seed, mode: 'bridge', perCycle: 8, bridge: { resendAfterMs: 6_000, maxAsks: 2 }, log: (l) => lines.push(l) });
    if (!isBridgeReport(report)) throw new Error('not a bridge report');
    const s = report.bridge;
    const context = `seed ${seed}\n${lines.join('\n')}\n${report.firstViolation ?? ''}`;
    expect(report.cycles).toBe(BRIDGE_FAULTS.length);
    expectSoundBridgeRun(report, s, context);
    expect(report.shoalKills, context).toBeGreaterThanOrEqual(5);
    expect(report.hostKills, context).toBe(1);
    expect(report.serviceKills, context).toBe(1);
    // The aimed faults ran (whether the kill landed inside the checkpoint is reported, not required: it races the checkpoint); a fault this machine cannot inflict is named.
    const a = report.aims;
    expect([a.commitKills, a.insideCommit, a.allOrNothing], context).toEqual([1, 1, 1]);
    expect([a.clockJumps + a.skipped.filter((x) => x.startsWith('clock-jump')).length, a.checkpointKills, a.spuriousTimeouts, a.stuck, report.integrity], context).toEqual([1, 1, 0, 0, 'ok']);
  }, 480_000);
});
