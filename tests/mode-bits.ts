/**
 * Running a child process for which file mode bits hold. Root writes through them, so under root
 * the child runs in a new user namespace (`unshare -U`): it keeps its uid for ownership but has
 * no capabilities over files outside the namespace, so a chmod is enforced again. Whether that
 * holds is measured once, on a 0444 file; if it does not, tests skip and say why.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exited, REPO_ROOT } from './persistence/helpers.ts';

export type ModeBitsRunner = { readonly command: readonly string[] } | { readonly skip: string };

export function modeBitsRunner(): ModeBitsRunner {
  if (process.getuid?.() !== 0) return { command: [] };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-probe-'));
  try {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, '');
    fs.chmodSync(file, 0o444);
    const probe = spawnSync('unshare', ['-U', 'sh', '-c', 'test ! -w "$0"', file]);
    if (probe.status === 0) return { command: ['unshare', '-U'] };
    return { skip: `running as root, where chmod does not make a file read-only, and 'unshare -U' could not change that (${probe.error?.message ?? probe.stderr.toString().trim()})` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a TypeScript fixture (path from the repository root) under the runner; resolves to what it printed. */
export async function runFixture(runner: { readonly command: readonly string[] }, script: string, args: readonly string[]): Promise<string> {
  const [cmd, ...rest] = [...runner.command, process.execPath, '--import', 'tsx', path.join(REPO_ROOT, script), ...args];
  const child = spawn(cmd, rest, { cwd: REPO_ROOT, stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => void (err += chunk.toString()));
  const { code } = await exited(child);
  if (code !== 0) throw new Error(`${script} exited ${code}; stdout: ${out}; stderr: ${err}`);
  return out.trim();
}
