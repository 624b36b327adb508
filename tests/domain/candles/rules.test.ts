import { describe, it, expect } from 'vitest';
import { MAX_SECONDS_TIMESTAMP, nonPositivePrice, notSeconds, ohlcViolation, parseHeader, timestampStep, windowShortfalls } from '../../../domain/candles/index.ts';

describe('timestampStep', () => {
  it('a later timestamp within the gap threshold is the next bar', () => {
    expect(timestampStep(100, 160, 3600)).toBe('next');
    expect(timestampStep(100, 3700, 3600)).toBe('next');
  });
  it('a later timestamp beyond the threshold is a gap', () => expect(timestampStep(100, 3701, 3600)).toBe('gap'));
  it('an equal timestamp is a duplicate', () => expect(timestampStep(100, 100, 3600)).toBe('duplicate'));
  it('an earlier timestamp is out of order', () => expect(timestampStep(100, 40, 3600)).toBe('out-of-order'));
});

describe('notSeconds: timestamps are Unix seconds', () => {
  it('any value up to 10^11 - 1 (the year 5138) can be seconds', () => {
    for (const ts of [0, -60, 1_700_000_000, MAX_SECONDS_TIMESTAMP]) expect(notSeconds(ts)).toBeNull();
  });
  it('a larger value is not, and the message names the unit it looks like, with the date it would be', () => {
    expect(notSeconds(1_700_000_000_000)).toBe('timestamp 1700000000000 is too large for Unix seconds: it looks like milliseconds (2023-11-14T22:13:20Z)');
    expect(notSeconds(MAX_SECONDS_TIMESTAMP + 1)).toMatch(/looks like milliseconds \(1973-03-03T09:46:40Z\)$/);
    expect(notSeconds(1_700_000_000_000_000)).toMatch(/looks like microseconds \(2023-11-14T22:13:20Z\)$/);
    expect(notSeconds(1.7e18)).toMatch(/looks like nanoseconds \(2023-11-14T22:13:20Z\)$/);
  });
});

describe('bar rules', () => {
  it('a consistent bar has no violation, including a flat bar', () => {
    expect(ohlcViolation(1.2, 1.3, 1.1, 1.25)).toBeNull();
    expect(ohlcViolation(1.2, 1.2, 1.2, 1.2)).toBeNull();
  });
  it('names the first broken invariant', () => {
    expect(ohlcViolation(1.2, 1.1, 1.3, 1.2)).toBe('low 1.3 is above high 1.1');
    expect(ohlcViolation(1.2, 1.3, 1.21, 1.25)).toBe('low 1.21 is above open 1.2');
    expect(ohlcViolation(1.2, 1.3, 1.1, 1.05)).toBe('low 1.1 is above close 1.05');
    expect(ohlcViolation(1.4, 1.3, 1.1, 1.2)).toBe('open 1.4 is above high 1.3');
    expect(ohlcViolation(1.2, 1.3, 1.1, 1.31)).toBe('close 1.31 is above high 1.3');
  });
  it('prices must all be positive', () => {
    expect(nonPositivePrice(1, 1, 1, 1)).toBeNull();
    expect(nonPositivePrice(1, 1, 0, 1)).toBe('low 0 is not positive');
    expect(nonPositivePrice(1, 1, 1, -2)).toBe('close -2 is not positive');
  });
});

describe('windowShortfalls', () => {
  it('no window is always covered', () => expect(windowShortfalls(100, 200, null, null)).toEqual([]));
  it('both bounds: first <= start and last >= end, bounds included', () => {
    expect(windowShortfalls(100, 200, 100, 200)).toEqual([]);
    expect(windowShortfalls(100, 200, 99, 200)).toHaveLength(1);
    expect(windowShortfalls(100, 200, 100, 201)).toHaveLength(1);
    expect(windowShortfalls(100, 200, 50, 250)).toHaveLength(2);
  });
  it('start only: the start lies within the data', () => {
    expect(windowShortfalls(100, 200, 150, null)).toEqual([]);
    expect(windowShortfalls(100, 200, 201, null)).toEqual(['requested start_time 201 is after the last timestamp 200']);
  });
  it('end only: the end lies within the data', () => {
    expect(windowShortfalls(100, 200, null, 150)).toEqual([]);
    expect(windowShortfalls(100, 200, null, 99)).toEqual(['requested end_time 99 is before the first timestamp 100']);
  });
});

describe('parseHeader', () => {
  it('accepts the real header, the header without volume, and extra columns after volume', () => {
    expect(parseHeader('timestamp,open,high,low,close,volume')).toEqual({
      ok: true,
      header: { columns: ['timestamp', 'open', 'high', 'low', 'close', 'volume'], checkedColumns: 6, hasVolume: true },
    });
    expect(parseHeader('timestamp,open,high,low,close')).toMatchObject({ ok: true, header: { checkedColumns: 5, hasVolume: false } });
    expect(parseHeader('timestamp,open,high,low,close,volume,spread')).toMatchObject({ ok: true, header: { checkedColumns: 6 } });
  });
  it('rejects a missing, reordered, renamed or duplicated column', () => {
    for (const text of ['', 'timestamp,open,high,low', 'time,open,high,low,close', 'timestamp,open,low,high,close', 'timestamp,open,high,low,close,spread', 'timestamp,open,high,low,close,volume,open']) {
      expect(parseHeader(text).ok, text).toBe(false);
    }
  });
});
