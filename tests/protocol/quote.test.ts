import { describe, expect, it } from 'vitest';
import { quoteText } from '../../protocol/index.ts';

describe('quoteText', () => {
  it('quotes text for a one-line message: control characters escaped, long text cut with an ellipsis', () => {
    expect(quoteText('BACKTEST')).toBe('"BACKTEST"');
    expect(quoteText('a\nb\r"c"\u0000')).toBe('"a\\nb\\r\\"c\\"\\u0000"');
    expect(quoteText('x'.repeat(50), 10)).toBe(`"${'x'.repeat(10)}"...`);
    expect(quoteText('\n'.repeat(100)).includes('\n')).toBe(false);
  });
});
