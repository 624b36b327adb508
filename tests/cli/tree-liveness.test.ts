import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { liveness, MIN_STALE_MS, NOT_RUNNING, STALE_AFTER_INTERVALS } from '../../cli/tree.ts';
import { main } from '../../cli/main.ts';
import { readSnapshot, writeSnapshot, type RuntimeSnapshot } from '../../app/snapshot-file.ts';
import { exited, spawnFixture, useTempStores, waitForLine } from '../persistence/helpers.ts';
import { freePort, until } from '../app/pipeline-harness.ts';
import { runCli } from './cli-process.ts';

const temp = useTempStores();

const NOW = 1_800_000_000_000;
const tree: RuntimeSnapshot['tree'] = [
  { path: '/shoal', kind: 'supervisor', strategy: 'one_for_one', status: 'running', restartCount: 0, restartWindow: [], mailboxLength: 0, children: [
    { path: '/shoal/pipeline', kind: 'supervisor', strategy: 'rest_for_one', status: 'running', restartCount: 1, restartWindow: [], mailboxLength: 0, children: [] },
  ] },
];
const snap = (over: Partial<RuntimeSnapshot> = {}): RuntimeSnapshot => ({ at: NOW, pid: 4242, intervalMs: 2_000, stats: {}, tree, ...over });
const alive = () => true;
const gone = () => false;

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, sink: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) } };
}

describe('shoal tree: is the runtime running?', () => {
  it('a fresh snapshot of a live process is running; a stopped one, a gone pid or a stale snapshot is not', () => {
    expect(liveness(snap(), NOW + 1_000, alive)).toEqual({ running: true });
    expect(liveness(snap({ stopped: 'stopped by the host' }), NOW, alive)).toEqual({ running: false, reason: 'stopped: stopped by the host' });
    expect(liveness(snap(), NOW, gone)).toMatchObject({ running: false, reason: expect.stringMatching(/^process 4242 is gone/) });
    // Stale: the limit is a few intervals, never under the floor.
    const limit = Math.max(STALE_AFTER_INTERVALS * 2_000, MIN_STALE_MS);
    expect(liveness(snap(), NOW + limit, alive).running).toBe(true);
    expect(liveness(snap(), NOW + limit + 1, alive)).toMatchObject({ running: false, reason: expect.stringMatching(/snapshot is .* old/) });
    expect(liveness(snap({ intervalMs: 60_000 }), NOW + 4 * 60_000, alive).running).toBe(true);
    expect(liveness(snap({ intervalMs: 60_000 }), NOW + 5 * 60_000 + 1, alive).running).toBe(false);
    // A snapshot from a build that did not record its interval: the default interval is assumed.
    expect(liveness(snap({ intervalMs: undefined }), NOW + MIN_STALE_MS + 1, alive).running).toBe(false);
  });

  it('a stale snapshot of a live pid is shown as not running, every node down, with exit code 3', async () => {
    const dbPath = path.join(temp.dir(), 'shoal.db');
    temp.open({ path: dbPath });
    // This process is alive, but its "runtime" last wrote a minute ago: a hung runtime or a reused pid.
    writeSnapshot(dbPath, snap({ pid: process.pid, at: Date.now() - 60_000 }));
    const { out, sink } = capture();
    expect(await main(['tree', '--db', dbPath], sink)).toBe(NOT_RUNNING);
    expect(out.stdout).toMatch(/^runtime not running: its snapshot is 6\d\.\d s old, over 10\.0 s though it is rewritten every 2\.0 s: process \d+ is hung, or its pid now belongs to another program;/);
    expect(out.stdout).toMatch(/\/shoal {2}\[down \(was running\), supervisor one_for_one/);
    expect(out.stdout).not.toMatch(/\[running/);
    const json = capture();
    expect(await main(['tree', '--db', dbPath, '--json'], json.sink)).toBe(NOT_RUNNING);
    expect(JSON.parse(json.out.stdout).liveness).toMatchObject({ running: false });
  });

  it('a database no runtime has used says so and exits 3', async () => {
    const dbPath = path.join(temp.dir(), 'shoal.db');
    temp.open({ path: dbPath });
    const { out, sink } = capture();
    expect(await main(['tree', '--db', dbPath, '--events', '0'], sink)).toBe(NOT_RUNNING);
    expect(out.stdout).toBe(`runtime not running: no runtime snapshot for ${dbPath}: the runtime has not run with this database yet\n`);
  });

  it('run as a user runs it, shows a live runtime as running, and the same runtime after SIGKILL as not running (exit 3)', async () => {
    const dbPath = path.join(temp.dir(), 'shoal.db');
    const requestEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    const resultEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    const runtime = spawnFixture('../../app/fixtures/runtime-process.ts', [dbPath, requestEndpoint, resultEndpoint]);
    try {
      await waitForLine(runtime, 'running', 60_000);
      await until(() => readSnapshot(dbPath)?.pid === runtime.pid, 'the runtime to publish its snapshot');
      const live = await runCli(['tree', '--db', dbPath, '--events', '0']);
      expect(live).toMatchObject({ code: 0, stderr: '' });
      expect(live.stdout).toMatch(new RegExp(`^runtime running, pid ${runtime.pid}, snapshot taken`));
      expect(live.stdout).toMatch(/\/shoal {2}\[running, supervisor one_for_one/);
    } finally {
      runtime.kill('SIGKILL');
    }
    expect((await exited(runtime)).signal).toBe('SIGKILL');
    // The killed runtime's last snapshot still says "running" inside; the inspector must not believe it.
    expect(readSnapshot(dbPath)?.tree[0].status).toBe('running');
    const dead = await runCli(['tree', '--db', dbPath]);
    expect(dead.code).toBe(NOT_RUNNING);
    expect(dead.stdout).toMatch(new RegExp(`^runtime not running: process ${runtime.pid} is gone \\(killed or crashed without stopping\\); last snapshot taken`));
    expect(dead.stdout).toMatch(/\/shoal {2}\[down \(was running\), supervisor one_for_one/);
    expect(dead.stdout).not.toMatch(/\[running/);
    expect(dead.stdout).toMatch(/last \d+ supervisor events:/);
  }, 120_000);
});
