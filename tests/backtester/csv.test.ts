import { utimesSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toBars } from '../../backtester/candles.ts';
import { CandleCsvError, CandleStore, parseCandleCsv } from '../../backtester/csv.ts';
import { tempDir, type TempDir } from './helpers.ts';

describe('CSV parsing', () => {
  it('reads the host format into bars', () => {
    const c = parseCandleCsv('timestamp,open,high,low,close,volume\n1727772840,147.602,147.602,147.574,147.599,42\n1727772900,147.599,147.61,147.59,147.6,7\n');
    expect(toBars(c)).toEqual([
      { timestamp: 1727772840, open: 147.602, high: 147.602, low: 147.574, close: 147.599, volume: 42 },
      { timestamp: 1727772900, open: 147.599, high: 147.61, low: 147.59, close: 147.6, volume: 7 },
    ]);
  });

  it('accepts a BOM, CRLF line ends, blank lines, no trailing newline and a header without volume', () => {
    const c = parseCandleCsv('\ufefftimestamp,open,high,low,close\r\n\r\n60,1,2,0.5,1.5\r\n120,1.5,2,1,1');
    expect(toBars(c).map((b) => [b.timestamp, b.close, b.volume])).toEqual([[60, 1.5, 0], [120, 1, 0]]);
  });

  it('a row that is not numbers fails with its 1-based line number (header = line 1)', () => {
    expect(() => parseCandleCsv('timestamp,open,high,low,close,volume\n60,1,1,1,1,1\n120,1,x,1,1,1\n')).toThrow(/^line 3: high is not a number/);
  });

  it('timestamps must be integers and strictly ascending', () => {
    expect(() => parseCandleCsv('60.5,1,1,1,1,1\n')).toThrow(CandleCsvError);
    expect(() => parseCandleCsv('120,1,1,1,1,1\n60,1,1,1,1,1\n')).toThrow(/line 2: timestamp 60 is not after/);
  });

  it('a header with other columns is refused', () => {
    expect(() => parseCandleCsv('time,open,high,low,close\n60,1,1,1,1\n')).toThrow(/line 1: header/);
  });

  it('a header-only file has no rows', () => {
    expect(parseCandleCsv('timestamp,open,high,low,close,volume\n').length).toBe(0);
  });
});

describe('CandleStore', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it('a missing or empty file has no data', async () => {
    const store = new CandleStore();
    expect((await store.load(`${dir.path}/nope.csv`)).kind).toBe('no-data');
    expect((await store.load(dir.file('empty.csv', ''))).kind).toBe('no-data');
  });

  it('a malformed file or a directory is bad data', async () => {
    const store = new CandleStore();
    expect(await store.load(dir.file('bad.csv', 'timestamp,open,high,low,close\n60,1,1\n'))).toEqual({ kind: 'bad', detail: 'line 2: expected 5 fields, got 3' });
    expect((await store.load(dir.path)).kind).toBe('bad');
  });

  it('a file is parsed once per path and mtime; a changed file is parsed again', async () => {
    const store = new CandleStore();
    const p = dir.file('a.csv', 'timestamp,open,high,low,close\n60,1,1,1,1\n');
    await Promise.all([store.load(p), store.load(p)]);
    await store.load(p);
    expect(store.parses).toBe(1);
    dir.file('a.csv', 'timestamp,open,high,low,close\n60,1,1,1,1\n120,2,2,2,2\n');
    utimesSync(p, new Date(), new Date(Date.now() + 5000));
    const again = await store.load(p);
    expect(store.parses).toBe(2);
    expect(again.kind === 'ok' && again.candles.length).toBe(2);
  });
});
