import { describe, it, expect } from 'vitest';
import { classifyServiceError, unwrapServiceError } from '../../protocol/index.ts';

describe('service error classification', () => {
  it('service-side transient failures are retryable: Guardian process failure, Empty output', () => {
    expect(classifyServiceError('Guardian process failure')).toEqual({ retryable: true, category: 'transient' });
    expect(classifyServiceError('Empty output')).toEqual({ retryable: true, category: 'transient' });
  });

  it('a missing Guardian binary is retryable with category setup (an operator can fix it within the attempt budget)', () => {
    expect(classifyServiceError('Guardian binary missing')).toEqual({ retryable: true, category: 'setup' });
  });

  it('timeouts are retryable', () => {
    expect(classifyServiceError('Backtest timeout')).toEqual({ retryable: true, category: 'timeout' });
    expect(classifyServiceError('worker timed out')).toEqual({ retryable: true, category: 'timeout' });
  });

  it('data problems are not retryable: No data available, CSV load error', () => {
    expect(classifyServiceError('No data available')).toEqual({ retryable: false, category: 'no-data' });
    expect(classifyServiceError('CSV load error: No such file or directory (os error 2)')).toEqual({ retryable: false, category: 'bad-data' });
  });

  it('request problems are not retryable: S-Exp parse error, missing request_id', () => {
    expect(classifyServiceError('S-Exp parse error: unexpected token')).toEqual({ retryable: false, category: 'bad-request' });
    expect(classifyServiceError('missing request_id')).toEqual({ retryable: false, category: 'bad-request' });
  });

  it('matching ignores case and surrounding whitespace', () => {
    expect(classifyServiceError('  no DATA available\n').retryable).toBe(false);
  });

  it('unknown texts are retryable (bounded attempts still apply)', () => {
    expect(classifyServiceError('')).toEqual({ retryable: true, category: 'unknown' });
    expect(classifyServiceError('disk on fire')).toEqual({ retryable: true, category: 'unknown' });
  });
});

/**
 * The host's service puts the engine's whole ERROR line in the result's `error` field; these are
 * its texts as they arrive (after our reader has unescaped the string), and the bare messages.
 */
describe('service error classification: the engine ERROR line wrapped by the service', () => {
  const wrapped = (message: string) => `((type . "ERROR") (error . "${message.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"))`;

  it.each([
    ['S-Exp parse error: unexpected token at line 1 column 212', false, 'bad-request'],
    ['CSV load error: No such file or directory (os error 2)', false, 'bad-data'],
    ['No candles provided', false, 'no-data'],
    ['Empty candles', false, 'no-data'],
    ['No data available', false, 'no-data'],
    ['missing request_id', false, 'bad-request'],
    ['Guardian process failure', true, 'transient'],
    ['Empty output', true, 'transient'],
    ['backtest timed out', true, 'timeout'],
    ['disk on fire', true, 'unknown'],
  ] as const)('wrapped "%s": retryable=%s (%s), the same as the bare message', (message, retryable, category) => {
    expect(classifyServiceError(wrapped(message))).toEqual({ retryable, category });
    expect(classifyServiceError(message)).toEqual({ retryable, category });
  });

  it('No candles provided and Empty candles are not retryable in the bare form either', () => {
    expect(classifyServiceError('No candles provided')).toEqual({ retryable: false, category: 'no-data' });
    expect(classifyServiceError('Empty candles')).toEqual({ retryable: false, category: 'no-data' });
  });

  it('the exact wrapped texts of the service are not retryable', () => {
    expect(classifyServiceError('((type . "ERROR") (error . "S-Exp parse error: expected a list at line 1 column 1"))').retryable).toBe(false);
    expect(classifyServiceError('((type . "ERROR") (error . "CSV load error: invalid digit found in string"))').retryable).toBe(false);
    expect(classifyServiceError('((type . "ERROR") (error . "No candles provided"))').retryable).toBe(false);
    expect(classifyServiceError('((type . "ERROR") (error . "Empty candles"))').retryable).toBe(false);
  });

  it('a message with quotes inside the wrapped line is read whole', () => {
    const text = wrapped('S-Exp parse error: unknown variant "foo", expected one of "sma", "ema"');
    expect(unwrapServiceError(text)).toBe('S-Exp parse error: unknown variant "foo", expected one of "sma", "ema"');
    expect(classifyServiceError(text).retryable).toBe(false);
  });

  it('the JSON form of the ERROR line is classified by its message too', () => {
    expect(classifyServiceError('{"type": "ERROR", "error": "S-Exp parse error: eof"}')).toEqual({ retryable: false, category: 'bad-request' });
    expect(classifyServiceError('{"type": "ERROR", "error": "Guardian process failure"}')).toEqual({ retryable: true, category: 'transient' });
  });

  it('key order, a message key, surrounding space and a second wrapping do not matter', () => {
    expect(classifyServiceError('  ((error . "Empty candles") (type . "ERROR"))\n').retryable).toBe(false);
    expect(classifyServiceError('((type . "ERROR") (message . "CSV load error: x"))').category).toBe('bad-data');
    expect(classifyServiceError(wrapped(wrapped('No candles provided'))).category).toBe('no-data');
  });

  it('a wrapped line cut short still classifies by the quoted message inside it', () => {
    expect(classifyServiceError('((type . "ERROR") (error . "S-Exp parse error: unexpected')).toEqual({ retryable: false, category: 'bad-request' });
  });

  it('an ERROR line without a message is unknown, so retryable (bounded attempts still apply)', () => {
    expect(classifyServiceError('((type . "ERROR"))')).toEqual({ retryable: true, category: 'unknown' });
    expect(unwrapServiceError('((type . "ERROR"))')).toBe('((type . "ERROR"))');
  });

  it('a bare message is its own message', () => {
    expect(unwrapServiceError('No data available')).toBe('No data available');
  });
});
