import { describe, it, expect } from 'vitest';
import { Buffer } from 'node:buffer';
import { parseSExpr, printSExpr, sexprEqual, SDotted, SSymbol, sym, type SExpr } from '../../protocol/index.ts';

function read(text: string | Uint8Array): SExpr {
  const r = parseSExpr(text);
  if (!r.ok) throw new Error(`unexpected decode error: ${r.error.message}`);
  return r.value;
}

/** Reads `(x)` and returns x: atoms only occur inside a frame. */
function atom(text: string): SExpr {
  const v = read(`(${text})`);
  if (!Array.isArray(v) || v.length !== 1) throw new Error(`expected one element from ${text}`);
  return v[0];
}

describe('S-expression reader: pairs and lists', () => {
  it('a dotted pair reads as SDotted with the key symbol and the value', () => {
    expect(read('(key . 5)')).toEqual(new SDotted([sym('key')], 5));
  });

  it('a proper list reads as an array', () => {
    expect(read('(a "b" 3)')).toEqual([sym('a'), 'b', 3]);
  });

  it('() reads as the empty array', () => {
    expect(read('(())')).toEqual([[]]);
  });

  it('a dotted list tail splices: (a . (b c)) is (a b c)', () => {
    expect(sexprEqual(read('(a . (b c))'), read('(a b c)'))).toBe(true);
  });

  it('an improper tail keeps earlier items: (a b . c)', () => {
    expect(read('(a b . c)')).toEqual(new SDotted([sym('a'), sym('b')], sym('c')));
  });

  it('nested alist printed as (strategy (k . v) ...) equals (strategy . ((k . v) ...))', () => {
    const spliced = read('(strategy (name . "X") (sma_short . 5))');
    const dottedForm = read('(strategy . ((name . "X") (sma_short . 5)))');
    expect(sexprEqual(spliced, dottedForm)).toBe(true);
    expect(printSExpr(dottedForm)).toBe('(strategy (name . "X") (sma_short . 5))');
  });

  it('Option forms (key "X") and (key . ("X")) read the same', () => {
    expect(sexprEqual(read('(data_id "X")'), read('(data_id . ("X"))'))).toBe(true);
  });

  it('whitespace of any kind separates elements and may pad the frame end', () => {
    expect(read('(a\t\n b\r\n c )\n')).toEqual([sym('a'), sym('b'), sym('c')]);
  });

  it('a dot glued to a symbol is part of the symbol, not a pair marker', () => {
    expect(read('(a .b)')).toEqual([sym('a'), sym('.b')]);
  });
});

describe('S-expression reader: numbers in Lisp printed forms', () => {
  it.each([
    ['0.52', 0.52],
    ['212', 212],
    ['-3', -3],
    ['+2.5', 2.5],
    ['.5', 0.5],
    ['-0.25', -0.25],
    ['1.0e-5', 1e-5],
    ['1e5', 1e5],
    ['1.5E+3', 1500],
    ['1.0d0', 1],
    ['1.5f0', 1.5],
    ['2.5s1', 25],
    ['3.0l-2', 0.03],
    ['-1.0d-3', -0.001],
    ['5.', 5],
    ['1/4', 0.25],
    ['-3/4', -0.75],
    ['007', 7],
    ['1700000000', 1700000000],
    ['12345678901234567890', 12345678901234567890],
    ['0.1234567890123456789', 0.1234567890123456789],
    ['123456.789e-30', 123456.789e-30],
    ['1e400', Infinity],
  ])('%s reads as %d', (text, value) => {
    expect(atom(text)).toBe(value);
  });

  it('parsed floats equal what Number() gives for the same decimal text (fast path is exact)', () => {
    for (const text of ['0.1', '0.3', '0.01', '55.66', '3.21', '-0.1', '9007199254740.993', '1.7976931348623157e308', '5e-324', '2.2250738585072014e-308']) {
      expect(atom(text)).toBe(Number(text));
    }
  });

  it.each([
    ['inf', Infinity],
    ['+inf', Infinity],
    ['-inf', -Infinity],
    ['Inf', Infinity],
    ['+inf.0', Infinity],
    ['-inf.0', -Infinity],
  ])('%s reads as a float infinity', (text, value) => {
    expect(atom(text)).toBe(value);
  });

  it.each(['nan', 'NaN', '+nan', '-nan', '+nan.0', 'NAN'])('%s reads as NaN', (text) => {
    expect(atom(text)).toBeNaN();
  });

  it('-0 is the integer 0 but -0.0 is a negative-zero float', () => {
    expect(Object.is(atom('-0'), 0)).toBe(true);
    expect(Object.is(atom('-0.0'), -0)).toBe(true);
  });

  it('number-like tokens that are not numbers read as symbols (1+, -foo, 1e, 1/0)', () => {
    for (const t of ['1+', '-foo', '1e', '1/0', '+', '-', '1.2.3', 'infinity']) {
      expect(atom(t)).toEqual(sym(t));
    }
  });
});

describe('S-expression reader: booleans and symbols', () => {
  it.each(['t', '#t', 'true', '#true', 'T'])('%s reads as true', (text) => {
    expect(atom(text)).toBe(true);
  });

  it.each(['nil', '#f', 'false', '#false', '#nil', 'NIL'])('%s reads as false', (text) => {
    expect(atom(text)).toBe(false);
  });

  it('bare words read as symbols, distinct from strings of the same text', () => {
    expect(atom('sma')).toEqual(new SSymbol('sma'));
    expect(atom('"sma"')).toBe('sma');
  });

  it('symbols keep hyphens, underscores, case and non-ASCII letters', () => {
    expect(atom('max-drawdown')).toEqual(sym('max-drawdown'));
    expect(atom('Sharpe_CI')).toEqual(sym('Sharpe_CI'));
    expect(atom('ドル円')).toEqual(sym('ドル円'));
  });
});

describe('S-expression reader: strings, escapes and Unicode', () => {
  it('plain strings read as written', () => {
    expect(atom('"USDJPY_M1"')).toBe('USDJPY_M1');
    expect(atom('""')).toBe('');
  });

  it('backslash escapes: quote, backslash, n t r a b f v', () => {
    expect(atom('"a\\"b\\\\c\\nd\\te\\rf\\ag\\bh\\fi\\vj"')).toBe('a"b\\c\nd\te\rf\x07g\bh\fi\vj');
  });

  it('an unknown escape stands for the character itself (the Common Lisp rule)', () => {
    expect(atom('"\\q\\(\\é"')).toBe('q(é');
  });

  it('hex escapes: R6RS \\x41; and Emacs \\x41 forms', () => {
    expect(atom('"\\x41;\\x3bb;"')).toBe('Aλ');
    expect(atom('"\\x41"')).toBe('A');
  });

  it('\\u escapes, including a surrogate pair that forms one emoji', () => {
    expect(atom('"caf\\u00e9"')).toBe('café');
    expect(atom('"\\uD83D\\uDE00"')).toBe('😀');
    expect(atom('"\\u{1F600}\\U0001F601"')).toBe('😀😁');
  });

  it('a lone surrogate escape is an error, not a broken string', () => {
    const hi = parseSExpr('("\\uD83D x")');
    expect(hi.ok).toBe(false);
    if (!hi.ok) expect(hi.error.message).toMatch(/lone high surrogate/);
    const lo = parseSExpr('("\\uDE00")');
    expect(lo.ok).toBe(false);
  });

  it('escapes naming a non-scalar code point are errors', () => {
    expect(parseSExpr('("\\x110000;")').ok).toBe(false);
    expect(parseSExpr('("\\u{D800}")').ok).toBe(false);
  });

  it('raw UTF-8 bytes decode to the same text: emoji (4 bytes), CJK (3 bytes), accents (2 bytes)', () => {
    const text = '("戦略-😀-café-𝄞")';
    expect(read(Buffer.from(text, 'utf8'))).toEqual(['戦略-😀-café-𝄞']);
  });

  it('raw newlines inside strings are kept (a Lisp printer may emit them)', () => {
    expect(atom('"line1\nline2"')).toBe('line1\nline2');
  });

  it('many escaped strings in one frame each decode independently', () => {
    expect(read('("a\\"" "plain" "b\\\\" "c")')).toEqual(['a"', 'plain', 'b\\', 'c']);
  });
});

describe('S-expression reader: errors say what and where', () => {
  it('a frame not starting with ( is rejected as a frame error at offset 0', () => {
    for (const f of ['hello', ' (a)', '"x"', '5', '']) {
      const r = parseSExpr(f);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.kind).toBe('frame');
        expect(r.error.offset ?? 0).toBe(0);
        expect(r.error.expected).toBe("'('");
      }
    }
  });

  it('an unterminated list reports the end offset and expects )', () => {
    const r = parseSExpr('((a . 1) (b');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatchObject({ kind: 'syntax', offset: 11, expected: "')'" });
    }
  });

  it('an unterminated string reports where the string starts', () => {
    const r = parseSExpr('((a . "abc');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'syntax', offset: 6 });
  });

  it('text after the closing paren is an error', () => {
    const r = parseSExpr('(a) (b)');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'syntax', offset: 4, expected: 'end of frame' });
  });

  it('misplaced dots are errors: (. a), (a .), (a . b c)', () => {
    expect(parseSExpr('(. a)').ok).toBe(false);
    expect(parseSExpr('(a .)').ok).toBe(false);
    const r = parseSExpr('(a . b c)');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.expected).toBe("')'");
  });

  it('byteOffset counts UTF-8 bytes while offset counts characters', () => {
    const r = parseSExpr(Buffer.from('("日本" . x y)', 'utf8'));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.offset).toBe(10);
      expect(r.error.byteOffset).toBe(14);
    }
  });

  it('bytes that are not UTF-8 are a frame error with the bad byte offset', () => {
    const bytes = Buffer.concat([Buffer.from('("ab'), Buffer.from([0xff, 0xfe]), Buffer.from('")')]);
    const r = parseSExpr(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'frame', byteOffset: 4 });
  });

  it('a correctly encoded U+FFFD is text, not a UTF-8 error', () => {
    expect(read(Buffer.from('("a\uFFFDb")', 'utf8'))).toEqual(['a\uFFFDb']);
  });

  it('a Uint8Array that is not a Buffer decodes like a Buffer', () => {
    const u8 = new Uint8Array(Buffer.from('(x . 1)'));
    expect(read(u8)).toEqual(new SDotted([sym('x')], 1));
  });
});
