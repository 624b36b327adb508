/** The `shoal` command run as a user runs it: `node cli/shoal.mjs ...` in a child process. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../persistence/helpers.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Resolves with the exit code and output once the command exits (a non-zero exit is a result, not an error). */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(REPO_ROOT, 'cli/shoal.mjs'), ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}
