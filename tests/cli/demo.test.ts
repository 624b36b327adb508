/** `shoal demo`, shortened, run as a user runs it: the mission's shape end to end, and an honest exit code. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, useTempStores } from '../persistence/helpers.ts';
import { BUILT_CLI } from './cli-process.ts';
import { openStore } from '../../persistence/connection.ts';

const temp = useTempStores();

function runDemo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUILT_CLI, 'demo', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('shoal demo (shortened)', () => {
  it('a poison request lands in the persisted dead-letter mailbox, is replayed after the service recovers, and the store shows nothing lost or applied twice', async () => {
    const { code, stdout } = await runDemo(['--quick', '--strategies', '4']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/4\. poison: the service fails every backtest of Demo-USDJPY-00/);
    expect(stdout).toMatch(/dead letter #\d+ \(persisted in shoal\.db\): 4 attempts, service error: Guardian process failure \(4 of 4 attempts used\)/);
    expect(stdout).toMatch(/dead letter #\d+: replayed \(the request completed\); request \S+ done/);
    expect(stdout).toMatch(/lost 0, applied twice 0\n {2}nothing lost, nothing applied twice/);
    // The work directory is gone, so nothing points at it.
    const dir = /^shoal demo in (.+)$/m.exec(stdout)![1];
    expect(fs.existsSync(dir)).toBe(false);
    expect(stdout).not.toMatch(/--db /);
    expect(stdout).toMatch(/temporary directory removed/);
  }, 180_000);

  it('with --dir the database stays, and the hints name a command that runs from here; --trace writes one OTLP JSON trace per request, the replay in its request\'s trace', async () => {
    const dir = temp.dir();
    const traceFile = path.join(dir, 'traces.json');
    const { code, stdout } = await runDemo(['--quick', '--strategies', '4', '--dir', dir, '--trace', traceFile]);
    expect(code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'shoal.db'))).toBe(true);
    const hint = /^ {2}(.+) tree --db (.+)$/m.exec(stdout)!;
    expect(hint[2]).toBe(path.join(dir, 'shoal.db'));
    expect(hint[1] === 'shoal' || hint[1] === 'node dist/cli/shoal.js').toBe(true);

    type OtlpSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes: { key: string; value: { stringValue?: string } }[] };
    const otlp = JSON.parse(fs.readFileSync(traceFile, 'utf8')) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
    const spans = otlp.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const store = openStore({ path: path.join(dir, 'shoal.db'), readonly: true });
    const requests = store.sqlite.prepare('select request_id as id, traceparent from oos_requests').all() as { id: string; traceparent: string }[];
    store.close();
    for (const r of requests) {
      const [, traceId, spanId] = r.traceparent.split('-');
      const trace = spans.filter((s) => s.traceId === traceId);
      // The stored traceparent is the enqueue span; every send and result of the request is its child.
      expect(trace.find((s) => s.spanId === spanId)?.name).toBe('create oos_requests');
      expect(trace.filter((s) => s.name.startsWith('send ')).length).toBeGreaterThan(0);
      expect(trace.filter((s) => s.name.startsWith('process ')).every((s) => s.parentSpanId === spanId)).toBe(true);
    }
    const replay = spans.find((s) => s.name === 'replay dead letter')!;
    expect(requests.some((r) => r.traceparent.split('-')[1] === replay.traceId)).toBe(true);
  }, 180_000);

  it('refuses a bad --strategies with one line and exit 2', async () => {
    const { code, stderr } = await runDemo(['--strategies', '1']);
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe("shoal demo: --strategies must be a whole number >= 4, got '1'");
  });
});
