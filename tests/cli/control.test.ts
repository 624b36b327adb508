/**
 * The live CLI as an operator runs it: the built `shoal` in child processes against `shoal start`
 * in another (real database, real sockets on 127.0.0.1), through the control endpoint; then the
 * same commands with no runtime. Outputs, --json compared with the store, exit codes, the token.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../persistence/connection.ts';
import { applyBatch } from '../../persistence/batch.ts';
import { countByState } from '../../persistence/outbox.ts';
import { getDeadLetter, listDeadLetters } from '../../persistence/dead-letters.ts';
import { discoverControl } from '../../app/control/discovery.ts';
import { callControl } from '../../app/control/client.ts';
import { useTempStores, REPO_ROOT } from '../persistence/helpers.ts';
import { freePort, until } from '../app/pipeline-harness.ts';
import { BUILT_CLI, runCli } from './cli-process.ts';
import { seedPending, startService, type RunningService } from './service-process.ts';

const temp = useTempStores();

const running: RunningService[] = [];
afterEach(() => {
  for (const r of running.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
});

/** A database with `n` dead requests (each with its dead letter) and one pending; returns the letter ids. */
function seed(dbPath: string, dead: number): number[] {
  const store = openStore({ path: dbPath });
  try {
    const ids = seedPending(store, dead + 1);
    applyBatch(store, ids.slice(0, dead).map((requestId) => ({ type: 'deadLetterRequest' as const, requestId, error: 'service gone', failureKind: 'timeout' as const, source: '/shoal/pipeline/sender' })), Date.now());
    return listDeadLetters(store, { state: 'dead' }).map((l) => l.id);
  } finally {
    store.close();
  }
}

interface Runtime {
  dbPath: string;
  service: RunningService;
  token: string;
}

/** `shoal start` on a seeded database, nothing listening at its service socket (requests stay in the outbox). */
async function startRuntime(deadLetters = 3): Promise<Runtime & { letters: number[] }> {
  const dir = temp.dir();
  const dbPath = path.join(dir, 'shoal.db');
  const letters = seed(dbPath, deadLetters);
  const file = path.join(dir, 'shoal.json');
  fs.writeFileSync(file, JSON.stringify({ rankEvaluation: false, replay: { replayAtStartup: false } }));
  const service = startService(['--config', file, '--db', dbPath, '--service', `tcp://127.0.0.1:${await freePort()}`, '--service-results', `tcp://127.0.0.1:${await freePort()}`]);
  running.push(service);
  await service.line('control_listening', 60_000);
  return { dbPath, service, token: fs.readFileSync(`${dbPath}.token`, 'utf8').trim(), letters };
}

function storeOf(dbPath: string) {
  return openStore({ path: dbPath, readonly: true });
}

describe('the live CLI against a running runtime', () => {
  it('status, tree and queue --json agree with the store; the token file is 0600; exit codes 0', async () => {
    const rt = await startRuntime();
    expect(fs.statSync(`${rt.dbPath}.token`).mode & 0o777).toBe(0o600);
    // The sender claims the pending request soon after the start (its send then waits for a
    // service that never comes, its lease far off): compare once it has, or the two reads race it.
    await until(() => {
      const store = storeOf(rt.dbPath);
      try {
        return countByState(store).in_flight === 1;
      } finally {
        store.close();
      }
    }, 'the sender to claim the pending request');
    const status = await runCli(['status', '--db', rt.dbPath, '--json']);
    expect(status).toMatchObject({ code: 0, stderr: '' });
    const s = JSON.parse(status.stdout);
    const store = storeOf(rt.dbPath);
    try {
      expect(s).toMatchObject({ up: true, pid: rt.service.child.pid, outbox: countByState(store), deadLetters: { dead: 3 }, sending: { paused: false } });
      expect(s.oldestPendingAgeMs).toBeGreaterThanOrEqual(0);
    } finally {
      store.close();
    }
    const text = await runCli(['status', '--db', rt.dbPath]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^runtime {9}up\npid {13}\d+\n/);
    expect(text.stdout).toMatch(/dead letters {4}dead 3, replaying 0/);
    // Piped: no colour codes.
    expect(text.stdout).not.toMatch(/\x1b\[/);

    const tree = await runCli(['tree', '--db', rt.dbPath, '--json']);
    expect(tree.code).toBe(0);
    const t = JSON.parse(tree.stdout);
    expect(t).toMatchObject({ pid: rt.service.child.pid, liveness: { running: true }, source: 'control endpoint' });
    expect(t.tree[0]).toMatchObject({ path: '/shoal', status: 'running', startedAt: expect.any(Number) });
    const treeText = await runCli(['tree', '--db', rt.dbPath]);
    expect(treeText.stdout).toMatch(new RegExp(`^runtime running, pid ${rt.service.child.pid}, up `));
    // The sender's mailbox holds its own timer's messages now and then: its length is a moment's, not a fixed value.
    expect(treeText.stdout).toMatch(/│ {3}└── sender {2}\[running, worker, up [^,]+, restarts 0, mailbox \d+\]/);
  }, 120_000);

  it('dlq replay goes through the endpoint with the token and takes effect at once; a wrong token is refused (exit 2) and counted; no token file is exit 2', async () => {
    const rt = await startRuntime();
    const [first, second] = rt.letters;
    const wrong = await runCli(['dlq', 'replay', String(first), '--db', rt.dbPath, '--token', 'not-the-right-token-at-all']);
    expect(wrong).toMatchObject({ code: 2, stdout: '' });
    expect(wrong.stderr).toBe('shoal dead-letters: refused: the control token is wrong (403 forbidden)\n');
    const viaEnv = await runCli(['dlq', 'replay', String(first), '--db', rt.dbPath], { SHOAL_TOKEN: 'also-not-the-right-token' });
    expect(viaEnv.code).toBe(2);

    const ok = await runCli(['dlq', 'replay', String(first), '424242', '--db', rt.dbPath]);
    expect(ok.code).toBe(1);
    expect(ok.stdout).toBe(`1 dead letter(s) replaying now: ${first}; the running runtime (pid ${rt.service.child.pid}) is delivering it\n`);
    expect(ok.stderr).toBe('dead letter 424242 not replayed: no such letter (424242)\n');
    // At once: the letter's request is back in the outbox, no scan interval waited for.
    await until(() => {
      const store = storeOf(rt.dbPath);
      try {
        return getDeadLetter(store, first)?.state === 'replaying' && countByState(store).dead === 2;
      } finally {
        store.close();
      }
    }, 'the replayed request to be back in the outbox');

    const discard = await runCli(['dead-letters', 'discard', String(second), '--reason', 'retired', '--db', rt.dbPath]);
    expect(discard).toMatchObject({ code: 0, stdout: `dead letter ${second} discarded\n` });
    const again = await runCli(['dlq', 'discard', String(second), '--db', rt.dbPath]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^dead letter ${second} not discarded: dead letter ${second} is discarded; only a dead letter can be discarded \\(409 not_discardable\\)\n$`));

    const metrics = JSON.parse((await runCli(['metrics', '--db', rt.dbPath, '--json'])).stdout);
    expect(metrics).toMatchObject({ source: 'runtime', control: { forbidden: 2 } });

    fs.rmSync(`${rt.dbPath}.token`);
    const noToken = await runCli(['pause', '--db', rt.dbPath]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/^shoal pause: cannot read the control token file .*shoal\.db\.token: no such file \(give --token or \$SHOAL_TOKEN\)\n$/);
    const withFlag = await runCli(['pause', '--db', rt.dbPath, '--token', rt.token, '--json']);
    expect(withFlag.code).toBe(0);
    expect(JSON.parse(withFlag.stdout)).toMatchObject({ paused: true });
    expect(await runCli(['sending', 'resume', '--db', rt.dbPath, '--token', rt.token])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^sending resumed; /) });
  }, 120_000);

  it('the endpoint survives garbage and an oversized body; the runtime goes on answering', async () => {
    const rt = await startRuntime(0);
    const found = discoverControl(rt.dbPath);
    if (!found.found) throw new Error(found.reason);
    const big = await callControl(found.address, 'POST', '/v1/dead-letters/replay', { token: rt.token, body: { ids: [1], pad: 'x'.repeat(200_000) } });
    expect(big).toMatchObject({ status: 413, body: { error: { code: 'body_too_large' } } });
    expect(await callControl(found.address, 'GET', '/v1/nothing')).toMatchObject({ status: 404 });
    expect(await callControl(found.address, 'DELETE', '/v1/status')).toMatchObject({ status: 405 });
    const net = await import('node:net');
    const url = new URL(found.address.url!);
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(url.port), url.hostname, () => socket.end(Buffer.from('\x00\xff garbage \r\n\r\n')));
      socket.on('data', () => undefined);
      socket.on('close', () => resolve());
    });
    const status = await runCli(['status', '--db', rt.dbPath, '--json']);
    expect(status.code).toBe(0);
    const metrics = JSON.parse((await runCli(['metrics', '--db', rt.dbPath, '--json'])).stdout);
    expect(metrics.control).toMatchObject({ tooLarge: 1, malformed: 1 });
  }, 120_000);

  it('tree --watch under a terminal redraws in place, with colours, until interrupted', async () => {
    const rt = await startRuntime(0);
    // util-linux script gives the command a pseudo-terminal; the process group is ours to end.
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(BUILT_CLI)} tree --db ${JSON.stringify(rt.dbPath)} --watch --interval 200 --events 0`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '', TERM: 'xterm' }, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await until(() => out.split('\x1b[H\x1b[J').length - 1 >= 3, 'three frames drawn in place');
      expect(out).toMatch(/\x1b\[32mrunning\x1b\[0m/);
      const frames = out.split('\x1b[H\x1b[J').slice(1, 3);
      for (const f of frames) expect(f).toMatch(/^runtime running, pid \d+, up /);
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
    }
  }, 120_000);

  it('tree --watch piped prints frame after frame without escape codes, and Ctrl-C (SIGINT) ends it with exit 0', async () => {
    const rt = await startRuntime(0);
    const child = spawn(process.execPath, [BUILT_CLI, 'tree', '--db', rt.dbPath, '--watch', '--interval', '200', '--events', '0'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await until(() => out.split('runtime running, pid').length - 1 >= 2, 'two frames');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).not.toMatch(/\x1b\[/);
  }, 120_000);
});

describe('the live CLI with no runtime', () => {
  it('after a clean stop: the address file is gone; status, tree and pause exit 3 saying so; tree shows the last supervisor events; dlq works on the store', async () => {
    const rt = await startRuntime();
    rt.service.child.kill('SIGTERM');
    expect((await rt.service.exited).code).toBe(0);
    expect(fs.existsSync(`${rt.dbPath}.control.json`)).toBe(false);

    const status = await runCli(['status', '--db', rt.dbPath, '--json']);
    expect(status.code).toBe(3);
    expect(JSON.parse(status.stdout)).toMatchObject({ up: false, reason: expect.stringContaining('control.json is missing'), deadLetters: { dead: 3 } });
    const tree = await runCli(['tree', '--db', rt.dbPath]);
    expect(tree.code).toBe(3);
    expect(tree.stdout).toMatch(/^runtime not running: stopped: stopped by SIGTERM; last snapshot taken/);
    expect(tree.stdout).toMatch(/\nlast \d+ supervisor events:\n/);
    const pause = await runCli(['pause', '--db', rt.dbPath]);
    expect(pause).toMatchObject({ code: 3, stdout: '' });
    expect(pause.stderr).toMatch(/^shoal pause: no runtime reachable: no control endpoint is published for /);

    const replay = await runCli(['dlq', 'replay', String(rt.letters[0]), '--db', rt.dbPath]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/^1 dead letter\(s\) marked for replay: \d+; no runtime is running: it will be replayed at the next start\n$/);
    const metrics = await runCli(['metrics', '--db', rt.dbPath, '--json']);
    expect(metrics.code).toBe(0);
    expect(JSON.parse(metrics.stdout)).toMatchObject({ source: 'store', flow: { enqueued: 4 } });
  }, 120_000);

  it('a runtime killed with SIGKILL leaves a stale address file, which is ignored (exit 3)', async () => {
    const rt = await startRuntime(0);
    rt.service.child.kill('SIGKILL');
    await rt.service.exited;
    expect(fs.existsSync(`${rt.dbPath}.control.json`)).toBe(true);
    const status = await runCli(['status', '--db', rt.dbPath]);
    expect(status.code).toBe(3);
    expect(status.stdout).toMatch(new RegExp(`^runtime {9}down: the runtime that published .*control\\.json \\(pid ${rt.service.child.pid}\\) is gone\n`));
  }, 120_000);
});

describe('usage and exit codes', () => {
  it('every new command explains its options, an example and the exit codes; bad usage is exit 2 in one line; --version', async () => {
    for (const cmd of ['status', 'tree', 'metrics', 'pause', 'resume', 'dlq', 'dead-letters', 'sending']) {
      const r = await runCli([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/Examples?:/);
      expect(r.stdout, cmd).toMatch(/Exit codes:/);
    }
    const bad = await runCli(['metrics', '--window', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe("shoal metrics: --window must be a duration such as 90s, 15m, 2h or 7d, got 'soon'");
    expect(await runCli(['sending', 'sideways'])).toMatchObject({ code: 2 });
    // An unexpected error is one line; --verbose adds its stack.
    const dir = temp.dir();
    const db = path.join(dir, 'shoal.db');
    temp.open({ path: db });
    fs.writeFileSync(`${db}.tree.json`, '{ not json');
    const broken = await runCli(['tree', '--db', db, '--events', '0']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^shoal: cannot read runtime snapshot .*shoal\.db\.tree\.json: .* \(--verbose for the stack\)\n$/);
    const verbose = await runCli(['tree', '--db', db, '--events', '0', '--verbose']);
    expect(verbose.stderr).toMatch(/^shoal: Error: cannot read runtime snapshot [\s\S]*\n {4}at /);
    const version = await runCli(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `shoal ${JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version}\n` });
  }, 120_000);
});
