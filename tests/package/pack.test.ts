/**
 * The package as a host gets it: `npm pack`, the tarball installed into an empty project, used
 * from plain Node 20 with no tsx and no TypeScript. The install is a real one: npm resolves the
 * dependencies (from its cache when it has them, `--prefer-offline`, else the registry) and
 * better-sqlite3 builds its native module, which takes minutes; so this file runs in its own
 * project after the rest of the suite.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticCandles } from '../../backtester/synthetic-candles.ts';
import { freePort } from '../../transport/free-port.ts';
import { REPO_ROOT } from '../persistence/helpers.ts';
import { until } from '../wait.ts';

const run = promisify(execFile);
const HOST_SCRIPT = path.join(REPO_ROOT, 'tests/package/host/embed.mjs');

/**
 * The environment of a user's shell: this run's node first on PATH (the bins' `#!/usr/bin/env
 * node`), and nothing of the test run that could change npm or node (npm_* config from `npm test`,
 * a NODE_OPTIONS loader).
 */
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_OPTIONS' && !k.startsWith('VITEST')) env[k] = v;
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;
  return { ...env, ...extra };
}

let work: string;
let host: string;
let packed: { filename: string; files: { path: string }[] };
const children: ChildProcess[] = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-pack-'));
  // --ignore-scripts: `prepare` would rebuild dist/ (clean first) under the tests beside this
  // one; the global setup has just built it from these sources.
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: REPO_ROOT, env: plainEnv(), maxBuffer: 64 * 1024 * 1024 });
  [packed] = JSON.parse(pack.stdout) as (typeof packed)[];

  host = path.join(work, 'host');
  fs.mkdirSync(host);
  // As README's "Use it" says: the native dependencies may run their install scripts.
  fs.writeFileSync(path.join(host, 'package.json'), JSON.stringify({ name: 'host', private: true, type: 'module', allowScripts: { 'better-sqlite3': true, zeromq: true } }, null, 2));
  const started = process.hrtime.bigint();
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', path.join(work, packed.filename)], { cwd: host, env: plainEnv(), maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`npm install of ${packed.filename} into an empty project: ${seconds.toFixed(0)} s`);
}, 900_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** Spawns an installed bin as a shell would run it (its shebang picks node from PATH). */
function bin(name: string, args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(path.join(host, 'node_modules/.bin', name), args, { cwd: host, env: plainEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => void (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => void (output += d.toString()));
  // 'close', not 'exit': the output is complete only once the pipes have closed.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('the packed package', () => {
  it('holds the built package only: JavaScript, declarations and source maps in dist/, no tests, benchmarks or TypeScript sources', () => {
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/runtime/index.js', 'dist/supervisors/index.js', 'dist/cli/shoal.js', 'dist/backtester/main.js']));
    expect(files.filter((f) => !/^dist\/.+\.(js|d\.ts|js\.map)$/.test(f) && f !== 'package.json' && f !== 'README.md')).toEqual([]);
    expect(files.filter((f) => /(^|\/)(tests?|bench|fixtures)\//.test(f) || /\.(test|bench)\./.test(f))).toEqual([]);
  });

  it('installs into an empty project without tsx or TypeScript', () => {
    const installed = fs.readdirSync(path.join(host, 'node_modules'));
    expect(installed).toContain('shoal');
    expect(installed).not.toContain('tsx');
    expect(installed).not.toContain('typescript');
  });

  it('a host on plain node imports shoal, shoal/runtime and shoal/supervisors, runs the kernel alone, and gets a request done by the bundled service started from its bin', async () => {
    const dataDir = path.join(work, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    await writeSyntheticCandles(path.join(dataDir, 'USDJPY_M1.csv'), { start: Math.floor(Date.UTC(2026, 0, 5) / 1000), days: 60 });
    const requestEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    const resultEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    const service = bin('shoal-backtester', ['--engine', 'sma', '--bind', requestEndpoint, '--results', resultEndpoint, '--data-dir', dataDir, '--concurrency', '1']);
    await until(() => service.output().includes('backtester listening on'), `the installed shoal-backtester to listen (output: ${service.output()})`, 60_000);

    fs.copyFileSync(HOST_SCRIPT, path.join(host, 'embed.mjs'));
    const embed = await run(process.execPath, ['embed.mjs'], {
      cwd: host,
      env: plainEnv({ DB_PATH: path.join(work, 'host.db'), DATA_DIR: dataDir, REQUEST_ENDPOINT: requestEndpoint, RESULT_ENDPOINT: resultEndpoint }),
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`embed.mjs failed: ${e.message}\nstdout: ${e.stdout}\nstderr: ${e.stderr}\nservice: ${service.output()}`);
    });
    const lines = embed.stdout.trim().split('\n');
    expect(lines[0]).toBe('imports: function function function');
    expect(lines[1]).toBe('internal import: ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(lines[2]).toBe('kernel: /root/counter restarted, count 1');
    expect(lines[3]).toMatch(/^enqueued: [0-9a-f-]{36}$/);
    expect(lines[4]).toMatch(/^request: done \(trades \d+\)$/);
    expect(lines[5]).toBe('stopped');

    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  });

  it('the installed `shoal --help` exits 0 and lists the commands', async () => {
    const help = bin('shoal', ['--help']);
    expect(await help.exited).toBe(0);
    expect(help.output()).toMatch(/^Usage: shoal COMMAND/);
    expect(help.output()).toMatch(/^ {2}queue /m);
  });
});
