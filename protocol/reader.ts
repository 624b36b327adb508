/**
 * Single-pass S-expression reader over the frame text. Hand-written: one charCodeAt walk, plain
 * strings taken with one slice (escapes only cost when present), no regular expressions.
 */
import { byteOffsetOf, frameText, type FrameInput } from './frame.ts';
import { resolveLimits, type CodecLimits } from './limits.ts';
import { readNumberToken } from './numbers.ts';
import { fail, ok, type CodecError, type CodecErrorKind, type LimitName, type Result } from './result.ts';
import { SDotted, SSymbol, type SExpr } from './sexpr.ts';

const OPEN = 40;
const CLOSE = 41;
const QUOTE = 34;
const BACKSLASH = 92;
const DOT = 46;
const PLUS = 43;
const MINUS = 45;

/** ASCII characters that end an atom: whitespace, parentheses and `"` (frames carry no comments). */
const DELIMITER = new Uint8Array(128);
for (const c of [9, 10, 11, 12, 13, 32, OPEN, CLOSE, QUOTE]) DELIMITER[c] = 1;

/**
 * Atoms that are not symbols: booleans in Lisp, Scheme and plain spellings, and bare inf/nan.
 * Case-insensitive (CL may print `T`/`NIL`, Rust prints `NaN`). Filtered by length and first
 * character before any string work, because almost every short atom is an ordinary key (`pnl`).
 */
function specialAtom(token: string): boolean | number | undefined {
  const c = token.charCodeAt(0) | 0x20; // ASCII lower case
  switch (token.length) {
    case 1:
      return c === 116 ? true : undefined; // t
    case 2:
      if (token.charCodeAt(0) !== 35) return undefined; // #t #f
      return (token.charCodeAt(1) | 0x20) === 116 ? true : (token.charCodeAt(1) | 0x20) === 102 ? false : undefined;
    case 3:
      if (c !== 110 && c !== 105) return undefined; // nil nan inf
      switch (token.toLowerCase()) {
        case 'nil': return false;
        case 'nan': return NaN;
        case 'inf': return Infinity;
        default: return undefined;
      }
    case 4:
      if (c !== 116 && c !== 35) return undefined; // true #nil
      switch (token.toLowerCase()) {
        case 'true': return true;
        case '#nil': return false;
        default: return undefined;
      }
    case 5:
      if (c !== 102 && c !== 35) return undefined; // false #true
      switch (token.toLowerCase()) {
        case 'false': return false;
        case '#true': return true;
        default: return undefined;
      }
    case 6:
      return c === 35 && token.toLowerCase() === '#false' ? false : undefined;
    default:
      return undefined;
  }
}

/** Thrown inside the reader only and caught in parseFrameText: keeps the recursive code straight-line. */
class ReadFailure {
  constructor(readonly error: CodecError) {}
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

class Reader {
  private pos = 0;
  /** Index of the next backslash at or after the last string start (src.length when none): keeps string scans linear. */
  private nextBackslash = -1;
  /** Text produced by the last readEscape call. */
  private escaped = '';

  constructor(
    private readonly src: string,
    private readonly limits: CodecLimits,
  ) {}

  readFrame(): SExpr {
    const src = this.src;
    if (src.length === 0) this.fail('frame', 'empty frame', 0, "'('");
    if (src.charCodeAt(0) !== OPEN) this.fail('frame', "frame does not start with '('", 0, "'('");
    const value = this.readList(1);
    this.skipWhitespace();
    if (this.pos < src.length) this.fail('syntax', "unexpected text after the frame's closing ')'", this.pos, 'end of frame');
    return value;
  }

  private fail(kind: CodecErrorKind, message: string, offset: number, expected?: string, limit?: LimitName): never {
    throw new ReadFailure({
      kind,
      message: `${message} at offset ${offset}`,
      offset,
      byteOffset: byteOffsetOf(this.src, offset),
      ...(expected === undefined ? {} : { expected }),
      ...(limit === undefined ? {} : { limit }),
    });
  }

  private skipWhitespace(): void {
    const src = this.src;
    let pos = this.pos;
    for (;;) {
      const c = src.charCodeAt(pos);
      if (c === 32 || (c >= 9 && c <= 13)) pos++;
      else break;
    }
    this.pos = pos;
  }

  private isDelimiterAt(i: number): boolean {
    if (i >= this.src.length) return true;
    const c = this.src.charCodeAt(i);
    return c < 128 && DELIMITER[c] === 1;
  }

  private readList(depth: number): SExpr {
    const { maxDepth, maxListLength } = this.limits;
    const src = this.src;
    const open = this.pos;
    if (depth > maxDepth) this.fail('limit', `list nesting exceeds maxDepth (${maxDepth})`, open, undefined, 'maxDepth');
    this.pos++;
    const items: SExpr[] = [];
    for (;;) {
      this.skipWhitespace();
      const pos = this.pos;
      if (pos >= src.length) this.fail('syntax', `unterminated list (opened at offset ${open})`, pos, "')'");
      const c = src.charCodeAt(pos);
      if (c === CLOSE) {
        this.pos = pos + 1;
        return items;
      }
      if (c === DOT && this.isDelimiterAt(pos + 1)) return this.readDottedTail(items, depth);
      if (items.length >= maxListLength) {
        this.fail('limit', `list has more than maxListLength (${maxListLength}) elements`, pos, undefined, 'maxListLength');
      }
      // readDatum, inlined: this loop runs once per element of every list.
      if (c === OPEN) items.push(this.readList(depth + 1));
      else if (c === QUOTE) items.push(this.readString());
      else items.push(this.readAtom());
    }
  }

  /** After `(a b .`: reads the tail and the closing paren, splicing a list tail as `(a . (b c))` = `(a b c)`. */
  private readDottedTail(items: SExpr[], depth: number): SExpr {
    const src = this.src;
    const dot = this.pos;
    if (items.length === 0) this.fail('syntax', "'.' with no element before it", dot, 'a value before the dot');
    this.pos++;
    this.skipWhitespace();
    if (this.pos >= src.length || src.charCodeAt(this.pos) === CLOSE) this.fail('syntax', "missing value after '.'", this.pos, 'a value');
    const tail = this.readDatum(depth);
    this.skipWhitespace();
    if (this.pos >= src.length || src.charCodeAt(this.pos) !== CLOSE) {
      this.fail('syntax', "more than one value after '.'", this.pos, "')'");
    }
    this.pos++;
    if (Array.isArray(tail) || tail instanceof SDotted) {
      const more = Array.isArray(tail) ? tail : tail.items;
      const max = this.limits.maxListLength;
      if (items.length + more.length > max) {
        this.fail('limit', `list has more than maxListLength (${max}) elements`, dot, undefined, 'maxListLength');
      }
      for (let i = 0; i < more.length; i++) items.push(more[i]);
      return Array.isArray(tail) ? items : new SDotted(items, tail.tail);
    }
    return new SDotted(items, tail);
  }

  private readDatum(depth: number): SExpr {
    const c = this.src.charCodeAt(this.pos);
    if (c === OPEN) return this.readList(depth + 1);
    if (c === QUOTE) return this.readString();
    if (c === CLOSE) this.fail('syntax', "unexpected ')'", this.pos, 'a value');
    return this.readAtom();
  }

  private readAtom(): SExpr {
    const src = this.src;
    const start = this.pos;
    let pos = start + 1;
    for (; pos < src.length; pos++) {
      const c = src.charCodeAt(pos);
      if (c < 128 && DELIMITER[c] === 1) break;
    }
    this.pos = pos;
    const c0 = src.charCodeAt(start);
    if (isDigit(c0) || c0 === PLUS || c0 === MINUS || c0 === DOT) {
      const n = readNumberToken(src, start, pos);
      if (n !== undefined) return n;
    }
    const token = src.slice(start, pos);
    const special = specialAtom(token);
    return special === undefined ? new SSymbol(token) : special;
  }

  private readString(): string {
    const src = this.src;
    const start = this.pos + 1;
    const quote = src.indexOf('"', start);
    if (quote === -1) this.fail('syntax', 'unterminated string', this.pos, "closing '\"'");
    let backslash = this.nextBackslash;
    if (backslash < start) {
      backslash = src.indexOf('\\', start);
      if (backslash === -1) backslash = src.length;
      this.nextBackslash = backslash;
    }
    if (backslash > quote) {
      this.pos = quote + 1;
      return src.slice(start, quote);
    }
    return this.readEscapedString(start, quote, backslash);
  }

  /** Slow path: copies the runs between escapes; quote and backslash searches only move forward. */
  private readEscapedString(start: number, quote: number, backslash: number): string {
    const src = this.src;
    let out = '';
    let i = start;
    for (;;) {
      if (quote < i) {
        quote = src.indexOf('"', i);
        if (quote === -1) this.fail('syntax', 'unterminated string', start - 1, "closing '\"'");
      }
      if (backslash < i) {
        backslash = src.indexOf('\\', i);
        if (backslash === -1) backslash = src.length;
      }
      if (backslash > quote) {
        this.pos = quote + 1;
        this.nextBackslash = backslash;
        return out + src.slice(i, quote);
      }
      out += src.slice(i, backslash);
      i = this.readEscape(backslash);
      out += this.escaped;
    }
  }

  /**
   * Decodes the escape at `at` (a backslash) into this.escaped and returns the index after it.
   * R6RS/Emacs/Rust escapes are understood; any other escaped character stands for itself (the
   * Common Lisp rule), so `\q` reads as `q`.
   */
  private readEscape(at: number): number {
    const src = this.src;
    if (at + 1 >= src.length) this.fail('syntax', 'unterminated string', at, "closing '\"'");
    const c = src.charCodeAt(at + 1);
    switch (c) {
      case 110: this.escaped = '\n'; return at + 2; // n
      case 116: this.escaped = '\t'; return at + 2; // t
      case 114: this.escaped = '\r'; return at + 2; // r
      case 97: this.escaped = '\x07'; return at + 2; // a
      case 98: this.escaped = '\b'; return at + 2; // b
      case 102: this.escaped = '\f'; return at + 2; // f
      case 118: this.escaped = '\v'; return at + 2; // v
      case 120: { // x: `\x41;` (R6RS) or `\x41` (Emacs)
        let i = at + 2;
        let cp = 0;
        while (i < src.length && i - at - 2 < 6 && hexValue(src.charCodeAt(i)) >= 0) cp = cp * 16 + hexValue(src.charCodeAt(i++));
        if (i === at + 2) this.fail('syntax', 'bad \\x escape', at, 'hex digits');
        if (src.charCodeAt(i) === 59) i++; // `;`
        this.escaped = this.codePoint(cp, at);
        return i;
      }
      case 85: { // U: `\U0001F600`
        this.escaped = this.codePoint(this.fixedHex(at + 2, 8, at), at);
        return at + 10;
      }
      case 117: // u: `\u00e9`, `\u{1F600}`, surrogate pairs `\uD83D\uDE00`
        return this.readUnicodeEscape(at);
      default: {
        // The escaped character itself, a whole code point when it is a surrogate pair.
        const hi = c >= 0xd800 && c <= 0xdbff;
        const len = hi && at + 2 < src.length && (src.charCodeAt(at + 2) & 0xfc00) === 0xdc00 ? 2 : 1;
        this.escaped = src.slice(at + 1, at + 1 + len);
        return at + 1 + len;
      }
    }
  }

  private readUnicodeEscape(at: number): number {
    const src = this.src;
    if (src.charCodeAt(at + 2) === 123) {
      // `\u{...}`
      let i = at + 3;
      let cp = 0;
      while (i < src.length && i - at - 3 < 6 && hexValue(src.charCodeAt(i)) >= 0) cp = cp * 16 + hexValue(src.charCodeAt(i++));
      if (i === at + 3 || src.charCodeAt(i) !== 125) this.fail('syntax', 'bad \\u{...} escape', at, "hex digits and '}'");
      this.escaped = this.codePoint(cp, at);
      return i + 1;
    }
    const unit = this.fixedHex(at + 2, 4, at);
    if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('syntax', 'lone low surrogate in \\u escape', at, 'a high surrogate (D800-DBFF) first');
    if (unit < 0xd800 || unit > 0xdbff) {
      this.escaped = String.fromCharCode(unit);
      return at + 6;
    }
    // A high surrogate must be followed by an escaped low surrogate: together they are one code point.
    if (src.charCodeAt(at + 6) !== BACKSLASH || src.charCodeAt(at + 7) !== 117) {
      this.fail('syntax', 'lone high surrogate in \\u escape', at + 6, '\\u followed by a low surrogate (DC00-DFFF)');
    }
    const low = this.fixedHex(at + 8, 4, at + 6);
    if (low < 0xdc00 || low > 0xdfff) this.fail('syntax', 'high surrogate not followed by a low surrogate', at + 6, 'a low surrogate (DC00-DFFF)');
    this.escaped = String.fromCharCode(unit, low);
    return at + 12;
  }

  private fixedHex(from: number, count: number, escapeAt: number): number {
    const src = this.src;
    let v = 0;
    for (let i = from; i < from + count; i++) {
      const h = i < src.length ? hexValue(src.charCodeAt(i)) : -1;
      if (h < 0) this.fail('syntax', 'bad unicode escape', escapeAt, `${count} hex digits`);
      v = v * 16 + h;
    }
    return v;
  }

  private codePoint(cp: number, at: number): string {
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.fail('syntax', `escape names invalid code point ${cp.toString(16)}`, at, 'a Unicode scalar value');
    return String.fromCodePoint(cp);
  }
}

/** Parses frame text that already passed the frame checks (see parseSExpr). */
export function parseFrameText(text: string, limits: CodecLimits): Result<SExpr> {
  try {
    return ok(new Reader(text, limits).readFrame());
  } catch (e) {
    if (e instanceof ReadFailure) return fail(e.error);
    // A stack overflow is only reachable when a caller raised maxDepth beyond what the stack holds.
    if (e instanceof RangeError) return fail({ kind: 'limit', limit: 'maxDepth', message: `frame nested too deeply for this process: ${e.message}` });
    return fail({ kind: 'syntax', message: `reader failure: ${String(e)}` });
  }
}

/** Parses one frame (a ZeroMQ Buffer or a string) into a value tree. Never throws. */
export function parseSExpr(input: FrameInput, limits?: Partial<CodecLimits>): Result<SExpr> {
  const lim = resolveLimits(limits);
  const text = frameText(input, lim);
  if (!text.ok) return text;
  return parseFrameText(text.value, lim);
}
