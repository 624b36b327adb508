import { describe, it, expect } from 'vitest';
import { classifyServiceError } from '../../protocol/index.ts';

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
