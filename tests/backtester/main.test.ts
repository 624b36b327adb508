/** backtester/main.ts as a separate process. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBacktestResult } from '../../protocol/index.ts';
import { echoMetrics } from '../../backtester/engines.ts';
import { REFERENCE_REQUEST_FRAME, runtimeSide, type RuntimeSide } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'backtester/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const nl = stdout.indexOf('\n');
      if (nl !== -1) resolve(stdout.slice(0, nl));
    });
    void exited.then(() => reject(new Error(`exited before ready: ${stderr}`)));
  });
  line.catch(() => {}); // observed by the test that awaits it
  return { child, line, exited, output: () => ({ stdout, stderr }) };
}

let side: RuntimeSide | undefined;
afterEach(() => side?.close());

describe('backtester process', () => {
  it('prints one ready line, answers a request, and exits 0 on SIGTERM', async () => {
    side = await runtimeSide();
    const p = run(['--engine', 'echo', '--bind', 'tcp://127.0.0.1:0', '--results', side.resultEndpoint]);
    try {
      const ready = await p.line;
      const m = /^backtester listening on (tcp:\/\/127\.0\.0\.1:\d+), results to (\S+)$/.exec(ready);
      expect(m).not.toBeNull();
      expect(m![2]).toBe(side.resultEndpoint);
      side.connect(m![1]);
      await side.send(REFERENCE_REQUEST_FRAME);
      const r = decodeBacktestResult(await side.next());
      expect(r.ok && r.value).toMatchObject({ kind: 'success', requestId: '0193b0b2-...', trades: echoMetrics('Foo-OOS').trades });
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited).toBe(0);
    expect(p.output().stdout.trim().split('\n')).toHaveLength(1);
  });
});
