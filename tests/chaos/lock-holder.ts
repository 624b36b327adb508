/**
 * The lock-holder fault: a second process takes the database's write lock (BEGIN IMMEDIATE on its
 * own connection, tests/persistence/fixtures/hold-write-lock.ts), holds it for 1-3 s (drawn from
 * the seed) while the runtime works, then commits and exits. Shared by the direct and the bridge
 * mode.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { exited, REPO_ROOT } from '../persistence/helpers.ts';
import { until } from '../wait.ts';
import { waitFor } from './wait-for.ts';

/** Holds the write lock of `dbPath` for 1-3 s (`whileHeld` is called once it is taken) and resolves once the holder released it and exited; how long it held it. */
export async function holdWriteLock(dbPath: string, random: () => number, whileHeld: () => void = () => undefined): Promise<number> {
  const holder = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tests/persistence/fixtures/hold-write-lock.ts'), dbPath, 'stdin'], { cwd: REPO_ROOT, stdio: 'pipe' });
  const gone = exited(holder);
  let out = '';
  let err = '';
  holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
  holder.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await until(
    () => {
      if (holder.exitCode !== null || holder.signalCode !== null) throw new Error(`the lock holder exited before locking: ${err}`);
      return out.includes('locked');
    },
    'the lock holder to take the write lock',
    120_000,
  );
  const lockedAt = Date.now();
  whileHeld();
  // A duration drawn from the seed, not a state: the clock is the condition.
  const ms = 1_000 + Math.floor(random() * 2_000);
  await waitFor(() => Date.now() - lockedAt >= ms, ms + 1_000);
  holder.stdin.write('now\n');
  await gone;
  return Date.now() - lockedAt;
}
