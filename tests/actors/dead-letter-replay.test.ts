import { describe, expect, it } from 'vitest';
import type { ChildSpec } from '../../supervisors/index.ts';
import { replayer } from '../../actors/replayer.ts';
import { getDeadLetter, listDeadLetters } from '../../persistence/dead-letters.ts';
import { exited, spawnFixture, useTempStores, waitForLine } from '../persistence/helpers.ts';
import { WRITER, writerTree } from './writer-tree.ts';
import { until } from '../wait.ts';

const temp = useTempStores();

function worker(received: unknown[], fail: boolean): ChildSpec {
  return {
    id: 'worker',
    start: () => ({
      initialState: 0,
      receive: (s: number, m: { job: string }) => {
        if (fail) throw new Error(`still cannot do ${m.job}`);
        received.push(m);
        return s + 1;
      },
      options: { maxMessageRetries: 1 },
    }),
  };
}

function replayerSpec(dbPath: string, maxReplays = 3): ChildSpec {
  return { id: 'replayer', start: () => replayer({ dbPath, writerPath: WRITER, policy: { quietMs: 20, scanIntervalMs: 0, perSecond: 1_000, maxReplays } }) };
}

async function killedAfterDeadLetter(dir: string): Promise<void> {
  const child = spawnFixture('../../actors/fixtures/poison-then-hang.ts', [dir]);
  await waitForLine(child, 'dead-lettered');
  child.kill('SIGKILL');
  expect((await exited(child)).signal).toBe('SIGKILL');
}

describe('persisted dead-letter mailbox', () => {
  it('survives a SIGKILL of the process, and its message is replayed to the restarted actor after the quiet period', async () => {
    const dir = temp.dir();
    await killedAfterDeadLetter(dir);
    const received: unknown[] = [];
    const dbPath = `${dir}/shoal.db`;
    const t = await writerTree(dir, { extra: [worker(received, false), replayerSpec(dbPath)] });
    const reader = temp.open({ path: dbPath, readonly: true });
    await until(() => listDeadLetters(reader, { source: '/t/worker' })[0]?.state === 'replayed', 'the letter to be replayed');
    expect(received).toEqual([{ job: 'reconcile' }]);
    const [letter] = listDeadLetters(reader, { source: '/t/worker' });
    expect(letter).toMatchObject({ attempts: 2, replayCount: 0, error: 'poison: Error: cannot do reconcile' });
    await t.system.stop();
  });

  it('returns a replayed message that fails again to the mailbox with replay_count 1', async () => {
    const dir = temp.dir();
    await killedAfterDeadLetter(dir);
    const dbPath = `${dir}/shoal.db`;
    // maxReplays 1: the failed replay is not tried again, so the letter's state is stable to assert on.
    const t = await writerTree(dir, { extra: [worker([], true), replayerSpec(dbPath, 1)] });
    const reader = temp.open({ path: dbPath, readonly: true });
    await until(() => (listDeadLetters(reader, { source: '/t/worker' })[0]?.replayCount ?? 0) === 1, 'the replay to fail');
    const [letter] = listDeadLetters(reader, { source: '/t/worker' });
    expect(letter).toMatchObject({ state: 'dead', replayCount: 1 });
    expect(letter.error).toMatch(/still cannot do reconcile/);
    expect(listDeadLetters(reader, { source: '/t/worker' })).toHaveLength(1);
    expect(getDeadLetter(reader, letter.id)?.replayCount).toBe(1);
    await t.system.stop();
  });
});
