/**
 * The streaming byte scanner: fed the file's bytes in chunks of any size, it frames lines, parses
 * fields straight from the bytes and drives the CandleChecker. No I/O here. Memory is constant:
 * a chunk is never kept after `feed` returns; only a line split across chunks is copied, into one
 * carry buffer of `maxLineBytes`.
 */
import { CandleChecker } from './checker.ts';
import type { CheckSummary } from './checker.ts';
import { parseDecimal, isIntegerLiteral } from './decimal.ts';
import { parseHeader } from './header.ts';
import type { CandleHeader } from './header.ts';
import type { ResolvedCheckOptions } from './options.ts';
import { quoteText } from '../../protocol/quote.ts';

const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;

export interface ScanResult extends CheckSummary {
  bytes: number;
  /** Bytes read but not checked: lines too long to parse, and every row after an unusable header. */
  uncheckedBytes: number;
  /** Header column names; empty when the header was unusable. */
  columns: string[];
}

export class CandleScanner {
  private readonly checker: CandleChecker;
  private readonly maxLineBytes: number;
  private header: CandleHeader | null = null;
  private line = 0;
  private bytes = 0;
  private uncheckedBytes = 0;
  private bomBytes = 0;
  /** Start of the current line when it began in an earlier chunk. */
  private carry: Buffer | null = null;
  private carryLength = 0;
  /** Every byte of the carried line, kept or dropped. */
  private carriedBytes = 0;
  private carrying = false;
  /** The carried line outgrew maxLineBytes: its bytes are dropped until its end. */
  private overflowed = false;
  /** The carried line holds a CR before its last byte: the file likely ends its lines with CR alone. */
  private carriedCr = false;
  /** The last carried byte so far is a CR: inside the line if more bytes follow, else a CRLF's. */
  private carriedTrailingCr = false;
  /** Same, kept whatever carriedCr says: a CRLF's CR is not part of the line's length. */
  private endsWithCr = false;
  /** Parsed values of the checked columns of the current row. */
  private readonly values = new Float64Array(6);

  constructor(options: ResolvedCheckOptions) {
    this.checker = new CandleChecker(options);
    this.maxLineBytes = options.maxLineBytes;
  }

  /** Scans the next bytes of the file. The chunk may be reused by the caller afterwards. */
  feed(chunk: Buffer): void {
    const end = chunk.length;
    this.bytes += end;
    let pos = 0;
    if (this.carrying) {
      const nl = chunk.indexOf(LF);
      if (nl === -1) {
        this.appendCarry(chunk, 0, end);
        return;
      }
      this.appendCarry(chunk, 0, nl);
      this.endCarriedLine();
      pos = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(LF, pos);
      if (nl === -1) break;
      this.onLine(chunk, pos, nl);
      pos = nl + 1;
    }
    if (pos < end) {
      this.carrying = true;
      this.appendCarry(chunk, pos, end);
    }
  }

  /** Ends the input (a last line without a line break counts) and returns the tallies. */
  finish(): ScanResult {
    if (this.carrying) this.endCarriedLine();
    if (this.bytes - this.bomBytes === 0) {
      this.checker.problem('empty', 0, () => (this.bytes === 0 ? 'the file is empty (0 bytes)' : 'the file holds only a byte order mark'));
    }
    const summary = this.checker.finish(this.header !== null);
    return { ...summary, bytes: this.bytes, uncheckedBytes: this.uncheckedBytes, columns: this.header?.columns ?? [] };
  }

  private appendCarry(chunk: Buffer, start: number, end: number): void {
    const length = end - start;
    if (length === 0) return;
    this.carriedBytes += length;
    this.endsWithCr = chunk[end - 1] === CR;
    if (!this.carriedCr) {
      // As for a line inside one chunk: a CR counts unless it is the line's last byte (CRLF).
      const cr = chunk.subarray(start, end).indexOf(CR); // bounded: never scans past the piece
      this.carriedCr = this.carriedTrailingCr || (cr !== -1 && cr < length - 1);
      this.carriedTrailingCr = cr === length - 1;
    }
    if (this.overflowed) return;
    if (this.carryLength + length > this.maxLineBytes) {
      this.overflowed = true;
      return;
    }
    if (this.carry === null) this.carry = Buffer.allocUnsafe(this.maxLineBytes);
    chunk.copy(this.carry, this.carryLength, start, end);
    this.carryLength += length;
  }

  private endCarriedLine(): void {
    if (this.overflowed) this.onOverlongLine(++this.line, this.carriedBytes - (this.endsWithCr ? 1 : 0), this.carriedCr);
    else this.onLine(this.carry as Buffer, 0, this.carryLength);
    this.carrying = false;
    this.overflowed = false;
    this.carriedCr = false;
    this.carriedTrailingCr = false;
    this.endsWithCr = false;
    this.carryLength = 0;
    this.carriedBytes = 0;
  }

  private onOverlongLine(line: number, length: number, withCr: boolean): void {
    this.uncheckedBytes += length;
    // CRs inside a line usually mean CR-only line ends, which make the whole file one line.
    const hint = withCr ? '; it holds CR characters: only LF or CRLF end a line' : '';
    if (line === 1) {
      this.checker.problem('header', 1, () => `the header line is longer than ${this.maxLineBytes} bytes${hint}`);
      return;
    }
    this.checker.countRow();
    this.checker.problem('line-too-long', line, () => `${length.toLocaleString('en-US')} bytes, longer than ${this.maxLineBytes}${hint}`);
  }

  /** One line, `bytes[start, end)` without its LF. */
  private onLine(bytes: Buffer, start: number, end: number): void {
    const line = ++this.line;
    if (end - start > this.maxLineBytes) {
      const length = bytes[end - 1] === CR ? end - 1 - start : end - start;
      this.onOverlongLine(line, length, hasCr(bytes, start, end - 1));
      return;
    }
    if (end > start && bytes[end - 1] === CR) end--;
    if (line === 1) {
      this.onHeader(bytes, start, end);
      return;
    }
    if (start === end) {
      this.checker.warning('blank-line', line, () => 'blank line');
      return;
    }
    this.checker.countRow();
    if (this.header !== null) this.onRow(bytes, start, end, line, this.header);
    else this.uncheckedBytes += end - start;
  }

  private onHeader(bytes: Buffer, start: number, end: number): void {
    if (end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf) {
      start += 3;
      this.bomBytes = 3;
    }
    const text = bytes.toString('utf8', start, end);
    const result = parseHeader(text);
    if (result.ok) this.header = result.header;
    else if (this.bytes > this.bomBytes) this.checker.problem('header', 1, () => result.reason); // a lone BOM is `empty`
  }

  private onRow(bytes: Buffer, start: number, end: number, line: number, header: CandleHeader): void {
    const values = this.values;
    const fields = header.columns.length;
    const checked = header.checkedColumns;
    let pos = start;
    let timestampEnd = start;
    let unparsed = 0; // bit i set: checked column i is not a finite number
    for (let col = 0; col < fields; col++) {
      if (pos > end) {
        this.reportFieldCount(bytes, start, end, line, fields);
        return;
      }
      let stop = pos;
      while (stop < end && bytes[stop] !== COMMA) stop++;
      if (col < checked) {
        const value = parseDecimal(bytes, pos, stop);
        values[col] = value;
        if (value !== value) unparsed |= 1 << col;
        if (col === 0) timestampEnd = stop;
      }
      pos = stop + 1;
    }
    if (pos <= end) {
      this.reportFieldCount(bytes, start, end, line, fields);
      return;
    }
    if (unparsed !== 0) this.reportUnparsed(bytes, start, end, line, header, unparsed);
    const ts = values[0];
    if (ts === ts && !(isIntegerLiteral(bytes, start, timestampEnd) && Number.isSafeInteger(ts))) this.reportNotInteger(bytes, start, timestampEnd, line);
    this.checker.row(line, ts, values[1], values[2], values[3], values[4], checked > 5 ? values[5] : 0);
  }

  // The report paths below run only for bad rows, so they may rescan and allocate. They are
  // methods of their own because a closure in onRow would cost a context allocation per row.

  private reportNotInteger(bytes: Buffer, start: number, end: number, line: number): void {
    this.checker.problem('timestamp-not-integer', line, () => `timestamp ${fieldText(bytes, start, end)} is not an integer`);
  }

  private reportFieldCount(bytes: Buffer, start: number, end: number, line: number, expected: number): void {
    this.checker.problem('column-count', line, () => {
      let found = 1;
      for (let i = start; i < end; i++) if (bytes[i] === COMMA) found++;
      return `${found} fields, the header has ${expected}`;
    });
  }

  private reportUnparsed(bytes: Buffer, start: number, end: number, line: number, header: CandleHeader, unparsed: number): void {
    // One count per row; the message names each bad field of that row.
    this.checker.problem('not-a-number', line, () => {
      const parts: string[] = [];
      let pos = start;
      for (let col = 0; col < header.checkedColumns; col++) {
        let stop = pos;
        while (stop < end && bytes[stop] !== COMMA) stop++;
        if ((unparsed & (1 << col)) !== 0) parts.push(`${header.columns[col]} ${fieldText(bytes, pos, stop)}`);
        pos = stop + 1;
      }
      return `${parts.join(', ')} ${parts.length === 1 ? 'is not a finite number' : 'are not finite numbers'}`;
    });
  }
}

function hasCr(bytes: Buffer, start: number, end: number): boolean {
  return end > start && bytes.subarray(start, end).indexOf(CR) !== -1;
}

function fieldText(bytes: Buffer, start: number, end: number): string {
  const text = bytes.toString('utf8', start, Math.min(end, start + 40));
  return end - start > 40 ? `${quoteText(text)}...` : quoteText(text);
}
