import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../runtime/index.ts';
import { writeCommand, writeCommands } from '../../actors/db-client.ts';
import { DbWriteError, type CheckpointEvent } from '../../actors/db-writer.ts';
import { openStore } from '../../persistence/connection.ts';
import { count, strategy, useTempStores } from '../persistence/helpers.ts';
import { settle } from '../kernel-helpers.ts';
import { writerTree } from './writer-tree.ts';
import { until } from '../wait.ts';

const temp = useTempStores();

describe('db-writer', () => {
  it('commits the commands that arrive in one turn in one transaction, and answers each caller after the commit', async () => {
    const t = await writerTree(temp.dir());
    const outcomes = await Promise.all(
      Array.from({ length: 400 }, (_, i) => writeCommand(t.system, t.writer, { type: 'upsertStrategy', strategy: strategy(`S${i}`) })),
    );
    expect(outcomes.every((o) => o.status === 'inserted')).toBe(true);
    expect(t.health.commands).toBe(400);
    expect(t.health.batches).toBeLessThan(10);
    expect(t.health.largestBatch).toBeGreaterThan(50);
    const reader = temp.open({ path: t.dbPath, readonly: true });
    expect(count(reader, 'strategies')).toBe(400);
    await t.system.stop();
  });

  it('tells each periodic checkpoint as it starts, with the WAL holding the commits, and as it finishes, with the frames it copied; counted in the health', async () => {
    const clock = new ManualClock();
    const told: CheckpointEvent[] = [];
    const t = await writerTree(temp.dir(), { clock, config: { checkpointIntervalMs: 1_000, walAutocheckpointPages: 0, onCheckpoint: (e) => told.push(e) } });
    await Promise.all(Array.from({ length: 50 }, (_, i) => writeCommand(t.system, t.writer, { type: 'upsertStrategy', strategy: strategy(`S${i}`) })));
    expect(told).toEqual([]);
    clock.advance(1_000);
    await until(() => told.length === 2, 'the checkpoint to be told twice');
    const [started, finished] = told;
    expect(started).toMatchObject({ phase: 'started', mode: 'TRUNCATE' });
    expect(started.phase === 'started' && started.walBytes).toBeGreaterThan(0);
    expect(finished).toMatchObject({ phase: 'finished', mode: 'TRUNCATE', busy: false });
    expect(finished.phase === 'finished' && finished.checkpointedFrames).toBeGreaterThan(0);
    expect([t.health.checkpoints, t.health.busyCheckpoints]).toEqual([1, 0]);
    expect(t.health.checkpointedFrames).toBe(finished.phase === 'finished' ? finished.checkpointedFrames : -1);
    await t.system.stop();
  });

  it('reports a command that fails on its own data to its caller while the rest of the batch commits', async () => {
    const t = await writerTree(temp.dir());
    const [bad, good] = await Promise.all([
      writeCommand(t.system, t.writer, { type: 'enqueueRequest', strategyName: 'no-such-strategy', payload: {} }).catch((e) => e),
      writeCommand(t.system, t.writer, { type: 'upsertStrategy', strategy: strategy('fine') }),
    ]);
    expect(bad).toBeInstanceOf(DbWriteError);
    expect(bad.message).toMatch(/no-such-strategy/);
    expect(good.status).toBe('inserted');
    await t.system.stop();
  });

  it('survives a full database: the failing command is retried after a restart and commits once space is available, nothing accepted is lost', async () => {
    const clock = new ManualClock();
    const dir = temp.dir();
    const backoff = { minMs: 100, maxMs: 100, factor: 1, jitter: 0, resetAfterMs: 0, firstImmediate: false };
    const t = await writerTree(dir, { clock, backoff });
    const refused: string[] = [];
    t.config.onBatchFailed = (e) => refused.push(e.code);
    const accepted = await writeCommands(t.system, t.writer, Array.from({ length: 20 }, (_, i) => ({ type: 'upsertStrategy' as const, strategy: strategy(`kept-${i}`) })));
    expect(accepted.every((o) => o.status === 'inserted')).toBe(true);
    // Squeeze the quota to what is used now, then restart the writer so it takes effect.
    const probe = openStore({ path: t.dbPath });
    t.config.maxPageCount = (probe.sqlite.pragma('page_count', { simple: true }) as number) + 1;
    probe.close();
    await t.sup.terminateChild('db-writer');
    await t.sup.restartChild('db-writer');
    const big = Array.from({ length: 200 }, (_, i) => ({ type: 'upsertStrategy' as const, strategy: strategy(`big-${i}`, { params: { blob: 'x'.repeat(2_000) } }) }));
    const pending = writeCommands(t.system, t.writer, big, 60_000);
    await settle(t.system, t.sup);
    expect(t.health.failedBatches).toBe(1);
    expect(t.health.lastError).toMatch(/full/i);
    // What the store_unwritable alert comes from.
    expect(refused).toEqual(['full']);
    expect(t.sup.whichChildren()[0].status).toBe('restarting');
    t.config.maxPageCount = 1_000_000;
    clock.advance(100);
    const outcomes = await pending;
    expect(outcomes.every((o) => o.status === 'inserted')).toBe(true);
    await settle(t.system, t.sup);
    const reader = temp.open({ path: t.dbPath, readonly: true });
    expect(count(reader, 'strategies', "name like 'kept-%'")).toBe(20);
    expect(count(reader, 'strategies', "name like 'big-%'")).toBe(200);
    // The db_error was recorded durably once the database took writes again.
    await writeCommands(t.system, t.writer, [{ type: 'setCursor', name: 'flush', value: 1 }]);
    expect(count(reader, 'failure_events', "kind = 'db_error'")).toBe(1);
    await t.system.stop();
  });

  it('gives a clear error to the caller when a command keeps failing, and keeps it in the dead-letter spool until the database takes it', async () => {
    const t = await writerTree(temp.dir());
    await writeCommands(t.system, t.writer, [{ type: 'upsertStrategy', strategy: strategy('a') }]);
    const probe = openStore({ path: t.dbPath });
    t.config.maxPageCount = probe.sqlite.pragma('page_count', { simple: true }) as number;
    probe.close();
    await t.sup.terminateChild('db-writer');
    await t.sup.restartChild('db-writer');
    const err = await writeCommands(t.system, t.writer, [{ type: 'upsertStrategy', strategy: strategy('too-big', { params: { blob: 'x'.repeat(50_000) } }) }]).catch((e) => e);
    expect(err).toBeInstanceOf(DbWriteError);
    expect(err.code).toBe('full');
    expect(err.message).toMatch(/rolled back, nothing of it committed/);
    await settle(t.system, t.sup);
    expect(t.spool.read()).toHaveLength(1);
    expect(t.spool.read()[0]).toMatchObject({ source: '/t/db-writer', error: expect.stringMatching(/^poison: /) });
    t.config.maxPageCount = 1_000_000;
    await t.sup.terminateChild('db-writer');
    await t.sup.restartChild('db-writer');
    expect(t.spool.read()).toHaveLength(0);
    const reader = temp.open({ path: t.dbPath, readonly: true });
    expect(count(reader, 'dead_letters', "source = '/t/db-writer'")).toBe(1);
    await t.system.stop();
  });
});

describe('db-writer and SQLITE_BUSY', () => {
  it('retries a batch that meets another connection holding the write lock, with backoff, and commits it once the lock is gone', async () => {
    const t = await writerTree(temp.dir());
    await writeCommands(t.system, t.writer, [{ type: 'upsertStrategy', strategy: strategy('before') }]);
    const other = openStore({ path: t.dbPath });
    other.sqlite.exec('BEGIN IMMEDIATE');
    const pending = writeCommands(t.system, t.writer, [{ type: 'upsertStrategy', strategy: strategy('blocked') }]);
    // The writer's busy_timeout (100 ms) runs out while the lock is held: it backs off and tries again.
    await until(() => t.health.busyRetries > 0, 'the writer to meet the lock and back off');
    other.sqlite.exec('COMMIT');
    other.close();
    const [o] = await pending;
    expect(o.status).toBe('inserted');
    expect(t.health.failedBatches).toBe(0);
    await t.system.stop();
  });
});
