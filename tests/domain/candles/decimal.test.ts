import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { isIntegerLiteral, parseDecimal } from '../../../domain/candles/decimal.ts';

const parse = (text: string): number => {
  // Parse from the middle of a larger buffer, as the scanner does.
  const bytes = Buffer.from(`##${text}##`, 'latin1');
  return parseDecimal(bytes, 2, bytes.length - 2);
};

const GRAMMAR = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

describe('parseDecimal', () => {
  it('accepts decimal, integer, signed and exponent forms with the value Number() gives', () => {
    for (const text of ['147.602', '42', '-1.5', '1e-5', '+3', '.5', '5.', '1E5', '2.5e+3', '0.000123', '-0', '0', '00012', '1727772840', '147.600']) {
      expect(Object.is(parse(text), Number(text)), text).toBe(true);
    }
  });

  it('rejects text that is not a finite number, including forms Number() accepts', () => {
    for (const text of ['', 'abc', '1.2.3', 'NaN', 'inf', 'Infinity', '-', '+', '.', '1e', '1e+', ' 1', '1 ', '0x10', '1e400', '-1e400', '1_0', '1,5', '--1', 'e5', '"1"']) {
      expect(parse(text), JSON.stringify(text)).toBeNaN();
    }
  });

  it('equals Number() on the shortest text of any finite double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        const text = String(d);
        expect(Object.is(parse(text), Number(text))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('equals Number() on prices written with 0 to 6 decimals', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 6 }), (d, decimals) => {
        const text = d.toFixed(decimals);
        expect(Object.is(parse(text), Number(text))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('equals Number() on grammar-valid digit strings of any length and exponent', () => {
    const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
    const text = fc
      .tuple(fc.constantFrom('', '+', '-'), digits(1, 25), fc.option(digits(0, 25)), fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 3))))
      .map(([sign, int, frac, exp]) => `${sign}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : exp.join('')}`);
    fc.assert(
      fc.property(text, (t) => {
        const expected = Number(t);
        expect(Object.is(parse(t), Number.isFinite(expected) ? expected : NaN)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('on any text over number characters, is NaN or exactly Number(text), and NaN only off-grammar or non-finite', () => {
    const text = fc.string({ unit: fc.constantFrom(...'0123456789.eE+-'), maxLength: 12 });
    fc.assert(
      fc.property(text, (t) => {
        const value = parse(t);
        const valid = GRAMMAR.test(t) && Number.isFinite(Number(t));
        if (valid) expect(Object.is(value, Number(t))).toBe(true);
        else expect(value).toBeNaN();
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('isIntegerLiteral', () => {
  it('accepts an optional sign followed by digits only', () => {
    const check = (t: string) => isIntegerLiteral(Buffer.from(t), 0, t.length);
    expect(['1700000000', '-5', '+7', '0'].map(check)).toEqual([true, true, true, true]);
    expect(['', '-', '1.0', '1e9', ' 1', '1a'].map(check)).toEqual([false, false, false, false, false, false]);
  });
});
