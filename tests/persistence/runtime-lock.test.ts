import path from 'node:path';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { acquireRuntimeLock, DatabaseInUseError, runtimeHolder } from '../../persistence/runtime-lock.ts';
import { exited, spawnFixture, useTempStores, waitForLine } from './helpers.ts';

const temp = useTempStores();

/** Everything a child printed, once it has exited. */
async function outputOf(child: ChildProcessWithoutNullStreams): Promise<string> {
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString()));
  await exited(child);
  return out.trim();
}

function refusal(dbPath: string): DatabaseInUseError {
  try {
    acquireRuntimeLock(dbPath).release();
  } catch (e) {
    if (e instanceof DatabaseInUseError) return e;
    throw e;
  }
  throw new Error(`the lock of ${dbPath} was free`);
}

describe('the runtime lock: one holder per database', () => {
  it('refuses a second holder with one line naming the holder pid, and a SIGKILLed holder leaves no stale lock', async () => {
    const dbPath = path.join(temp.dir(), 'shoal.db');
    const holder = spawnFixture('runtime-lock.ts', [dbPath, 'hold']);
    await waitForLine(holder, 'locked', 60_000);
    const refused = refusal(dbPath);
    expect(refused.holderPid).toBe(holder.pid);
    expect(refused.message).toBe(`database ${dbPath} is in use by another shoal runtime (pid ${holder.pid}); stop it first, or use another database`);
    holder.kill('SIGKILL');
    expect((await exited(holder)).signal).toBe('SIGKILL');
    // The kernel dropped the dead holder's lock: the next one takes it at once.
    acquireRuntimeLock(dbPath).release();
  }, 120_000);

  it('names this process when it holds the lock itself, and a refused attempt here does not drop that lock', async () => {
    const dbPath = path.join(temp.dir(), 'shoal.db');
    const lock = acquireRuntimeLock(dbPath);
    try {
      expect(refusal(dbPath).holderPid).toBe(process.pid);
      // Closing any descriptor of a file drops the process's POSIX locks on it: another process
      // must still be refused after the refusal above.
      expect(await outputOf(spawnFixture('runtime-lock.ts', [dbPath, 'try']))).toMatch(new RegExp(`^refused .*\\(pid ${process.pid}\\)`));
    } finally {
      lock.release();
    }
    expect(await outputOf(spawnFixture('runtime-lock.ts', [dbPath, 'try']))).toBe('acquired');
  }, 120_000);

  it('runtimeHolder tells whether a runtime holds the lock, with its pid, without disturbing it', async () => {
    const dbPath = path.join(temp.dir(), 'shoal.db');
    expect(runtimeHolder(dbPath)).toEqual({ running: false });
    const holder = spawnFixture('runtime-lock.ts', [dbPath, 'hold']);
    await waitForLine(holder, 'locked', 60_000);
    expect(runtimeHolder(dbPath)).toEqual({ running: true, pid: holder.pid });
    // The probe took nothing: the holder still refuses the next one.
    expect(refusal(dbPath).holderPid).toBe(holder.pid);
    holder.kill('SIGKILL');
    await exited(holder);
    // The file stays, the lock does not.
    expect(runtimeHolder(dbPath)).toEqual({ running: false });
    const mine = acquireRuntimeLock(dbPath);
    expect(runtimeHolder(dbPath)).toEqual({ running: true, pid: process.pid });
    mine.release();
  }, 120_000);
});
