/**
 * Vitest global setup: the tests that run the `shoal` command, and the pack test, use the built
 * package in dist/, as a user does. `npm test` builds first; a bare `npx vitest run` after an
 * edit rebuilds here, once, before any test starts, so no test runs a stale or half-written
 * build (building from inside a test would delete dist/ under the tests running beside it).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD_CONFIG = path.join(ROOT, 'tsconfig.build.json');
/** Written by every build (after a clean), so its time is the build's. */
const STAMP = path.join(ROOT, 'dist/index.js');

/** Why dist/ must be built again, or undefined when it is newer than every input of the build. */
export function staleReason(): string | undefined {
  if (!fs.existsSync(STAMP)) return 'dist/ is missing';
  const parsed = ts.getParsedCommandLineOfConfigFile(BUILD_CONFIG, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(`${BUILD_CONFIG}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    },
  });
  if (!parsed) throw new Error(`${BUILD_CONFIG} could not be read`);
  const built = fs.statSync(STAMP).mtimeMs;
  const inputs = [...parsed.fileNames, BUILD_CONFIG, path.join(ROOT, 'tsconfig.json')];
  const newer = inputs.find((f) => fs.statSync(f).mtimeMs > built);
  return newer === undefined ? undefined : `${path.relative(ROOT, newer)} changed since the last build`;
}

export default function setup(): void {
  const reason = staleReason();
  if (reason === undefined) return;
  process.stdout.write(`building dist/ (${reason})\n`);
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status ?? r.signal}); the tests run the built package`);
}
