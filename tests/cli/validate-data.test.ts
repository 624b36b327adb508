import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { validateDataCommand } from '../../cli/validate-data.ts';
import type { CandleVerdict } from '../../domain/candles/index.ts';
import { HEADER, T0, TempDir, candleRows, csv, validLines, withLine } from '../domain/candles/fixtures.ts';
import { runCli } from './cli-process.ts';

let dir: TempDir;
let valid: string;
let invalid: string;
beforeAll(() => {
  dir = new TempDir();
  valid = dir.file(csv(validLines(10)));
  invalid = dir.file(csv(withLine(validLines(10), 5, `${T0 + 60},147.6,147.7,147.5,147.6,1`)));
});
afterAll(() => dir.remove());

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await validateDataCommand(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

describe('shoal validate-data', () => {
  it('exits 0 and prints VALID with the row count for a valid file', async () => {
    const r = await run(valid);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^VALID ${valid}\\n`));
    expect(r.stdout).toContain('rows      10');
    expect(r.stderr).toBe('');
  });

  it('exits 1 and prints each problem class with its example lines for an invalid file', async () => {
    const r = await run(invalid);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^INVALID /);
    expect(r.stdout).toContain('timestamp-out-of-order: 1');
    expect(r.stdout).toContain(`line 5: timestamp ${T0 + 60} is not after ${T0 + 120}`);
  });

  it('exits 2 for a missing file and says why', async () => {
    const r = await run(`${dir.path}/missing.csv`);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('unreadable: 1');
    expect(r.stdout).toContain('ENOENT');
  });

  it('exits 2 with the usage on stderr for bad usage', async () => {
    for (const argv of [[], ['--json'], [valid, valid], [valid, '--bogus'], [valid, '--start'], [valid, '--start', '1.5'], [valid, '--max-gap-hours', '0'], [valid, '--start', '20', '--end', '10']]) {
      const r = await run(...argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.stderr).toContain('Usage: shoal validate-data FILE');
      expect(r.stdout).toBe('');
    }
  });

  it('--help prints the usage and exits 0', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: shoal validate-data FILE [--json] [--start UNIX] [--end UNIX] [--max-gap-hours H]');
  });

  it('--json prints the verdict as JSON', async () => {
    const r = await run(invalid, '--json');
    expect(r.code).toBe(1);
    const verdict = JSON.parse(r.stdout) as CandleVerdict;
    expect(verdict).toMatchObject({ valid: false, file: invalid, rows: 10, firstTimestamp: T0 });
    expect(verdict.problems).toEqual([{ kind: 'timestamp-out-of-order', count: 1, lines: [5], examples: [`line 5: timestamp ${T0 + 60} is not after ${T0 + 120}`] }]);
  });

  it('--start and --end check window coverage (both --flag value and --flag=value forms)', async () => {
    expect((await run(valid, '--start', String(T0), '--end', String(T0 + 540))).code).toBe(0);
    const r = await run(valid, '--json', `--start=${T0 - 60}`);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as CandleVerdict).problems.map((p) => p.kind)).toEqual(['window-not-covered']);
  });

  it('--max-gap-hours sets the gap warning threshold; warnings keep the exit code 0', async () => {
    const gappy = dir.file(csv([HEADER, ...candleRows(3), ...candleRows(3, T0 + 120 + 2 * 3600)]));
    const r = await run(gappy, '--json', '--max-gap-hours', '1');
    expect(r.code).toBe(0);
    const verdict = JSON.parse(r.stdout) as CandleVerdict;
    expect(verdict.maxGapHours).toBe(1);
    expect(verdict.warnings.map((w) => [w.kind, w.lines])).toEqual([['gap', [5]]]);
    expect((await run(gappy, '--json')).stdout).toContain('"warnings": []');
  });

  it('run as a user runs it: a millisecond timestamp column is INVALID and the output says the timestamps are milliseconds', async () => {
    const ms = dir.file(csv([HEADER, ...candleRows(20).map((r) => r.replace(/^\d+/, (t) => `${t}000`))]));
    const r = await runCli(['validate-data', ms]);
    expect(r).toMatchObject({ code: 1, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^INVALID ${ms}\\n`));
    expect(r.stdout).toContain(`first     ${T0}000 (not Unix seconds)`);
    expect(r.stdout).toContain('timestamp-not-seconds: 20');
    expect(r.stdout).toContain(`line 2: timestamp ${T0}000 is too large for Unix seconds: it looks like milliseconds (2023-11-14T22:13:20Z)`);
  });

  it('run as a user runs it: a file rejected at line 2 says how much of what it read was checked, not only the file size', async () => {
    // CR-only line ends: after the header, the whole ~4 MB file is one line.
    const rows = candleRows(100_000).join('\r');
    const file = dir.file(`${HEADER}\n${rows}`);
    const r = await runCli(['validate-data', file]);
    expect(r.code).toBe(1);
    const size = ((HEADER.length + 1 + rows.length) / 1e6).toFixed(1);
    expect(r.stdout).toMatch(new RegExp(`\\n  read      ${size} MB in \\d+\\.\\d\\d s, of which only ${HEADER.length + 1} bytes checked \\(1 line too long to check\\)\\n`));
    expect(r.stdout).toContain(`line 2: ${rows.length.toLocaleString('en-US')} bytes, longer than 65536; it holds CR characters: only LF or CRLF end a line`);
    expect(r.stdout).not.toMatch(/MB\/s/);
  });
});
