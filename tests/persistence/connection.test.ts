import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyBatch } from '../../persistence/batch.ts';
import { checkpoint, openStore } from '../../persistence/connection.ts';
import { StoreError } from '../../persistence/errors.ts';
import { getStrategy } from '../../persistence/strategies.ts';
import { applyOk, seedRequests, strategy, T0, useTempStores } from './helpers.ts';
import { modeBitsRunner, runFixture } from '../mode-bits.ts';

const temp = useTempStores();
const runner = modeBitsRunner();

describe('connection settings', () => {
  it('uses WAL and synchronous=FULL (2) by default, with foreign keys on and the configured busy_timeout', () => {
    const store = temp.open({ busyTimeoutMs: 1234 });
    expect(store.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.sqlite.pragma('synchronous', { simple: true })).toBe(2);
    expect(store.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.sqlite.pragma('busy_timeout', { simple: true })).toBe(1234);
    expect(store.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect(store.sqlite.pragma('temp_store', { simple: true })).toBe(2); // MEMORY
    expect(store.synchronous).toBe('FULL');
  });

  it('uses synchronous=NORMAL (1) when configured', () => {
    const store = temp.open({ synchronous: 'NORMAL' });
    expect(store.sqlite.pragma('synchronous', { simple: true })).toBe(1);
    expect(store.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('makes a new database with 8 KiB pages, and an existing file keeps the page size it was made with', () => {
    const fresh = temp.open();
    expect(fresh.sqlite.pragma('page_size', { simple: true })).toBe(8192);
    const small = temp.open({ pageSizeBytes: 4096 });
    seedRequests(small, ['p'], T0);
    small.close();
    const reopened = temp.open({ path: small.path });
    expect(reopened.sqlite.pragma('page_size', { simple: true })).toBe(4096);
    expect(getStrategy(reopened, 'p')?.name).toBe('p');
  });

  it('refuses a page size that is not a power of two from 512 to 65536', () => {
    for (const bad of [1000, 256, 131072, 0]) expect(() => temp.open({ pageSizeBytes: bad })).toThrow(/pageSizeBytes must be a power of two/);
  });

  it('refuses an unknown synchronous mode', () => {
    expect(() => temp.open({ synchronous: 'OFF' as 'FULL' })).toThrow(/FULL or NORMAL/);
  });

  it('a TRUNCATE checkpoint empties the WAL file and keeps the data', () => {
    const store = temp.open();
    seedRequests(store, ['a', 'b', 'c'], T0);
    expect(fs.statSync(`${store.path}-wal`).size).toBeGreaterThan(0);
    const result = checkpoint(store, 'TRUNCATE');
    expect(result.busy).toBe(false);
    expect(fs.statSync(`${store.path}-wal`).size).toBe(0);
    expect(getStrategy(store, 'b')?.name).toBe('b');
    expect(checkpoint(store, 'PASSIVE').busy).toBe(false);
  });

  it('a read-only connection reads what the writer committed and fails writes with code readonly', () => {
    const writer = temp.open();
    applyOk(writer, [{ type: 'upsertStrategy', strategy: strategy('r') }], T0);
    const reader = temp.open({ path: writer.path, readonly: true });
    expect(getStrategy(reader, 'r')?.rank).toBe('INCUBATOR');
    let error: unknown;
    try {
      applyBatch(reader, [{ type: 'setCursor', name: 'x', value: 1 }], T0);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('readonly');
  });

  it('refuses to open a read-only file for writing with one line naming it, instead of failing at the first write', async (ctx) => {
    if ('skip' in runner) return ctx.skip(runner.skip);
    const dbPath = path.join(temp.dir(), 'shoal.db');
    openStore({ path: dbPath }).close();
    fs.chmodSync(dbPath, 0o444);
    expect(await runFixture(runner, 'tests/persistence/fixtures/open-store.ts', [dbPath])).toBe(`StoreError readonly: cannot open database ${dbPath}: read-only file`);
  }, 60_000);

  it('names a missing directory rather than "unable to open database file"', () => {
    const dbPath = path.join(temp.dir(), 'missing', 'shoal.db');
    expect(() => openStore({ path: dbPath })).toThrow(`cannot open database ${dbPath}: directory ${path.dirname(dbPath)} does not exist`);
  });

  it('close() is idempotent and the file reopens', () => {
    const store = temp.open();
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('x') }], T0);
    store.close();
    store.close();
    const again = openStore({ path: store.path });
    expect(getStrategy(again, 'x')).toBeDefined();
    again.close();
  });
});
