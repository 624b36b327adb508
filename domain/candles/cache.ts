/**
 * Verdict cache keyed by file identity, so an unchanged multi-year file is read once and not once
 * per strategy. Identity = resolved path, size, mtime and a SHA-1 of the first and last 64 KiB:
 * size and mtime catch ordinary rewrites, the hash catches a same-size rewrite whose mtime was
 * preserved (copy tools, `touch -r`) as long as it changes the head or the tail — where appends,
 * truncations and re-exports show. A same-size edit confined to the middle with the mtime restored
 * is not detected; that is the price of not reading the file.
 *
 * The edge hash itself is reused while a file's stat stamp (device, inode, size, mtime and ctime)
 * is unchanged: ctime moves on every content or metadata change and cannot be set back by
 * utimes, so an equal stamp means the same bytes, and an unchanged file costs one stat, not two
 * block reads and a hash, per request.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { resolveCheckOptions } from './options.ts';
import type { ResolvedCheckOptions } from './options.ts';
import { validateCandleFile } from './validate.ts';
import type { ValidateFileOptions } from './validate.ts';
import type { CandleVerdict } from './verdict.ts';
import { isUnreadable } from './verdict.ts';

export const IDENTITY_BLOCK_BYTES = 64 * 1024;
export const DEFAULT_CACHE_ENTRIES = 256;

export interface FileIdentity {
  path: string;
  size: number;
  mtimeMs: number;
  /** SHA-1 (hex) of the first and last IDENTITY_BLOCK_BYTES (the whole file when smaller). */
  edgeHash: string;
}

/** Reads a file's identity; rejects with the OS error when the file cannot be opened. */
export async function fileIdentity(path: string): Promise<FileIdentity> {
  const absolute = resolve(path);
  const handle = await open(absolute, 'r');
  try {
    const st = await handle.stat();
    const hash = createHash('sha1');
    const block = Buffer.allocUnsafe(Math.min(IDENTITY_BLOCK_BYTES, st.size));
    const head = await handle.read(block, 0, block.length, 0);
    hash.update(block.subarray(0, head.bytesRead));
    if (st.size > IDENTITY_BLOCK_BYTES) {
      const tail = await handle.read(block, 0, block.length, st.size - block.length);
      hash.update(block.subarray(0, tail.bytesRead));
    }
    return { path: absolute, size: st.size, mtimeMs: st.mtimeMs, edgeHash: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

/** Cache key: the file's identity plus every option that can change the verdict. */
export function verdictCacheKey(identity: FileIdentity, options: ResolvedCheckOptions): string {
  return JSON.stringify([
    identity.path,
    identity.size,
    identity.mtimeMs,
    identity.edgeHash,
    options.startTime,
    options.endTime,
    options.maxGapSeconds,
    options.maxExamples,
    options.maxLineBytes,
  ]);
}

export interface VerdictCacheOptions {
  /** Entries kept; the least recently used is evicted beyond this. */
  maxEntries?: number;
}

/** A least-recently-used map of verdicts with hit and miss counters. Stored verdicts are frozen. */
export class VerdictCache {
  readonly maxEntries: number;
  private readonly entries = new Map<string, CandleVerdict>();
  private readonly identities = new Map<string, { stamp: string; identity: FileIdentity }>();
  private hitCount = 0;
  private missCount = 0;
  /** Edge hashes computed (reads of a file's first and last blocks). */
  identityReads = 0;

  constructor(options: VerdictCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_CACHE_ENTRIES;
    if (!(Number.isInteger(maxEntries) && maxEntries >= 1)) throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    this.maxEntries = maxEntries;
  }

  get hits(): number {
    return this.hitCount;
  }

  get misses(): number {
    return this.missCount;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Looks a key up, counting a hit or a miss; a hit becomes the most recently used entry. */
  get(key: string): CandleVerdict | undefined {
    const verdict = this.entries.get(key);
    if (verdict === undefined) {
      this.missCount++;
      return undefined;
    }
    this.hitCount++;
    // Map keeps insertion order: re-inserting moves the key to the young end.
    this.entries.delete(key);
    this.entries.set(key, verdict);
    return verdict;
  }

  set(key: string, verdict: CandleVerdict): void {
    this.entries.delete(key);
    this.entries.set(key, deepFreeze(verdict));
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
    this.identities.clear();
  }

  /** The file's identity; the edge hash is read again only when the file's stat stamp changed. */
  async identityOf(path: string): Promise<FileIdentity> {
    const absolute = resolve(path);
    const st = await stat(absolute);
    const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    const known = this.identities.get(absolute);
    if (known && known.stamp === stamp) return known.identity;
    const identity = await fileIdentity(absolute);
    this.identityReads++;
    if (identity.size === st.size && identity.mtimeMs === st.mtimeMs) {
      this.identities.delete(absolute);
      this.identities.set(absolute, { stamp, identity });
      while (this.identities.size > this.maxEntries) this.identities.delete(this.identities.keys().next().value as string);
    }
    return identity;
  }
}

/**
 * Validates through the cache. Unreadable files are never cached (they may appear a moment later),
 * nor is a verdict whose file changed size or mtime while it was being read.
 */
export async function validateCandleFileCached(path: string, options: ValidateFileOptions, cache: VerdictCache): Promise<CandleVerdict> {
  const resolved = resolveCheckOptions(options);
  let before: FileIdentity;
  try {
    before = await cache.identityOf(path);
  } catch {
    return validateCandleFile(path, options); // reports the file as unreadable, with the OS error
  }
  const key = verdictCacheKey(before, resolved);
  const cached = cache.get(key);
  if (cached !== undefined) return cached;

  const verdict = await validateCandleFile(path, options);
  if (!isUnreadable(verdict)) {
    const after = await stat(before.path).catch(() => null);
    if (after !== null && after.size === before.size && after.mtimeMs === before.mtimeMs) cache.set(key, verdict);
  }
  return verdict;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
