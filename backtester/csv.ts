/**
 * Loading the host's M1 CSV (`timestamp,open,high,low,close,volume`, ascending integer Unix
 * seconds) into columns, and a cache of parsed files keyed by path, mtime and size.
 *
 * Parser rules (a subset of the data gate's, enough never to misread a file):
 *   - an optional UTF-8 BOM, LF or CRLF line ends, blank lines skipped;
 *   - a first line that starts with a letter is the header: its first five columns must be
 *     `timestamp,open,high,low,close` (then optionally `volume`, then anything); a file whose
 *     first line is numeric is read positionally with the same columns;
 *   - every row has at least the five (six when the header names volume) fields, each a plain
 *     decimal number, the timestamp an integer strictly after the previous row's;
 *   - the first bad row fails the whole file (`CSV load error: line N: ...`, 1-based, header = 1).
 * A file with no rows (empty or header only) has no data, which the engine reports as
 * `No data available`, like a missing file.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { emptyCandles, sliceCandles, type Candles } from './candles.ts';

export class CandleCsvError extends Error {
  override readonly name = 'CandleCsvError';
  constructor(
    readonly line: number | undefined,
    readonly detail: string,
  ) {
    super(line === undefined ? detail : `line ${line}: ${detail}`);
  }
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const COLUMNS = ['timestamp', 'open', 'high', 'low', 'close'] as const;

function field(text: string, line: number, name: string): number {
  const v = Number(text);
  if (!NUMBER.test(text) || !Number.isFinite(v)) throw new CandleCsvError(line, `${name} is not a number: '${text.length > 30 ? text.slice(0, 30) + '...' : text}'`);
  return v;
}

function countLines(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Parses CSV text into columns. Throws CandleCsvError on the first bad line. */
export function parseCandleCsv(input: string): Candles {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const out = emptyCandles(countLines(text));
  let rows = 0;
  let lineNo = 0;
  let pos = 0;
  let withVolume: boolean | undefined;
  let prev = -Infinity;
  const fields: string[] = [];
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = text.length;
    const lineEnd = end > pos && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    lineNo++;
    const start = pos;
    pos = end + 1;
    if (lineEnd === start) continue; // blank line
    fields.length = 0;
    for (let f = start; ; ) {
      const comma = text.indexOf(',', f);
      if (comma === -1 || comma >= lineEnd) {
        fields.push(text.slice(f, lineEnd));
        break;
      }
      fields.push(text.slice(f, comma));
      f = comma + 1;
    }
    if (withVolume === undefined) {
      const c = text.charCodeAt(start) | 0x20;
      if (c >= 0x61 && c <= 0x7a) {
        for (let k = 0; k < COLUMNS.length; k++) {
          if (fields[k] !== COLUMNS[k]) throw new CandleCsvError(lineNo, `header must start with ${COLUMNS.join(',')}, got '${text.slice(start, Math.min(lineEnd, start + 80))}'`);
        }
        withVolume = fields[5] === 'volume';
        continue;
      }
      withVolume = fields.length >= 6;
    }
    const need = withVolume ? 6 : 5;
    if (fields.length < need) throw new CandleCsvError(lineNo, `expected ${need} fields, got ${fields.length}`);
    const t = field(fields[0], lineNo, 'timestamp');
    if (!Number.isSafeInteger(t)) throw new CandleCsvError(lineNo, `timestamp must be an integer, got '${fields[0]}'`);
    if (t <= prev) throw new CandleCsvError(lineNo, `timestamp ${t} is not after the previous row's ${prev}`);
    prev = t;
    out.time[rows] = t;
    out.open[rows] = field(fields[1], lineNo, 'open');
    out.high[rows] = field(fields[2], lineNo, 'high');
    out.low[rows] = field(fields[3], lineNo, 'low');
    out.close[rows] = field(fields[4], lineNo, 'close');
    out.volume[rows] = withVolume ? field(fields[5], lineNo, 'volume') : 0;
    rows++;
  }
  return rows === out.length ? out : sliceCandles(out, 0, rows);
}

export type CandleLoad =
  | { readonly kind: 'ok'; readonly candles: Candles }
  /** Missing file, or a file without rows. */
  | { readonly kind: 'no-data'; readonly detail: string }
  /** The file exists but cannot be read or parsed. */
  | { readonly kind: 'bad'; readonly detail: string };

interface Entry {
  readonly mtimeMs: number;
  readonly size: number;
  readonly load: Promise<CandleLoad>;
}

export interface CandleStoreOptions {
  /** Parsed files kept (least recently used evicted first). Default 4. */
  readonly maxFiles?: number;
}

/**
 * Parsed candle files, keyed by resolved path and validated on every use by mtime and size: an
 * edited file is parsed again. Concurrent loads of one file share one parse.
 */
export class CandleStore {
  private readonly entries = new Map<string, Entry>();
  private readonly maxFiles: number;
  hits = 0;
  parses = 0;

  constructor(options: CandleStoreOptions = {}) {
    this.maxFiles = Math.max(1, options.maxFiles ?? 4);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  async load(path: string): Promise<CandleLoad> {
    const key = resolve(path);
    let st;
    try {
      st = await stat(key);
    } catch (e) {
      this.entries.delete(key);
      return ioFailure(e, key);
    }
    if (!st.isFile()) return { kind: 'bad', detail: `${key} is not a regular file` };
    const cached = this.entries.get(key);
    if (cached !== undefined && cached.mtimeMs === st.mtimeMs && cached.size === st.size) {
      this.hits++;
      this.entries.delete(key); // re-insert: most recently used last
      this.entries.set(key, cached);
      return cached.load;
    }
    this.parses++;
    const load = readAndParse(key);
    this.entries.delete(key);
    this.entries.set(key, { mtimeMs: st.mtimeMs, size: st.size, load });
    while (this.entries.size > this.maxFiles) this.entries.delete(this.entries.keys().next().value!);
    const result = await load;
    // A file that vanished mid-read is not remembered.
    if (result.kind === 'no-data' && this.entries.get(key)?.load === load) this.entries.delete(key);
    return result;
  }
}

function ioFailure(e: unknown, path: string): CandleLoad {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'no-data', detail: `${path} does not exist` };
  return { kind: 'bad', detail: `cannot read ${path}: ${(e as Error).message}` };
}

async function readAndParse(path: string): Promise<CandleLoad> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return ioFailure(e, path);
  }
  try {
    const candles = parseCandleCsv(text);
    return candles.length === 0 ? { kind: 'no-data', detail: `${path} has no rows` } : { kind: 'ok', candles };
  } catch (e) {
    if (e instanceof CandleCsvError) return { kind: 'bad', detail: e.message };
    return { kind: 'bad', detail: String(e) };
  }
}
