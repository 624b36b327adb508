/**
 * Prints value trees (and the pieces typed encoders use) as single-line S-expression text by
 * plain string concatenation. Layout matches the host: `(key . value)`, lists separated by one
 * space, nested alists spliced as `(strategy (name . "X") ...)`.
 */
import { formatNumber } from './numbers.ts';
import { SDotted, SSymbol, type SExpr } from './sexpr.ts';

/**
 * A string literal. Only `"` and `\` must be escaped; newline, return and tab use `\n \r \t` and
 * other control characters the R6RS form `\x1f;` (what the Rust service reads), so a frame stays
 * one line. Non-ASCII text is written as itself (UTF-8 on the wire). A lone surrogate cannot be
 * UTF-8 encoded, so it becomes U+FFFD here rather than silently in Buffer.from later.
 */
export function printString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x7f) return '"' + escapeFrom(s, i) + '"';
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
      else return '"' + escapeFrom(s, i) + '"';
    }
  }
  return '"' + s + '"';
}

function escapeFrom(s: string, first: number): string {
  let out = s.slice(0, first);
  let run = first;
  for (let i = first; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c === 0x22) rep = '\\"';
    else if (c === 0x5c) rep = '\\\\';
    else if (c === 0x0a) rep = '\\n';
    else if (c === 0x0d) rep = '\\r';
    else if (c === 0x09) rep = '\\t';
    else if (c < 0x20 || c === 0x7f) rep = '\\x' + c.toString(16) + ';';
    else if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        i++;
        continue;
      }
      rep = '\uFFFD';
    }
    if (rep !== undefined) {
      out += s.slice(run, i) + rep;
      run = i + 1;
    }
  }
  return out + s.slice(run);
}

/**
 * Prints any value tree. Numbers: integral values without a decimal point, others as floats (see
 * formatNumber). A list value always splices, so `(result . ((k . v)))` reprints as
 * `(result (k . v))` (the same tree); typed encoders write the reference's dotted layout.
 */
export function printSExpr(x: SExpr): string {
  switch (typeof x) {
    case 'number':
      return formatNumber(x);
    case 'string':
      return printString(x);
    case 'boolean':
      return x ? 't' : 'nil';
  }
  if (x instanceof SSymbol) return x.name;
  if (x instanceof SDotted) return '(' + printItems(x.items) + ' . ' + printSExpr(x.tail) + ')';
  return '(' + printItems(x) + ')';
}

function printItems(items: SExpr[]): string {
  if (items.length === 0) return '';
  let out = printSExpr(items[0]);
  for (let i = 1; i < items.length; i++) out += ' ' + printSExpr(items[i]);
  return out;
}
