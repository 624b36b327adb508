/**
 * Whether this process may write a database: the file, the directory where SQLite and shoal
 * create their side files (-wal, -shm, the spool, the lock), and those side files that exist.
 *
 * SQLite opens a file it may not write read-only without a word and fails at the first write, so
 * a runtime on a read-only file would start and then crash-loop. Asking first turns that into one
 * clear line. access(2) answers for this process's credentials as the kernel would for a write:
 * root passes mode bits (it can write such files), a read-only file system or an immutable file
 * does not.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from './errors.ts';

/** Why `file` (with the named side files, where they exist) cannot be written, or undefined if it can. */
export function writeAccessProblem(file: string, sidecars: readonly string[] = []): string | undefined {
  const dir = path.dirname(path.resolve(file));
  const dirCode = accessCode(dir, fs.constants.W_OK | fs.constants.X_OK);
  if (dirCode === 'ENOENT') return `directory ${dir} does not exist`;
  if (dirCode !== undefined) return reason(dirCode, `directory ${dir}`);
  for (const f of [file, ...sidecars]) {
    const code = accessCode(f, fs.constants.W_OK);
    if (code === undefined || code === 'ENOENT') continue;
    return reason(code, f === file ? 'file' : `file ${f}`);
  }
  return undefined;
}

/** Throws a one-line StoreError (code `readonly`) when the database cannot be written. */
export function assertWritable(file: string, sidecars: readonly string[] = []): void {
  const problem = writeAccessProblem(file, sidecars);
  if (problem !== undefined) throw new StoreError('readonly', `cannot open database ${file}: ${problem}`, undefined, 0);
}

function accessCode(p: string, mode: number): string | undefined {
  try {
    fs.accessSync(p, mode);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'EIO';
  }
}

function reason(code: string, what: string): string {
  if (code === 'EROFS') return `read-only file system (${what})`;
  if (code === 'EACCES' || code === 'EPERM') return `read-only ${what}`;
  return `${what} is not writable (${code})`;
}
