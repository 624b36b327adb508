/** Small local candle fixtures for the data gate tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HEADER = 'timestamp,open,high,low,close,volume';
export const T0 = 1_700_000_000;

/** `n` consistent M1 rows one minute apart from `start`: `ts,open,high,low,close,volume`. */
export function candleRows(n: number, start = T0): string[] {
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const open = 147.6 + (i % 7) * 0.01;
    const close = open + 0.005;
    rows.push(`${start + 60 * i},${open.toFixed(3)},${(close + 0.004).toFixed(3)},${(open - 0.003).toFixed(3)},${close.toFixed(3)},${10 + i}`);
  }
  return rows;
}

/** Lines joined with `eol`, with a final line break. */
export function csv(lines: readonly string[], eol = '\n'): string {
  return lines.map((l) => l + eol).join('');
}

/** The standard valid file: header + 10 rows, so row i (0-based) is on line i + 2. */
export function validLines(n = 10): string[] {
  return [HEADER, ...candleRows(n)];
}

/** Returns a copy of `lines` with line number `line` (1-based, header = 1) replaced. */
export function withLine(lines: readonly string[], line: number, text: string): string[] {
  const copy = [...lines];
  copy[line - 1] = text;
  return copy;
}

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'shoal-candles-'));
  private seq = 0;

  /** Writes `content` to a new file in the directory and returns its path. */
  file(content: string | Buffer, name = `f${++this.seq}.csv`): string {
    const path = join(this.path, name);
    writeFileSync(path, content);
    return path;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
