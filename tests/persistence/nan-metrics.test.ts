import { describe, expect, it } from 'vitest';
import { nanMarker, readMetric } from '../../persistence/nan-metrics.ts';

describe('the NaN marker of a stored result (REAL cannot hold NaN)', () => {
  it('names every column whose value is NaN, in order, and nothing else', () => {
    expect(nanMarker({ sharpe: 0.5, sortino: NaN, profit_factor: Infinity, adjusted_sharpe: null, sharpe_ci_lower: NaN })).toBe('sortino,sharpe_ci_lower');
  });

  it('is null when no column is NaN: infinities and NULLs need no marker', () => {
    expect(nanMarker({ sortino: Infinity, sharpe_ci_lower: -Infinity, adjusted_sharpe: null, pnl: undefined })).toBeNull();
  });

  it('gives NaN back for a NULL in a named column, null for a NULL in any other, and stored values as they are', () => {
    expect(readMetric(null, 'sortino', 'sortino,sharpe_ci_lower')).toBeNaN();
    expect(readMetric(null, 'sharpe_ci_lower', 'sortino,sharpe_ci_lower')).toBeNaN();
    expect(readMetric(null, 'adjusted_sharpe', 'sortino,sharpe_ci_lower')).toBeNull();
    expect(readMetric(null, 'sort', 'sortino')).toBeNull(); // whole names only
    expect(readMetric(null, 'sortino', null)).toBeNull();
    expect(readMetric(Infinity, 'sortino', 'sortino')).toBe(Infinity);
    expect(readMetric(0.8, 'sortino', null)).toBe(0.8);
  });
});
