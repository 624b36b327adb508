/**
 * The short form of the fault-injection suite: one cycle of each fault (SIGKILL after enqueue,
 * after a send, right after a result was sent, at a random moment, during a dead-letter replay,
 * inside a commit (held open by a test-only trap), on a checkpoint starting; the service's process
 * SIGKILLed and restarted; a second process holding the write lock; the disk filling up; the wall
 * clock stepping; a graceful stop) against a service that also answers late, twice, with garbage or
 * not at all, then a recovery, then the checker. The long form is `npm run chaos -- --minutes N`.
 */
import { describe, expect, it } from 'vitest';
import { FAULTS, runChaos } from './run.ts';
import { expectSoundRun } from './expect-run.ts';

describe('chaos (short form)', () => {
  it('after a cycle of every fault and a recovery, every accepted request is done or dead-lettered with its reason, none is lost or applied twice, one trace id per request; a clock step times out nothing and leaves nothing stuck; the database is intact', async () => {
    const seed = Number(process.env.SHOAL_CHAOS_SEED ?? 20_261_207);
    const lines: string[] = [];
    const report = await runChaos({ seed, perCycle: 12, log: (l) => lines.push(l) });
    expect(report.cycles).toBe(FAULTS.length);
    expectSoundRun(report, `seed ${seed}\n${lines.join('\n')}\n${report.firstViolation}`);
    // The aimed faults ran (whether the kill landed inside the checkpoint is reported, not required: it races the checkpoint).
    const a = report.aims;
    expect([a.clockJumps, a.checkpointKills, a.spuriousTimeouts, a.stuck, report.integrity]).toEqual([1, 1, 0, 0, 'ok']);
    // The commit trap holds the transaction open until the SIGKILL: the kill lands inside it every time, and none of it stays.
    expect([a.commitKills, a.insideCommit, a.allOrNothing], lines.join('\n')).toEqual([1, 1, 1]);
    // The service-crash fault SIGKILLed the stand-in service's process once.
    expect(report.serviceKills).toBe(1);
  }, 480_000);
});
