/** The `shoal` command run as a user runs it: the built CLI on plain node (`node dist/cli/shoal.js ...`) in a child process. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../persistence/helpers.ts';

/** The built command (package.json `bin`); the suite builds it first (vitest's global setup). */
export const BUILT_CLI = path.join(REPO_ROOT, 'dist/cli/shoal.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Resolves with the exit code and output once the command exits (a non-zero exit is a result, not an error). */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BUILT_CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}
