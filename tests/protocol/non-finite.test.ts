import { describe, expect, it } from 'vitest';
import { nonFiniteFromText } from '../../protocol/index.ts';

describe('non-finite floats spelled as text (the service forwards the engine inf as "inf")', () => {
  it.each([
    ['inf', Infinity],
    ['+inf', Infinity],
    ['-inf', -Infinity],
    ['INF', Infinity],
    ['Inf', Infinity],
    ['infinity', Infinity],
    ['Infinity', Infinity],
    ['+Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['-INFINITY', -Infinity],
    ['+inf.0', Infinity],
    ['-inf.0', -Infinity],
    ['  inf\n', Infinity],
    ['nan', NaN],
    ['NaN', NaN],
    ['NAN', NaN],
    ['-nan', NaN],
    ['+nan.0', NaN],
  ])('%j is %s', (text, value) => {
    expect(nonFiniteFromText(text)).toBe(value);
  });

  it.each(['', 'in', 'infinit', 'infinityy', 'inf inf', '1e999', '0.5', '52', '"inf"', 'nil', 'none', '--inf', '+-inf', 'inf.00', 'nan.1'])('%j is not a non-finite spelling', (text) => {
    expect(nonFiniteFromText(text)).toBeUndefined();
  });
});
