import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../persistence/connection.ts';
import { count, exited, spawnFixture, T0, useTempStores, waitForLine } from './helpers.ts';

const temp = useTempStores();
const ROUNDS = 3;
const SIZE = 20_000;

describe('crash safety', () => {
  it('a process killed with SIGKILL inside a large batch leaves either the whole batch or none of it', async () => {
    const file = path.join(temp.dir(), 'crash.db');
    const seen: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const prefix = `r${round}`;
      const child = spawnFixture('kill-mid-batch.ts', [file, prefix, String(SIZE), String(T0 + round * 10)]);
      await waitForLine(child, 'inside');
      child.kill('SIGKILL');
      expect((await exited(child)).signal).toBe('SIGKILL');

      const store = openStore({ path: file });
      try {
        expect(store.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
        // The baseline batch committed before the kill is there.
        expect(count(store, 'strategies', `name = '${prefix}-base'`)).toBe(1);
        expect(count(store, 'oos_requests', `strategy_name = '${prefix}-base'`)).toBe(1);
        // The large batch: all or nothing, in every table it touched.
        const strategies = count(store, 'strategies', `name like '${prefix}-%' and name != '${prefix}-base'`);
        const requests = count(store, 'oos_requests', `strategy_name like '${prefix}-%' and strategy_name != '${prefix}-base'`);
        const history = count(store, 'rank_history', `strategy_name like '${prefix}-%' and strategy_name != '${prefix}-base'`);
        expect([0, SIZE]).toContain(strategies);
        expect(requests).toBe(strategies);
        expect(history).toBe(strategies);
        seen.push(strategies);
      } finally {
        store.close();
      }
    }
    // The kill lands while the batch is still running (the signal comes at 5% of it).
    expect(seen).toContain(0);
  }, 120_000);
});
