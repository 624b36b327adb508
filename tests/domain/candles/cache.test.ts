import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { statSync, utimesSync, writeFileSync, rmSync } from 'node:fs';
import { VerdictCache, fileIdentity, validateCandleFileCached } from '../../../domain/candles/index.ts';
import { T0, TempDir, csv, validLines } from './fixtures.ts';

let dir: TempDir;
beforeAll(() => {
  dir = new TempDir();
});
afterAll(() => dir.remove());

const PINNED_MTIME = 1_750_000_000; // whole seconds, so putting it back is exact to the nanosecond

/** Rewrites a file with `content`, then sets the pinned mtime again, as `cp -p` or `touch -r` would. */
function rewriteKeepingMtime(path: string, content: string): void {
  writeFileSync(path, content);
  utimesSync(path, PINNED_MTIME, PINNED_MTIME);
}

describe('VerdictCache with validateCandleFileCached', () => {
  it('an unchanged file is a hit and is not read again', async () => {
    const cache = new VerdictCache();
    const path = dir.file(csv(validLines()));
    const first = await validateCandleFileCached(path, {}, cache);
    const second = await validateCandleFileCached(path, {}, cache);
    expect(second).toBe(first);
    expect({ hits: cache.hits, misses: cache.misses, size: cache.size }).toEqual({ hits: 1, misses: 1, size: 1 });
  });

  it('reads an unchanged file\'s edge blocks once: later requests cost a stat', async () => {
    const cache = new VerdictCache();
    const path = dir.file(csv(validLines()));
    for (let i = 0; i < 5; i++) await validateCandleFileCached(path, {}, cache);
    expect(cache.identityReads).toBe(1);
    writeFileSync(path, csv(validLines(12)));
    await validateCandleFileCached(path, {}, cache);
    expect(cache.identityReads).toBe(2);
  });

  it('another window or other options are another entry', async () => {
    const cache = new VerdictCache();
    const path = dir.file(csv(validLines()));
    await validateCandleFileCached(path, {}, cache);
    const windowed = await validateCandleFileCached(path, { startTime: T0, endTime: T0 + 600 }, cache);
    await validateCandleFileCached(path, { maxGapHours: 1 }, cache);
    expect(windowed.valid).toBe(false);
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 0, misses: 3 });
  });

  it('a content change is a miss and gives the new verdict', async () => {
    const cache = new VerdictCache();
    const path = dir.file(csv(validLines(10)));
    await validateCandleFileCached(path, {}, cache);
    writeFileSync(path, csv(validLines(11)));
    const v = await validateCandleFileCached(path, {}, cache);
    expect(v.rows).toBe(11);
    expect(cache.misses).toBe(2);
  });

  it('a same-size content change with the mtime put back is a miss (edge hash)', async () => {
    const cache = new VerdictCache();
    const original = csv(validLines(10));
    const path = dir.file(original);
    utimesSync(path, PINNED_MTIME, PINNED_MTIME);
    const before = await fileIdentity(path);
    expect((await validateCandleFileCached(path, {}, cache)).valid).toBe(true);
    const broken = original.replace(`${T0 + 60},`, `${T0 - 60},`); // same length, now out of order
    expect(broken.length).toBe(original.length);
    rewriteKeepingMtime(path, broken);
    const after = await fileIdentity(path);
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
    const v = await validateCandleFileCached(path, {}, cache);
    expect(v.valid).toBe(false);
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 0, misses: 2 });
  });

  it('a touched mtime with the same content is a miss', async () => {
    const cache = new VerdictCache();
    const path = dir.file(csv(validLines()));
    await validateCandleFileCached(path, {}, cache);
    const { mtime } = statSync(path);
    utimesSync(path, mtime, new Date(mtime.getTime() + 5_000));
    await validateCandleFileCached(path, {}, cache);
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 0, misses: 2 });
  });

  it('an unreadable file is not cached', async () => {
    const cache = new VerdictCache();
    const path = `${dir.path}/appears-later.csv`;
    expect((await validateCandleFileCached(path, {}, cache)).problems[0].kind).toBe('unreadable');
    expect(cache.size).toBe(0);
    writeFileSync(path, csv(validLines()));
    expect((await validateCandleFileCached(path, {}, cache)).valid).toBe(true);
    rmSync(path);
  });

  it('evicts the least recently used entry beyond maxEntries', async () => {
    const cache = new VerdictCache({ maxEntries: 2 });
    const [a, b, c] = [dir.file(csv(validLines(3))), dir.file(csv(validLines(4))), dir.file(csv(validLines(5)))];
    await validateCandleFileCached(a, {}, cache);
    await validateCandleFileCached(b, {}, cache);
    await validateCandleFileCached(a, {}, cache); // a is now the most recent
    await validateCandleFileCached(c, {}, cache); // evicts b
    expect(cache.size).toBe(2);
    await validateCandleFileCached(a, {}, cache);
    await validateCandleFileCached(b, {}, cache);
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 2, misses: 4 });
  });

  it('cached verdicts are frozen so one caller cannot change another caller\'s verdict', async () => {
    const cache = new VerdictCache();
    const v = await validateCandleFileCached(dir.file(csv(validLines())), {}, cache);
    expect(Object.isFrozen(v) && Object.isFrozen(v.problems) && Object.isFrozen(v.window)).toBe(true);
  });

  it('rejects a maxEntries below 1', () => {
    expect(() => new VerdictCache({ maxEntries: 0 })).toThrow(RangeError);
  });
});

describe('fileIdentity', () => {
  it('is path, size, mtime and a hash of the first and last 64 KiB', async () => {
    const path = dir.file('x'.repeat(200_000));
    utimesSync(path, PINNED_MTIME, PINNED_MTIME);
    const id = await fileIdentity(path);
    expect(id).toMatchObject({ path, size: 200_000, mtimeMs: statSync(path).mtimeMs });
    expect(id.edgeHash).toMatch(/^[0-9a-f]{40}$/);
    // A change in the middle of a large file is outside the hashed blocks.
    rewriteKeepingMtime(path, `${'x'.repeat(100_000)}y${'x'.repeat(99_999)}`);
    expect((await fileIdentity(path)).edgeHash).toBe(id.edgeHash);
    rewriteKeepingMtime(path, `${'x'.repeat(199_999)}y`);
    expect((await fileIdentity(path)).edgeHash).not.toBe(id.edgeHash);
  });

  it('rejects with the OS error for a missing file', async () => {
    await expect(fileIdentity(`${dir.path}/nope.csv`)).rejects.toThrow(/ENOENT/);
  });
});
