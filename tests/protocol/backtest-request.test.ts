import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import {
  createTraceparent,
  decodeBacktestRequest,
  encodeBacktestRequest,
  type BacktestRequest,
} from '../../protocol/index.ts';
import { requestArb } from './arbitraries.ts';
import { REFERENCE_REQUEST, REFERENCE_REQUEST_FRAME } from './golden.ts';

function encode(req: BacktestRequest): string {
  const r = encodeBacktestRequest(req);
  if (!r.ok) throw new Error(`unexpected encode error: ${r.error.message}`);
  return r.value;
}

function decode(frame: string | Uint8Array): BacktestRequest {
  const r = decodeBacktestRequest(frame);
  if (!r.ok) throw new Error(`unexpected decode error: ${r.error.message}`);
  return r.value;
}

describe('BACKTEST request encoding', () => {
  it('encodes byte-for-byte the reference request for the same field values', () => {
    expect(Buffer.from(encode(REFERENCE_REQUEST), 'utf8').equals(Buffer.from(REFERENCE_REQUEST_FRAME, 'utf8'))).toBe(true);
  });

  it('appends traceparent as the last top-level field, dotted', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const frame = encode({ ...REFERENCE_REQUEST, traceparent: tp });
    expect(frame).toBe(REFERENCE_REQUEST_FRAME.slice(0, -1) + ` (traceparent . "${tp}"))`);
  });

  it('prints Option fields as (key value) when Some and leaves them out when None', () => {
    const frame = encode({ ...REFERENCE_REQUEST, dataId: undefined, startTime: undefined, endTime: undefined });
    expect(frame).toContain('(candles_file "/data/historical/USDJPY_M1.csv")');
    expect(frame).not.toContain('data_id');
    expect(frame).not.toContain('start_time');
    expect(frame).not.toContain('end_time');
  });

  it('prints float fields with a decimal point even when integral (sl 1 -> 1.0)', () => {
    const frame = encode({ ...REFERENCE_REQUEST, strategy: { ...REFERENCE_REQUEST.strategy, sl: 1, tp: 2, volume: 1 } });
    expect(frame).toContain('(sl . 1.0) (tp . 2.0) (volume . 1.0)');
  });

  it('prints include_trades false as nil', () => {
    expect(encode({ ...REFERENCE_REQUEST, includeTrades: false })).toContain('(include_trades . nil)');
  });

  it('prints the optional MTF filter keys inside strategy, after timeframe', () => {
    const frame = encode({
      ...REFERENCE_REQUEST,
      strategy: { ...REFERENCE_REQUEST.strategy, filterEnabled: true, filterTf: 'D1', filterPeriod: 200, filterLogic: 'PRICE_ABOVE_SMA' },
    });
    expect(frame).toContain('(timeframe . 60) (filter_enabled . t) (filter_tf . "D1") (filter_period . 200) (filter_logic . "PRICE_ABOVE_SMA"))');
  });

  it('prints indicator_type as a bare symbol', () => {
    expect(encode({ ...REFERENCE_REQUEST, strategy: { ...REFERENCE_REQUEST.strategy, indicatorType: 'vwapvr' } })).toContain('(indicator_type . vwapvr)');
  });

  it('escapes quotes and backslashes in strategy names and keeps Unicode as UTF-8', () => {
    const frame = encode({ ...REFERENCE_REQUEST, strategy: { ...REFERENCE_REQUEST.strategy, name: 'Fish "戦略" \\ 🐟-OOS' } });
    expect(frame).toContain('(name . "Fish \\"戦略\\" \\\\ 🐟-OOS")');
    expect(decode(Buffer.from(frame, 'utf8')).strategy.name).toBe('Fish "戦略" \\ 🐟-OOS');
  });
});

describe('BACKTEST request encoding refuses requests the service could not parse', () => {
  const cases: Array<[string, BacktestRequest, string]> = [
    ['a fractional integer field', { ...REFERENCE_REQUEST, strategy: { ...REFERENCE_REQUEST.strategy, smaShort: 5.5 } }, 'strategy.sma_short'],
    ['a negative period', { ...REFERENCE_REQUEST, strategy: { ...REFERENCE_REQUEST.strategy, smaLong: -1 } }, 'strategy.sma_long'],
    ['a NaN float', { ...REFERENCE_REQUEST, strategy: { ...REFERENCE_REQUEST.strategy, sl: NaN } }, 'strategy.sl'],
    ['an infinite float', { ...REFERENCE_REQUEST, strategy: { ...REFERENCE_REQUEST.strategy, volume: Infinity } }, 'strategy.volume'],
    ['an unknown indicator', { ...REFERENCE_REQUEST, strategy: { ...REFERENCE_REQUEST.strategy, indicatorType: 'foo' as never } }, 'strategy.indicator_type'],
    ['an empty request id', { ...REFERENCE_REQUEST, requestId: '' }, 'request_id'],
    ['a fractional start_time', { ...REFERENCE_REQUEST, startTime: 1.5 }, 'start_time'],
    ['a malformed traceparent', { ...REFERENCE_REQUEST, traceparent: 'nope' }, 'traceparent'],
  ];
  it.each(cases)('rejects %s with a validation error naming the field', (_what, req, path) => {
    const r = encodeBacktestRequest(req);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'validation', path });
  });
});

describe('BACKTEST request decoding', () => {
  it('decodes the reference request frame (bytes) into the reference values', () => {
    expect(decode(Buffer.from(REFERENCE_REQUEST_FRAME))).toEqual(REFERENCE_REQUEST);
  });

  it('accepts Option fields as (key "X"), (key . ("X")) and plain dotted (key . "X")', () => {
    for (const form of ['(data_id "USDJPY_M1")', '(data_id . ("USDJPY_M1"))', '(data_id . "USDJPY_M1")']) {
      const frame = REFERENCE_REQUEST_FRAME.replace('(data_id "USDJPY_M1")', form);
      expect(decode(frame).dataId).toBe('USDJPY_M1');
    }
  });

  it('reads (key) as None for Option fields', () => {
    const frame = REFERENCE_REQUEST_FRAME.replace('(start_time 1700000000)', '(start_time)').replace('(data_id "USDJPY_M1")', '(data_id)');
    const req = decode(frame);
    expect(req.startTime).toBeUndefined();
    expect(req.dataId).toBeUndefined();
    expect(req.endTime).toBe(1715552000);
  });

  it('reads the nested strategy alist in both printed forms to the same value', () => {
    const dottedForm = REFERENCE_REQUEST_FRAME.replace('(strategy (name', '(strategy . ((name').replace('(timeframe . 60))', '(timeframe . 60)))');
    expect(dottedForm).not.toBe(REFERENCE_REQUEST_FRAME);
    expect(decode(dottedForm)).toEqual(decode(REFERENCE_REQUEST_FRAME));
  });

  it('reads include_trades from t, #t, true, nil, #f, (include_trades) and its absence', () => {
    const withValue = (v: string) => REFERENCE_REQUEST_FRAME.replace('(include_trades . t)', v);
    expect(decode(withValue('(include_trades . #t)')).includeTrades).toBe(true);
    expect(decode(withValue('(include_trades . true)')).includeTrades).toBe(true);
    expect(decode(withValue('(include_trades . nil)')).includeTrades).toBe(false);
    expect(decode(withValue('(include_trades . #f)')).includeTrades).toBe(false);
    expect(decode(withValue('(include_trades)')).includeTrades).toBe(false);
    expect(decode(withValue('')).includeTrades).toBe(false);
  });

  it('ignores unknown top-level keys, as the service does', () => {
    const frame = REFERENCE_REQUEST_FRAME.slice(0, -1) + ' (future_key . (1 2 3)) (another "x"))';
    expect(decode(frame)).toEqual(REFERENCE_REQUEST);
  });

  it('keeps a valid traceparent and drops an invalid one instead of rejecting the request (W3C rule)', () => {
    const tp = createTraceparent();
    expect(decode(REFERENCE_REQUEST_FRAME.slice(0, -1) + ` (traceparent . "${tp}"))`).traceparent).toBe(tp);
    expect(decode(REFERENCE_REQUEST_FRAME.slice(0, -1) + ' (traceparent . "garbage"))').traceparent).toBeUndefined();
  });

  it('defaults indicator_type to sma and accepts it as a string too', () => {
    expect(decode(REFERENCE_REQUEST_FRAME.replace(' (indicator_type . sma)', '')).strategy.indicatorType).toBe('sma');
    expect(decode(REFERENCE_REQUEST_FRAME.replace('(indicator_type . sma)', '(indicator_type . "ema")')).strategy.indicatorType).toBe('ema');
  });

  it('fails a frame without request_id with path request_id (so a service can answer "missing request_id")', () => {
    const r = decodeBacktestRequest(REFERENCE_REQUEST_FRAME.replace(' (request_id . "0193b0b2-...")', ''));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'validation', path: 'request_id' });
  });

  it('fails a frame whose action is not BACKTEST', () => {
    const r = decodeBacktestRequest(REFERENCE_REQUEST_FRAME.replace('"BACKTEST"', '"CACHE_DATA"'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.path).toBe('action');
  });

  it('fails a field of the wrong type with its path and the expected type', () => {
    const r = decodeBacktestRequest(REFERENCE_REQUEST_FRAME.replace('(sma_short . 5)', '(sma_short . "5")'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'validation', path: 'strategy.sma_short', expected: 'a non-negative integer' });
  });
});

describe('BACKTEST request round trip', () => {
  it('decode(encode(request)) equals the request for arbitrary valid requests (via UTF-8 bytes)', () => {
    fc.assert(
      fc.property(requestArb, (req) => {
        const r = decodeBacktestRequest(Buffer.from(encode(req), 'utf8'));
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.value).toEqual(req);
      }),
      { numRuns: 500 },
    );
  });

  it('encode(decode(frame)) reproduces the frame for frames the encoder wrote', () => {
    fc.assert(
      fc.property(requestArb, (req) => {
        const frame = encode(req);
        expect(encode(decode(frame))).toBe(frame);
      }),
      { numRuns: 300 },
    );
  });
});
