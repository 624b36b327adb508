import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { statSync } from 'node:fs';
import { ManualClock } from '../../../runtime/clock.ts';
import { validateCandleFile } from '../../../domain/candles/index.ts';
import type { CandleVerdict, ValidateFileOptions } from '../../../domain/candles/index.ts';
import { HEADER, T0, TempDir, candleRows, csv, validLines, withLine } from './fixtures.ts';

let dir: TempDir;
beforeAll(() => {
  dir = new TempDir();
});
afterAll(() => dir.remove());

const validate = (path: string, options: ValidateFileOptions = {}): Promise<CandleVerdict> => validateCandleFile(path, { clock: new ManualClock(), ...options });

/** Asserts the verdict fails with exactly one problem class, and returns that class. */
function onlyProblem(verdict: CandleVerdict, kind: string, count: number, lines: number[]) {
  expect(verdict.valid).toBe(false);
  expect(verdict.problems.map((p) => p.kind)).toEqual([kind]);
  const [problem] = verdict.problems;
  expect(problem.count).toBe(count);
  expect(problem.lines).toEqual(lines);
  return problem;
}

describe('a valid candle file', () => {
  it('passes and reports rows, first/last timestamp, bytes and columns', async () => {
    const path = dir.file(csv(validLines(10)));
    const v = await validate(path);
    expect(v).toMatchObject({
      valid: true,
      file: path,
      rows: 10,
      firstTimestamp: T0,
      lastTimestamp: T0 + 540,
      bytes: statSync(path).size,
      columns: ['timestamp', 'open', 'high', 'low', 'close', 'volume'],
      problems: [],
      warnings: [],
      durationMs: 0,
    });
  });

  it('passes with a UTF-8 BOM and CRLF line ends', async () => {
    const path = dir.file(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv(validLines(10), '\r\n'))]));
    const v = await validate(path);
    expect(v.valid).toBe(true);
    expect(v.rows).toBe(10);
    expect(v.columns[0]).toBe('timestamp');
    expect(v.lastTimestamp).toBe(T0 + 540);
  });

  it('passes without a volume column', async () => {
    const lines = ['timestamp,open,high,low,close', ...candleRows(5).map((r) => r.slice(0, r.lastIndexOf(',')))];
    const v = await validate(dir.file(csv(lines)));
    expect(v.valid).toBe(true);
    expect(v.columns).toEqual(['timestamp', 'open', 'high', 'low', 'close']);
  });

  it('passes without a final line break', async () => {
    const v = await validate(dir.file(validLines(3).join('\n')));
    expect(v).toMatchObject({ valid: true, rows: 3, lastTimestamp: T0 + 120 });
  });

  it('passes with extra columns after volume, whose values are not checked', async () => {
    const lines = [`${HEADER},source`, ...candleRows(3).map((r) => `${r},broker-x`)];
    const v = await validate(dir.file(csv(lines)));
    expect(v.valid).toBe(true);
    expect(v.columns).toEqual([...HEADER.split(','), 'source']);
  });

  it('accepts integers, exponent forms, a leading plus and trailing zeros as numbers', async () => {
    const lines = [HEADER, `${T0},1.476e2,147.7,147.5,+147.6,42`, `${T0 + 60},147.6,147.7,147.5,147.60,0`];
    expect((await validate(dir.file(csv(lines)))).valid).toBe(true);
  });

  it('yields a JSON-serialisable verdict', async () => {
    const v = await validate(dir.file(csv(withLine(validLines(), 4, `${T0 + 120},abc,1,1,1,1`))));
    expect(JSON.parse(JSON.stringify(v))).toEqual(v);
  });
});

describe('gate checks, each with a fixture that fails only that check', () => {
  it('unreadable: a missing file', async () => {
    const v = await validate(`${dir.path}/missing.csv`);
    const p = onlyProblem(v, 'unreadable', 1, []);
    expect(p.examples[0]).toContain('ENOENT');
    expect(v.rows).toBe(0);
  });

  it('unreadable: a directory', async () => {
    const p = onlyProblem(await validate(dir.path), 'unreadable', 1, []);
    expect(p.examples[0]).toContain('not a regular file');
  });

  it('empty: a file of 0 bytes', async () => {
    onlyProblem(await validate(dir.file('')), 'empty', 1, []);
  });

  it('empty: a file holding only a BOM', async () => {
    onlyProblem(await validate(dir.file(Buffer.from([0xef, 0xbb, 0xbf]))), 'empty', 1, []);
  });

  it('header: a file whose first line is data', async () => {
    const v = await validate(dir.file(csv(candleRows(4))));
    const p = onlyProblem(v, 'header', 1, [1]);
    expect(p.examples[0]).toMatch(/^line 1: expected "timestamp,open,high,low,close/);
    expect(v.rows).toBe(3);
  });

  it('header: columns in another order', async () => {
    onlyProblem(await validate(dir.file(csv(withLine(validLines(), 1, 'timestamp,high,open,low,close,volume')))), 'header', 1, [1]);
  });

  it('header: names in another case or with spaces', async () => {
    onlyProblem(await validate(dir.file(csv(withLine(validLines(), 1, 'Timestamp,Open,High,Low,Close,Volume')))), 'header', 1, [1]);
    onlyProblem(await validate(dir.file(csv(withLine(validLines(), 1, 'timestamp, open,high,low,close,volume')))), 'header', 1, [1]);
  });

  it('header: an extra column in the place of volume', async () => {
    const lines = ['timestamp,open,high,low,close,spread', ...candleRows(3)];
    onlyProblem(await validate(dir.file(csv(lines))), 'header', 1, [1]);
  });

  it('header: a known column repeated after volume', async () => {
    const lines = [`${HEADER},close`, ...candleRows(3).map((r) => `${r},1`)];
    onlyProblem(await validate(dir.file(csv(lines))), 'header', 1, [1]);
  });

  it('no-rows: a header and nothing else', async () => {
    onlyProblem(await validate(dir.file(`${HEADER}\n`)), 'no-rows', 1, []);
    onlyProblem(await validate(dir.file(HEADER)), 'no-rows', 1, []);
  });

  it('column-count: rows with too few or too many fields', async () => {
    let lines = withLine(validLines(), 3, `${T0 + 60},147.6,147.7,147.5,147.6`);
    lines = withLine(lines, 7, `${T0 + 300},147.6,147.7,147.5,147.6,10,11`);
    const p = onlyProblem(await validate(dir.file(csv(lines))), 'column-count', 2, [3, 7]);
    expect(p.examples).toEqual(['line 3: 5 fields, the header has 6', 'line 7: 7 fields, the header has 6']);
  });

  it('not-a-number: abc, 1.2.3, empty, NaN and inf are not finite numbers', async () => {
    let lines = validLines(10);
    lines = withLine(lines, 2, `${T0},abc,147.7,147.5,147.6,1`);
    lines = withLine(lines, 3, `${T0 + 60},147.6,1.2.3,147.5,147.6,1`);
    lines = withLine(lines, 4, `${T0 + 120},147.6,147.7,,147.6,1`);
    lines = withLine(lines, 5, `${T0 + 180},147.6,147.7,147.5,NaN,1`);
    lines = withLine(lines, 6, `${T0 + 240},147.6,147.7,147.5,147.6,inf`);
    lines = withLine(lines, 8, `${T0 + 360},147.6,147.7,147.5,147.6,1e999`);
    const p = onlyProblem(await validate(dir.file(csv(lines))), 'not-a-number', 6, [2, 3, 4, 5, 6]);
    expect(p.examples.slice(0, 3)).toEqual([
      'line 2: open "abc" is not a finite number',
      'line 3: high "1.2.3" is not a finite number',
      'line 4: low "" is not a finite number',
    ]);
  });

  it('not-a-number: a bad timestamp is one count for the row and names the column', async () => {
    const p = onlyProblem(await validate(dir.file(csv(withLine(validLines(), 4, 'x,y,147.7,147.5,147.6,1')))), 'not-a-number', 1, [4]);
    expect(p.examples[0]).toBe('line 4: timestamp "x", open "y" are not finite numbers');
  });

  it('timestamp-not-integer: fractional or exponent-form timestamps', async () => {
    let lines = withLine(validLines(), 3, `${T0 + 60}.5,147.6,147.7,147.5,147.6,1`);
    lines = withLine(lines, 5, `1.70000018e9,147.6,147.7,147.5,147.6,1`);
    const p = onlyProblem(await validate(dir.file(csv(lines))), 'timestamp-not-integer', 2, [3, 5]);
    expect(p.examples[0]).toBe(`line 3: timestamp "${T0 + 60}.5" is not an integer`);
  });

  it('timestamp-not-seconds: a millisecond timestamp column is not a valid M1 file, and is said to be milliseconds', async () => {
    // Otherwise valid: strictly increasing integers, one minute (60,000 ms) apart, a weekend between.
    const ms = [HEADER, ...candleRows(8).map((r, i) => r.replace(/^\d+/, String((T0 + 60 * i + (i >= 4 ? 48 * 3600 : 0)) * 1000)))];
    const v = await validate(dir.file(csv(ms)), { startTime: T0, endTime: T0 + 60 });
    // One count per row; no window or gap findings measured in the wrong unit.
    const p = onlyProblem(v, 'timestamp-not-seconds', 8, [2, 3, 4, 5, 6]);
    expect(p.examples[0]).toBe(`line 2: timestamp ${T0 * 1000} is too large for Unix seconds: it looks like milliseconds (2023-11-14T22:13:20Z)`);
    expect(v.warnings).toEqual([]);
  });

  it('timestamp-duplicate: a row repeating the previous timestamp', async () => {
    const lines = withLine(validLines(), 6, candleRows(10)[3]);
    const p = onlyProblem(await validate(dir.file(csv(lines))), 'timestamp-duplicate', 1, [6]);
    expect(p.examples[0]).toBe(`line 6: timestamp ${T0 + 180} repeats line 5`);
  });

  it('timestamp-out-of-order: a row earlier than the previous one, reported apart from duplicates', async () => {
    const rows = candleRows(10);
    const lines = [HEADER, ...rows.slice(0, 4), rows[5], rows[4], ...rows.slice(6)];
    const p = onlyProblem(await validate(dir.file(csv(lines))), 'timestamp-out-of-order', 1, [7]);
    expect(p.examples[0]).toBe(`line 7: timestamp ${T0 + 240} is not after ${T0 + 300}`);
  });

  it('non-positive-price: a zero or negative price', async () => {
    let lines = withLine(validLines(), 3, `${T0 + 60},147.6,147.7,0,147.6,1`);
    lines = withLine(lines, 4, `${T0 + 120},-1,-1,-1,-1,1`);
    const p = onlyProblem(await validate(dir.file(csv(lines))), 'non-positive-price', 2, [3, 4]);
    expect(p.examples).toEqual(['line 3: low 0 is not positive', 'line 4: open -1 is not positive']);
  });

  it('ohlc-inconsistent: low above open or close above high', async () => {
    let lines = withLine(validLines(), 3, `${T0 + 60},147.6,147.7,147.65,147.68,1`);
    lines = withLine(lines, 9, `${T0 + 420},147.6,147.7,147.5,147.71,1`);
    lines = withLine(lines, 10, `${T0 + 480},147.6,147.5,147.7,147.6,1`);
    const p = onlyProblem(await validate(dir.file(csv(lines))), 'ohlc-inconsistent', 3, [3, 9, 10]);
    expect(p.examples).toEqual(['line 3: low 147.65 is above open 147.6', 'line 9: close 147.71 is above high 147.7', 'line 10: low 147.7 is above high 147.5']);
  });

  it('negative-volume: a negative tick volume', async () => {
    onlyProblem(await validate(dir.file(csv(withLine(validLines(), 5, `${T0 + 180},147.6,147.7,147.5,147.6,-3`)))), 'negative-volume', 1, [5]);
  });

  it('line-too-long: a line over maxLineBytes is a problem and is not parsed', async () => {
    const long = `${T0 + 120},${'1'.repeat(200)}`;
    const v = await validate(dir.file(csv(withLine(validLines(), 4, long))), { maxLineBytes: 128 });
    onlyProblem(v, 'line-too-long', 1, [4]);
    expect(v.rows).toBe(10);
  });

  it('line-too-long: lines ending in CR alone make one line of the rest of the file; the message says so', async () => {
    const path = dir.file(`${HEADER}\n${candleRows(40).join('\r')}`);
    const v = await validate(path, { maxLineBytes: 128 });
    const p = onlyProblem(v, 'line-too-long', 1, [2]);
    const rest = statSync(path).size - HEADER.length - 1;
    expect(p.examples).toEqual([`line 2: ${rest.toLocaleString('en-US')} bytes, longer than 128; it holds CR characters: only LF or CRLF end a line`]);
    // Read to the end, but only the header was checked.
    expect(v).toMatchObject({ rows: 1, bytes: statSync(path).size, uncheckedBytes: rest });
  });

  it('line-too-long: a CRLF line end is not taken for CR characters inside the line', async () => {
    const v = await validate(dir.file(csv(withLine(validLines(), 4, `${T0 + 120},${'1'.repeat(200)}`), '\r\n')), { maxLineBytes: 128 });
    expect(onlyProblem(v, 'line-too-long', 1, [4]).examples).toEqual([`line 4: ${String(T0 + 120).length + 1 + 200} bytes, longer than 128`]);
  });

  it('every byte checked is counted as checked: none unchecked in a file with bad rows, all rows unchecked after a bad header', async () => {
    const bad = await validate(dir.file(csv(withLine(validLines(), 4, `${T0 + 120},abc,1,1,1,1`))));
    expect(bad.uncheckedBytes).toBe(0);
    const path = dir.file(csv(['timestamp;open;high;low;close', '1;2;3;4;5', '2;3;4;5;6']));
    expect((await validate(path)).uncheckedBytes).toBe('1;2;3;4;5'.length + '2;3;4;5;6'.length);
  });

  it('window-not-covered: data starting after the requested start_time', async () => {
    const p = onlyProblem(await validate(dir.file(csv(validLines())), { startTime: T0 - 60, endTime: T0 + 300 }), 'window-not-covered', 1, []);
    expect(p.examples[0]).toBe(`requested start_time ${T0 - 60} is before the first timestamp ${T0}`);
  });

  it('window-not-covered: data ending before the requested end_time', async () => {
    const p = onlyProblem(await validate(dir.file(csv(validLines())), { startTime: T0, endTime: T0 + 600 }), 'window-not-covered', 1, []);
    expect(p.examples[0]).toBe(`requested end_time ${T0 + 600} is after the last timestamp ${T0 + 540}`);
  });

  it('window-not-covered: a start-only window after the data, and an end-only window before it', async () => {
    const path = dir.file(csv(validLines()));
    onlyProblem(await validate(path, { startTime: T0 + 600 }), 'window-not-covered', 1, []);
    onlyProblem(await validate(path, { endTime: T0 - 60 }), 'window-not-covered', 1, []);
  });
});

describe('window coverage', () => {
  it('is satisfied when first <= start_time and last >= end_time, bounds included', async () => {
    const path = dir.file(csv(validLines()));
    expect((await validate(path, { startTime: T0, endTime: T0 + 540 })).valid).toBe(true);
    expect((await validate(path, { startTime: T0 + 60, endTime: T0 + 480 })).valid).toBe(true);
    expect((await validate(path, { startTime: T0 + 30 })).valid).toBe(true);
    expect((await validate(path, { endTime: T0 + 30 })).valid).toBe(true);
  });

  it('is recorded in the verdict', async () => {
    const v = await validate(dir.file(csv(validLines())), { startTime: T0, endTime: T0 + 540 });
    expect(v.window).toEqual({ startTime: T0, endTime: T0 + 540 });
  });

  it('is not checked when there are no rows (no-rows says it)', async () => {
    onlyProblem(await validate(dir.file(`${HEADER}\n`), { startTime: T0 }), 'no-rows', 1, []);
  });
});

describe('warnings', () => {
  const gapLines = (gapSeconds: number): string[] => [HEADER, ...candleRows(3), ...candleRows(3, T0 + 120 + gapSeconds)];

  it('a gap longer than the default 72 h is a warning, not a problem', async () => {
    const v = await validate(dir.file(csv(gapLines(73 * 3600))));
    expect(v.valid).toBe(true);
    expect(v.maxGapHours).toBe(72);
    expect(v.warnings).toEqual([{ kind: 'gap', count: 1, lines: [5], examples: [`line 5: 73 h gap after timestamp ${T0 + 120} (line 4)`] }]);
  });

  it('a 48 h weekend gap is not a warning by default', async () => {
    expect((await validate(dir.file(csv(gapLines(48 * 3600))))).warnings).toEqual([]);
  });

  it('maxGapHours sets the threshold', async () => {
    const v = await validate(dir.file(csv(gapLines(2 * 3600))), { maxGapHours: 1 });
    expect(v.warnings.map((w) => [w.kind, w.count, w.lines])).toEqual([['gap', 1, [5]]]);
  });

  it('a gap of exactly the threshold is not a warning', async () => {
    expect((await validate(dir.file(csv(gapLines(3600))), { maxGapHours: 1 })).warnings).toEqual([]);
  });

  it('blank lines are warnings and are not rows', async () => {
    const lines = [...validLines(4).slice(0, 3), '', ...validLines(4).slice(3), ''];
    const v = await validate(dir.file(csv(lines)));
    expect(v.valid).toBe(true);
    expect(v.rows).toBe(4);
    expect(v.warnings).toEqual([{ kind: 'blank-line', count: 2, lines: [4, 7], examples: ['line 4: blank line', 'line 7: blank line'] }]);
  });
});

describe('examples and counts', () => {
  it('every occurrence is counted but only maxExamples examples are kept', async () => {
    const rows = candleRows(30);
    const lines = [HEADER, ...rows.map((r, i) => (i % 2 === 1 ? r.replace(/,\d+$/, ',-1') : r))];
    const v = await validate(dir.file(csv(lines)), { maxExamples: 3 });
    const p = onlyProblem(v, 'negative-volume', 15, [3, 5, 7]);
    expect(p.examples).toHaveLength(3);
  });

  it('classes are listed in a fixed order, each once', async () => {
    let lines = withLine(validLines(), 3, `${T0 + 60},147.6,147.7,147.5,147.6,-1`);
    lines = withLine(lines, 2, `${T0},147.6,147.7,147.5,abc,1`);
    const v = await validate(dir.file(csv(lines)), { endTime: T0 + 6000 });
    expect(v.problems.map((p) => p.kind)).toEqual(['not-a-number', 'negative-volume', 'window-not-covered']);
  });
});

describe('chunk boundaries', () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  const fixtures: Record<string, Buffer> = {
    valid: Buffer.from(csv(validLines(12))),
    'bom+crlf': Buffer.concat([bom, Buffer.from(csv(validLines(12), '\r\n'))]),
    'no final newline': Buffer.from(validLines(12).join('\n')),
    'every problem': Buffer.from(
      csv([
        HEADER,
        ...candleRows(3),
        `${T0 + 120},147.6,147.7,147.5,147.6,1`,
        `${T0 + 60},147.6,147.7,147.5,147.6,1`,
        `${T0 + 180},abc,147.7,147.5,147.6,1`,
        `${T0 + 240},147.6,147.7,147.5`,
        '',
        `${T0 + 300}.5,147.6,147.7,147.8,147.6,-2`,
        `${T0 + 500_000},147.6,147.7,147.5,147.6,1`,
        `${T0 + 500_060},${'9'.repeat(100)},147.7,147.5,147.6,1`,
      ]),
    ),
    'cr-only line ends': Buffer.from(`${HEADER}\n${candleRows(12).join('\r')}\r`),
    'crlf, an over-long line': Buffer.from(csv([...validLines(4), `${T0 + 300},${'1'.repeat(200)}`], '\r\n')),
    'milliseconds': Buffer.from(csv([HEADER, ...candleRows(5).map((r) => r.replace(/^\d+/, (t) => `${t}000`))])),
  };

  for (const [name, content] of Object.entries(fixtures)) {
    it(`rows split across reads give the same verdict as whole reads (${name})`, async () => {
      const path = dir.file(content);
      const whole = await validate(path, { maxLineBytes: 96 });
      for (const chunkSize of [1, 2, 3, 5, 7, 16, 45, 64, 97]) {
        expect({ chunkSize, verdict: await validate(path, { chunkSize, maxLineBytes: 96 }) }).toEqual({ chunkSize, verdict: whole });
      }
    });
  }

  it('the every-problem fixture reports each class at the expected lines', async () => {
    const v = await validate(dir.file(fixtures['every problem']), { chunkSize: 7, maxLineBytes: 96 });
    expect(v.problems.map((p) => [p.kind, p.count, p.lines])).toEqual([
      ['line-too-long', 1, [12]],
      ['column-count', 1, [8]],
      ['not-a-number', 1, [7]],
      ['timestamp-not-integer', 1, [10]],
      ['timestamp-duplicate', 1, [5]],
      ['timestamp-out-of-order', 1, [6]],
      ['ohlc-inconsistent', 1, [10]],
      ['negative-volume', 1, [10]],
    ]);
    expect(v.warnings.map((w) => [w.kind, w.count, w.lines])).toEqual([
      ['gap', 1, [11]],
      ['blank-line', 1, [9]],
    ]);
  });
});

describe('options', () => {
  it('rejects an inverted window, a non-integer time and a non-positive gap threshold', async () => {
    const path = dir.file(csv(validLines()));
    await expect(validate(path, { startTime: T0 + 60, endTime: T0 })).rejects.toThrow(RangeError);
    await expect(validate(path, { startTime: 1.5 })).rejects.toThrow(/startTime/);
    await expect(validate(path, { maxGapHours: 0 })).rejects.toThrow(/maxGapHours/);
    await expect(validate(path, { chunkSize: 0 })).rejects.toThrow(/chunkSize/);
  });
});
