import { describe, expect, it } from 'vitest';
import { serviceWorkersFromEnv } from '../../transport/service-capacity.ts';

describe("the backtest service's worker count, as the host configures it", () => {
  it('without SWIMMY_BACKTEST_WORKERS: one worker per CPU, at least 1 and at most 4', () => {
    expect([0, 1, 2, 3, 4, 5, 96].map((cpus) => serviceWorkersFromEnv({}, cpus))).toEqual([1, 1, 2, 3, 4, 4, 4]);
    expect(serviceWorkersFromEnv({ SWIMMY_BACKTEST_WORKERS: ' ' }, 3)).toBe(3);
  });

  it('SWIMMY_BACKTEST_WORKERS sets it, above 4 too', () => {
    expect(serviceWorkersFromEnv({ SWIMMY_BACKTEST_WORKERS: '1' }, 8)).toBe(1);
    expect(serviceWorkersFromEnv({ SWIMMY_BACKTEST_WORKERS: '16' }, 2)).toBe(16);
  });

  it('a value that is not a whole number >= 1 is refused with the variable named', () => {
    for (const bad of ['0', '-2', '1.5', 'four', '1e400']) {
      expect(() => serviceWorkersFromEnv({ SWIMMY_BACKTEST_WORKERS: bad }, 2)).toThrow(`SWIMMY_BACKTEST_WORKERS must be an integer >= 1 (the backtest service's worker count), got '${bad}'`);
    }
  });
});
