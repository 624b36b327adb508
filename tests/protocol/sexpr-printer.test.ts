import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import { decodeBacktestResult, dotted, formatFloat, formatNumber, pair, parseSExpr, printSExpr, printString, sexprEqual, sym, type SExpr } from '../../protocol/index.ts';
import { REFERENCE_REQUEST_FRAME, REFERENCE_SUCCESS_FRAME } from './golden.ts';

describe('float printing rule: shortest round-trip digits, always a decimal point', () => {
  it.each([
    [0.3, '0.3'],
    [0.01, '0.01'],
    [1, '1.0'],
    [60, '60.0'],
    [-2.5, '-2.5'],
    [1e-5, '0.00001'],
    [1e-7, '1.0e-7'],
    [1.5e-7, '1.5e-7'],
    [1e21, '1.0e21'],
    [-1.25e22, '-1.25e22'],
    [0, '0.0'],
    [-0, '-0.0'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [NaN, 'nan'],
  ])('%d prints as %s', (value, text) => {
    expect(formatFloat(value)).toBe(text);
  });

  it('every double prints to text that reads back to the same double', () => {
    fc.assert(
      fc.property(fc.double(), (x) => {
        const r = parseSExpr(`(${formatFloat(x)})`);
        expect(r.ok).toBe(true);
        if (r.ok) expect(sexprEqual((r.value as SExpr[])[0], x)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('generic printing writes integral numbers without a decimal point', () => {
    expect(formatNumber(212)).toBe('212');
    expect(formatNumber(-3)).toBe('-3');
    expect(formatNumber(0.52)).toBe('0.52');
    expect(formatNumber(-0)).toBe('-0.0');
  });
});

describe('string printing', () => {
  it('plain text, CJK and emoji print unescaped between quotes', () => {
    expect(printString('USDJPY')).toBe('"USDJPY"');
    expect(printString('戦略😀')).toBe('"戦略😀"');
  });

  it('quote and backslash are escaped; newline, return, tab use \\n \\r \\t; other controls use \\x..;', () => {
    expect(printString('a"b\\c\nd\re\tf\x01g\x7f')).toBe('"a\\"b\\\\c\\nd\\re\\tf\\x1;g\\x7f;"');
  });

  it('a printed string never contains a raw newline (frames are one line)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(printString(s)).not.toMatch(/[\n\r]/);
      }),
    );
  });

  it('a lone surrogate prints as U+FFFD (what UTF-8 can carry), a pair prints as itself', () => {
    expect(printString('a\uD83Db')).toBe('"a\uFFFDb"');
    expect(printString('\uDE00')).toBe('"\uFFFD"');
    expect(printString('\uD83D\uDE00')).toBe('"😀"');
  });

  it('any string survives print -> UTF-8 bytes -> read unchanged (full Unicode)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        const r = parseSExpr(Buffer.from(`(${printString(s)})`, 'utf8'));
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.value).toEqual([s]);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('generic tree printing', () => {
  it('reprints the parsed reference request byte for byte', () => {
    const r = parseSExpr(REFERENCE_REQUEST_FRAME);
    expect(r.ok).toBe(true);
    if (r.ok) expect(printSExpr(r.value)).toBe(REFERENCE_REQUEST_FRAME);
  });

  it('reprints the reference result in the spliced form, which decodes to the same result', () => {
    const r = parseSExpr(REFERENCE_SUCCESS_FRAME);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const text = printSExpr(r.value);
    expect(text.startsWith('((type . "BACKTEST_RESULT") (result (strategy_name . "Foo-OOS")')).toBe(true);
    expect(decodeBacktestResult(text)).toEqual(decodeBacktestResult(REFERENCE_SUCCESS_FRAME));
  });

  it('pairs print dotted, list values splice into the key list', () => {
    expect(printSExpr(pair('sl', 0.3))).toBe('(sl . 0.3)');
    expect(printSExpr(pair('strategy', [pair('name', 'X'), pair('sma_short', 5)]))).toBe('(strategy (name . "X") (sma_short . 5))');
    expect(printSExpr(pair('data_id', ['USDJPY_M1']))).toBe('(data_id "USDJPY_M1")');
    expect(printSExpr([sym('start_time')])).toBe('(start_time)');
  });

  it('booleans print as t and nil, the empty list as ()', () => {
    expect(printSExpr([true, false, []])).toBe('(t nil ())');
  });

  it('dotted() with an atom tail makes an improper list and with a list tail splices', () => {
    expect(printSExpr(dotted([sym('a'), sym('b')], sym('c')))).toBe('(a b . c)');
    expect(printSExpr(dotted([sym('a')], [sym('b')]))).toBe('(a b)');
  });

  const symbolName = fc.stringMatching(/^[a-z_][a-z0-9_-]{0,12}$/).filter((s) => !['t', 'nil', 'true', 'false', 'inf', 'nan'].includes(s));
  const { tree } = fc.letrec<{ tree: SExpr; list: SExpr }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.double(),
      fc.integer(),
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.boolean(),
      symbolName.map(sym),
      tie('list'),
    ),
    list: fc.oneof(
      fc.array(tie('tree'), { maxLength: 5 }),
      fc.tuple(fc.array(tie('tree'), { minLength: 1, maxLength: 4 }), fc.oneof(fc.double(), fc.string({ maxLength: 5 }), symbolName.map(sym), fc.boolean())).map(([items, tail]) => dotted(items, tail)),
    ),
  }));

  it('any value tree survives print then read (value round trip)', () => {
    fc.assert(
      fc.property(fc.array(tree, { maxLength: 6 }), (items) => {
        const text = printSExpr(items);
        const r = parseSExpr(text);
        expect(r.ok).toBe(true);
        if (r.ok) expect(sexprEqual(r.value, items)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
