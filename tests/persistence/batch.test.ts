import { describe, expect, it } from 'vitest';
import { applyBatch } from '../../persistence/batch.ts';
import type { WriteCommand } from '../../persistence/commands.ts';
import { StoreError } from '../../persistence/errors.ts';
import { getCursor } from '../../persistence/cursors.ts';
import { getStrategy } from '../../persistence/strategies.ts';
import { countByState, getRequest } from '../../persistence/outbox.ts';
import { applyOk, count, exited, metrics, seedRequests, spawnFixture, strategy, T0, useTempStores, waitForLine } from './helpers.ts';

const temp = useTempStores();

function catchStoreError(fn: () => unknown): StoreError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StoreError) return err;
    throw err;
  }
  throw new Error('expected a StoreError');
}

describe('group commit: one transaction per batch, a failing command rolled back alone', () => {
  it('a command failing on its own data is rolled back alone; the rest of the batch commits', () => {
    const store = temp.open();
    const out = applyBatch(
      store,
      [
        { type: 'upsertStrategy', strategy: strategy('a') },
        { type: 'enqueueRequest', strategyName: 'missing', payload: {} },
        { type: 'upsertStrategy', strategy: strategy('bad', { winRate: 45 }) },
        { type: 'setCursor', name: 'c', value: 7 },
      ],
      T0,
    );
    expect(out.map((o) => o.status)).toEqual(['inserted', 'error', 'error', 'set']);
    expect(out[1]).toMatchObject({ sqliteCode: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    expect(out[2].status === 'error' && out[2].error).toMatch(/upsertStrategy \(strategies\) name=bad failed: .*winRate must be a fraction/);
    expect(getStrategy(store, 'a')).toBeDefined();
    expect(getStrategy(store, 'bad')).toBeUndefined();
    expect(getCursor(store, 'c')).toBe(7);
    expect(count(store, 'oos_requests')).toBe(0);
  });

  it('a command failing half-way leaves none of its own writes (its savepoint is rolled back)', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a'], T0);
    applyOk(store, [{ type: 'claimDue', limit: 1, leaseMs: 1000 }], T0);
    // The result row is inserted first; the trade with a NaN pnl (stored as NULL) then violates NOT NULL.
    const out = applyBatch(
      store,
      [
        { type: 'applyResult', requestId: id, result: metrics({ tradeList: [{ timestamp: T0, pnl: 1 }, { timestamp: T0 + 1, pnl: Number.NaN }] }) },
        { type: 'setCursor', name: 'after', value: 1 },
      ],
      T0 + 1,
    );
    expect(out[0]).toMatchObject({ status: 'error', sqliteCode: 'SQLITE_CONSTRAINT_NOTNULL' });
    expect(out[0].status === 'error' && out[0].error).toMatch(/oos_trades\.pnl/);
    expect(out[1].status).toBe('set');
    expect(count(store, 'oos_results')).toBe(0);
    expect(count(store, 'oos_trades')).toBe(0);
    expect(getRequest(store, id)?.state).toBe('in_flight');
    expect(getStrategy(store, 'a')?.oosSharpe).toBeNull();
  });

  it('commands see the effects of earlier commands in the same batch', () => {
    const store = temp.open();
    const out = applyOk(
      store,
      [
        { type: 'upsertStrategy', strategy: strategy('a') },
        { type: 'enqueueRequest', strategyName: 'a', payload: {} },
        { type: 'claimDue', limit: 10, leaseMs: 1000 },
      ],
      T0,
    );
    expect(out[2].type === 'claimDue' && out[2].status === 'claimed' && out[2].requests.length).toBe(1);
  });

  it('a batch rerun after a failing command starts clean: the commands before it are applied once', () => {
    const store = temp.open();
    const out = applyBatch(
      store,
      [
        { type: 'upsertStrategy', strategy: strategy('a') },
        { type: 'enqueueRequest', strategyName: 'missing', payload: {} },
      ],
      T0,
    );
    // A first run that were not rolled back would make the rerun's upsert an update, and take a second change_seq.
    expect(out.map((o) => o.status)).toEqual(['inserted', 'error']);
    expect(getStrategy(store, 'a')?.changeSeq).toBe(1);
    expect(count(store, 'rank_history')).toBe(1);
  });

  it('a failing command ends the batch as if it had been left out', () => {
    const failing: WriteCommand = { type: 'enqueueRequest', strategyName: 'missing', payload: {}, requestId: 'r-2' };
    const batch: WriteCommand[] = [
      { type: 'upsertStrategy', strategy: strategy('a') },
      { type: 'enqueueRequest', strategyName: 'a', payload: { n: 1 }, requestId: 'r-1' },
      failing,
      { type: 'claimDue', limit: 10, leaseMs: 1000 },
    ];
    const errors: string[] = [];
    const ends = [batch, batch.filter((c) => c !== failing)].map((commands) => {
      const store = temp.open();
      const outcomes = applyBatch(store, commands, T0);
      errors.push(...outcomes.filter((o) => o.status === 'error').map((o) => o.type));
      return { outcomes: outcomes.filter((o) => o.status !== 'error'), counts: countByState(store), strategy: getStrategy(store, 'a') };
    });
    expect(errors).toEqual(['enqueueRequest']);
    expect(ends[0].outcomes[2]).toMatchObject({ type: 'claimDue', status: 'claimed', requests: [{ requestId: 'r-1' }] });
    expect(ends[0].counts.in_flight).toBe(1);
    expect(ends[0]).toEqual(ends[1]);
  });

  it('an empty batch does nothing', () => {
    const store = temp.open();
    expect(applyBatch(store, [], T0)).toEqual([]);
  });
});

describe('whole-batch failures', () => {
  it('SQLITE_BUSY from another connection holding the write lock is waited out when released within busy_timeout', async () => {
    const store = temp.open({ busyTimeoutMs: 10_000 });
    const holder = spawnFixture('hold-write-lock.ts', [store.path, 'stdin']);
    let output = '';
    holder.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const closed = new Promise((resolve) => holder.once('close', resolve)); // its output all read
    await waitForLine(holder, 'locked');
    // The lock is held until the holder reads this line, so it is held when the batch starts (the
    // batch blocks this thread right after the write): no race with a release timer started earlier.
    const started = Date.now();
    holder.stdin.write('after 200\n');
    const out = applyBatch(store, [{ type: 'upsertStrategy', strategy: strategy('a') }], T0);
    const ended = Date.now();
    expect(out[0].status).toBe('inserted');
    expect((await exited(holder)).code).toBe(0);
    await closed;
    // The release fell inside the batch call: it was waited out, not avoided.
    const releasedAt = Number(/^releasing (\d+)$/m.exec(output)?.[1]);
    expect(releasedAt).toBeGreaterThanOrEqual(started);
    expect(releasedAt).toBeLessThanOrEqual(ended);
  });

  it("SQLITE_BUSY beyond busy_timeout rolls back the batch and throws StoreError code 'busy'", async () => {
    const store = temp.open({ busyTimeoutMs: 200 });
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('before') }], T0);
    const holder = spawnFixture('hold-write-lock.ts', [store.path, 'stdin']);
    await waitForLine(holder, 'locked');
    const commands: WriteCommand[] = [
      { type: 'upsertStrategy', strategy: strategy('a') },
      { type: 'setCursor', name: 'c', value: 1 },
    ];
    const err = catchStoreError(() => applyBatch(store, commands, T0 + 1));
    expect(err.code).toBe('busy');
    expect(err.batchSize).toBe(2);
    expect(err.sqliteCode).toMatch(/^SQLITE_BUSY/);
    expect(err.message).toMatch(/write batch of 2 command\(s\) rolled back.*busy_timeout/);
    holder.stdin.write('release\n');
    expect((await exited(holder)).code).toBe(0);
    // The lock is gone: the same batch now commits.
    expect(applyBatch(store, commands, T0 + 2).map((o) => o.status)).toEqual(['inserted', 'set']);
  });

  it("a full database throws StoreError code 'full', loses nothing committed, and works again once space is available", () => {
    const store = temp.open();
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('committed') }, { type: 'enqueueRequest', strategyName: 'committed', payload: {} }], T0);
    const pages = store.sqlite.pragma('page_count', { simple: true }) as number;
    store.sqlite.pragma(`max_page_count = ${pages}`);

    const big: WriteCommand[] = Array.from({ length: 2_000 }, (_, i) => ({
      type: 'upsertStrategy',
      strategy: strategy(`big-${i}`, { params: { blob: 'x'.repeat(200), i } }),
    }));
    const err = catchStoreError(() => applyBatch(store, big, T0 + 1));
    expect(err.code).toBe('full');
    expect(err.sqliteCode).toBe('SQLITE_FULL');
    expect(err.batchSize).toBe(2_000);
    expect(err.message).toMatch(/write batch of 2000 command\(s\) rolled back, nothing of it committed .*full.*raise the limit/);

    expect(count(store, 'strategies')).toBe(1);
    expect(count(store, 'oos_requests')).toBe(1);
    expect(store.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');

    store.sqlite.pragma('max_page_count = 1073741823');
    expect(applyBatch(store, big, T0 + 2).every((o) => o.status === 'inserted')).toBe(true);
    expect(count(store, 'strategies')).toBe(2_001);
  });
});
