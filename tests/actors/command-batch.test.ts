/** One helper for "add a command, then read its outcome": the writer's answers reach each command's own handle. */
import { describe, expect, it } from 'vitest';
import { CommandBatch } from '../../actors/command-batch.ts';
import { writeCommands } from '../../actors/db-client.ts';
import { strategy, useTempStores } from '../persistence/helpers.ts';
import { WRITER, writerTree } from './writer-tree.ts';

const temp = useTempStores();

describe('command batch', () => {
  it("each handle reads its own command's outcome, typed, from one db-writer call", async () => {
    const t = await writerTree(temp.dir());
    try {
      await writeCommands(t.system, WRITER, [{ type: 'upsertStrategy', strategy: strategy('a') }]);
      const batch = new CommandBatch();
      const cursor = batch.add({ type: 'setCursor', name: 'c', value: 3 });
      const refused = batch.add({ type: 'enqueueRequest', strategyName: 'missing', payload: {} });
      const enqueued = batch.add({ type: 'enqueueRequest', strategyName: 'a', payload: {}, requestId: 'r-1' });
      await batch.write(t.system, WRITER);
      expect(cursor.outcome()).toEqual({ type: 'setCursor', status: 'set', name: 'c', value: 3 });
      expect(refused.outcome()).toMatchObject({ type: 'enqueueRequest', status: 'error' });
      const o = enqueued.outcome();
      expect(o.status === 'enqueued' && o.requestId).toBe('r-1');
    } finally {
      await t.system.stop();
    }
  });

  it('a write that did not commit gives every command an error outcome saying why', async () => {
    const t = await writerTree(temp.dir());
    await t.system.stop();
    const batch = new CommandBatch();
    const cursor = batch.add({ type: 'setCursor', name: 'c', value: 3 });
    const failure = await batch.write(t.system, WRITER).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    batch.fail(failure);
    expect(cursor.outcome()).toEqual({ type: 'setCursor', status: 'error', error: `db-writer ${WRITER} is not running` });
  });

  it('an outcome read before the write, or a command added after it, is refused', async () => {
    const batch = new CommandBatch();
    const cursor = batch.add({ type: 'setCursor', name: 'c', value: 3 });
    expect(() => cursor.outcome()).toThrow(/setCursor \(#0\) read before the batch was written/);
    batch.fail(new Error('no writer'));
    expect(() => batch.add({ type: 'setCursor', name: 'd', value: 1 })).toThrow(/setCursor added after the batch was written/);
  });
});
