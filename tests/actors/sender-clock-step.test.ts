/**
 * A restart after the wall clock stepped back: deadlines the previous process stored lie up to
 * the step ahead of the new process's clock. The sender pulls them back within its own bounds at
 * start (docs/adr/0014), so nothing waits for the wall clock to catch up. Real sockets, a real
 * database, the injected clock.
 */
import { describe, expect, it } from 'vitest';
import { echoEngine } from '../../backtester/engines.ts';
import { ManualClock } from '../../runtime/index.ts';
import { applyOne } from '../../persistence/batch.ts';
import { openStore } from '../../persistence/connection.ts';
import { getRequest } from '../../persistence/outbox.ts';
import { useTempStores } from '../persistence/helpers.ts';
import { hostStrategy, pipeline, requestInput } from '../app/pipeline-harness.ts';
import { until } from '../wait.ts';

const temp = useTempStores();
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

describe('sender start after a backward clock step', () => {
  it('a lease stored an hour ahead by the previous process runs out within leaseMs of the start: the request is sent again and completes, not an hour later', async () => {
    const dir = temp.dir();
    // The previous process: the request enqueued, then claimed on a wall clock an hour ahead.
    const before = await pipeline(dir, { clock: new ManualClock(T0 + HOUR) });
    await before.shoal.pauseSending();
    await before.shoal.upsertStrategies([hostStrategy('A')]);
    const enqueued = await before.shoal.enqueue('A', requestInput('A'));
    if (enqueued.status !== 'enqueued') throw new Error(JSON.stringify(enqueued));
    await before.close();
    const store = openStore({ path: `${dir}/shoal.db` });
    applyOne(store, { type: 'claimDue', limit: 1, leaseMs: 120_000 }, T0 + HOUR);
    store.close();

    // This process starts with the wall clock an hour back.
    const clock = new ManualClock(T0);
    const p = await pipeline(dir, { clock, engine: echoEngine, config: { leaseMs: 2_000, tickMs: 100, retry: { maxAttempts: 3, backoff: { minMs: 100, maxMs: 100, factor: 1, jitter: 0, resetAfterMs: 0, firstImmediate: false } } } });
    await until(() => p.shoal.stats.sender.deadlinesRebased === 1, 'the stored lease to be pulled back at start');
    expect(getRequest(p.reader, enqueued.requestId)?.leaseUntil).toBeLessThanOrEqual(T0 + 2_000);
    await until(() => {
      if (clock.now() < T0 + 60_000) clock.advance(100);
      return getRequest(p.reader, enqueued.requestId)?.state === 'done';
    }, 'the request to be sent again and completed');
    // Done on the new process's clock within seconds, not after the hour.
    expect(clock.now()).toBeLessThan(T0 + 60_000);
    // The stored attempt timed out once the pulled-back lease ran out (from T0 + 2 s on), the next one got the result.
    const history = getRequest(p.reader, enqueued.requestId)?.history ?? [];
    expect(history.map((a) => a.outcome)).toEqual(['timeout', 'result']);
    expect(history[0].at).toBeGreaterThanOrEqual(T0 + 2_000);
    await p.close();
  });
});
