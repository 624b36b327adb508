/**
 * The disk-full fault's file system: a small tmpfs mounted on the folder that holds the database
 * (root only), which the fault fills with a filler file for a while and then frees. Shared by the
 * direct and the bridge mode.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { waitFor } from './wait-for.ts';

export interface SmallFs {
  readonly dir: string;
  readonly mounted: boolean;
  /** Why not, when not. */
  readonly why?: string;
}

/** Mounts a 256 MiB tmpfs on `dir` (root only); the disk-full fault fills it. */
export function mountSmallFs(dir: string): SmallFs {
  if (process.env.SHOAL_CHAOS_TMPFS === '0') return { dir, mounted: false, why: 'SHOAL_CHAOS_TMPFS=0' };
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs', dir], { stdio: 'pipe' });
    return { dir, mounted: true };
  } catch (e) {
    return { dir, mounted: false, why: String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim().split('\n')[0] };
  }
}

export function unmountSmallFs(fs: SmallFs): void {
  if (!fs.mounted) return;
  try {
    execFileSync('umount', [fs.dir], { stdio: 'pipe' });
  } catch {
    // left mounted: the folder's removal after it says so
  }
}

/** Writes a filler file until the file system is full; returns its size. */
function fillUp(file: string): number {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 20, 0x61);
  let size = 0;
  try {
    for (;;) size += writeSync(fd, chunk);
  } catch {
    // ENOSPC: full; then the last bytes with small writes
    const small = Buffer.alloc(4096, 0x61);
    try {
      for (;;) size += writeSync(fd, small);
    } catch {
      // full to the block
    }
  } finally {
    closeSync(fd);
  }
  return size;
}

/** Fills the file system, keeps it full for 2-4 s (drawn from `random`; `whileFull` is called once it is full) while the runtime works, then frees it; the filler's size. */
export async function fillFor(fs: SmallFs, random: () => number, whileFull: () => void = () => undefined): Promise<number> {
  const filler = path.join(fs.dir, 'filler');
  const bytes = fillUp(filler);
  whileFull();
  // A duration drawn from the seed, not a state: the clock is the condition.
  const ms = 2_000 + Math.floor(random() * 2_000);
  const until = Date.now() + ms;
  await waitFor(() => Date.now() >= until, ms + 1_000);
  rmSync(filler);
  return bytes;
}
