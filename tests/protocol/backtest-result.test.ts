import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import {
  classifyServiceError,
  decodeBacktestResult,
  encodeBacktestResult,
  type BacktestFailure,
  type BacktestResult,
  type BacktestSuccess,
} from '../../protocol/index.ts';
import { resultArb } from './arbitraries.ts';
import {
  ENGINE_PARSE_ERROR_LINE,
  REFERENCE_METRICS,
  REFERENCE_SUCCESS_FRAME,
  referenceErrorFrame,
  resultFrame,
  SERVICE_SUCCESS,
  SERVICE_SUCCESS_FRAME,
  SERVICE_WRAPPED_ERROR_FRAME,
} from './golden.ts';

function decode(frame: string | Uint8Array): BacktestResult {
  const r = decodeBacktestResult(frame);
  if (!r.ok) throw new Error(`unexpected decode error: ${r.error.message}`);
  return r.value;
}

function success(frame: string): BacktestSuccess {
  const v = decode(frame);
  if (v.kind !== 'success') throw new Error(`expected a success, got error ${v.error}`);
  return v;
}

function failure(frame: string): BacktestFailure {
  const v = decode(frame);
  if (v.kind !== 'error') throw new Error('expected an error result');
  return v;
}

function rejection(frame: string) {
  const r = decodeBacktestResult(frame);
  if (r.ok) throw new Error(`expected a rejection, got ${JSON.stringify(r.value)}`);
  return r.error;
}

const REQ = '(request_id . "r-1")';

describe('BACKTEST_RESULT decoding: success', () => {
  it('decodes the reference success frame with win_rate as a fraction and max_drawdown as given', () => {
    expect(decode(Buffer.from(REFERENCE_SUCCESS_FRAME))).toEqual({
      kind: 'success',
      requestId: '0193b0b2-...',
      strategyName: 'Foo-OOS',
      trades: 212,
      wins: 118,
      losses: 94,
      pnl: 3.21,
      sharpe: 0.52,
      sortino: 0.8,
      maxDrawdown: 0.031,
      winRate: 0.5566,
      profitFactor: 1.34,
      adjustedSharpe: 0.49,
      sharpeCiLower: -0.1,
      tradeList: [{ timestamp: 1700003600, pnl: 0.012 }],
    });
  });

  it('accepts result wrapped once more as a one-element list: (result ((...)))', () => {
    const wrapped = REFERENCE_SUCCESS_FRAME.replace('(result . ((', '(result ((');
    expect(wrapped).not.toBe(REFERENCE_SUCCESS_FRAME);
    expect(decode(wrapped)).toEqual(decode(REFERENCE_SUCCESS_FRAME));
  });

  it('accepts the result alist spliced as (result (k . v) ...)', () => {
    const spliced = resultFrame(`${REFERENCE_METRICS} ${REQ}`).replace('(result . (', '(result ').replace(/\)\)\)$/, '))');
    expect(success(spliced).trades).toBe(212);
  });

  it.each([
    ['max_dd', 'max_drawdown', 'maxDrawdown', 0.031, 0.031],
    ['max-drawdown', 'max_drawdown', 'maxDrawdown', 0.031, 0.031],
    ['sharpe_ratio', 'sharpe', 'sharpe', 0.52, 0.52],
    ['total_trades', 'trades', 'trades', 212, 212],
    ['total_profit', 'pnl', 'pnl', 3.21, 3.21],
    ['winrate', 'win_rate', 'winRate', 55.66, 0.5566],
    ['pf', 'profit_factor', 'profitFactor', 1.34, 1.34],
  ] as const)('reads alias %s as %s', (alias, canonical, field, wire, value) => {
    const entries = REFERENCE_METRICS.replace(`(${canonical} . ${wire})`, `(${alias} . ${wire})`);
    expect(entries).not.toBe(REFERENCE_METRICS);
    expect(success(resultFrame(`${entries} ${REQ}`))[field]).toBeCloseTo(value, 12);
  });

  it('allows +inf sortino, +inf profit factor and -inf sharpe_ci_lower', () => {
    const entries = REFERENCE_METRICS.replace('(sortino . 0.8)', '(sortino . inf)').replace('(profit_factor . 1.34)', '(profit_factor . +inf)');
    const r = success(resultFrame(`${entries} (sharpe_ci_lower . -inf) ${REQ}`));
    expect(r.sortino).toBe(Infinity);
    expect(r.profitFactor).toBe(Infinity);
    expect(r.sharpeCiLower).toBe(-Infinity);
  });

  it('reads integral metrics printed as floats and floats printed as integers', () => {
    const entries = REFERENCE_METRICS.replace('(trades . 212)', '(trades . 212.0)').replace('(sharpe . 0.52)', '(sharpe . 1)');
    const r = success(resultFrame(`${entries} ${REQ}`));
    expect(r.trades).toBe(212);
    expect(r.sharpe).toBe(1);
  });

  it('reads trade_list in the dotted form and in the Option form', () => {
    const trades = '((timestamp . 1) (pnl . 0.5)) ((timestamp . 2) (pnl . -0.25))';
    const want = [{ timestamp: 1, pnl: 0.5 }, { timestamp: 2, pnl: -0.25 }];
    expect(success(resultFrame(`${REFERENCE_METRICS} (trade_list . (${trades})) ${REQ}`)).tradeList).toEqual(want);
    expect(success(resultFrame(`${REFERENCE_METRICS} (trade_list (${trades})) ${REQ}`)).tradeList).toEqual(want);
    expect(success(resultFrame(`${REFERENCE_METRICS} (trade_list . ()) ${REQ}`)).tradeList).toEqual([]);
    expect(success(resultFrame(`${REFERENCE_METRICS} ${REQ}`)).tradeList).toBeUndefined();
  });

  it('reads scalar fields in the Option form (key value) as well as dotted', () => {
    const entries = REFERENCE_METRICS.replace('(sharpe . 0.52)', '(sharpe 0.52)');
    expect(success(resultFrame(`${entries} (request_id "r-1")`))).toMatchObject({ sharpe: 0.52, requestId: 'r-1' });
  });

  it('reads optional metrics given as (key) or (key . nil) as not reported', () => {
    const r = success(resultFrame(`${REFERENCE_METRICS} (adjusted_sharpe) (sharpe_ci_lower . nil) ${REQ}`));
    expect(r.adjustedSharpe).toBeUndefined();
    expect(r.sharpeCiLower).toBeUndefined();
  });

  it('ignores unknown result keys and the order of keys', () => {
    const r = success(resultFrame(`${REQ} (engine . "v2") ${REFERENCE_METRICS} (extra (a . 1))`));
    expect(r.requestId).toBe('r-1');
  });
});

describe('BACKTEST_RESULT decoding: the frames the running service sends', () => {
  it('decodes its success frame: re-printed floats (52, 1.5, 2), quoted inf and -inf, request_id last', () => {
    expect(decode(Buffer.from(SERVICE_SUCCESS_FRAME))).toEqual(SERVICE_SUCCESS);
  });

  it('reads integer-looking floats as the same numbers, in every float field', () => {
    const r = success(resultFrame('(strategy_name . "X") (trades . 10) (wins . 5) (losses . 5) (pnl . 0) (sharpe . 1) (sortino . 2) (max_drawdown . 0) (win_rate . 100) (profit_factor . 1) (adjusted_sharpe . -1) (sharpe_ci_lower . 0) (request_id . "r-1")'));
    expect(r).toMatchObject({ pnl: 0, sharpe: 1, sortino: 2, maxDrawdown: 0, winRate: 1, profitFactor: 1, adjustedSharpe: -1, sharpeCiLower: 0 });
  });

  it('reads floats printed to 10 significant digits, including the exponent forms Python prints', () => {
    const r = success(resultFrame('(strategy_name . "X") (trades . 1) (wins . 1) (losses . 0) (pnl . 1e-05) (sharpe . 0.1234567891) (sortino . 1.5e+20) (max_drawdown . 0.0001234567891) (win_rate . 33.33333333) (profit_factor . 1234567891) (request_id . "r-1")'));
    expect(r).toMatchObject({ pnl: 1e-5, sharpe: 0.1234567891, sortino: 1.5e20, maxDrawdown: 0.0001234567891, profitFactor: 1234567891 });
    expect(r.winRate).toBeCloseTo(0.3333333333, 12);
  });

  it('decodes its error result carrying the engine ERROR line whole: the text kept, classified by the message inside', () => {
    const r = failure(SERVICE_WRAPPED_ERROR_FRAME);
    expect(r).toEqual({ kind: 'error', requestId: '0193b0b2-...', strategyName: 'Foo-OOS', error: ENGINE_PARSE_ERROR_LINE, retryable: false, category: 'bad-request' });
  });

  it.each([
    ['S-Exp parse error: eof while parsing a list', 'bad-request'],
    ['CSV load error: invalid digit found in string', 'bad-data'],
    ['No candles provided', 'no-data'],
    ['Empty candles', 'no-data'],
  ])('a wrapped "%s" is not retryable (%s)', (message, category) => {
    const line = `((type . "ERROR") (error . "${message}"))`;
    const r = failure(referenceErrorFrame(line.replaceAll('"', '\\"')));
    expect(r.error).toBe(line);
    expect(r).toMatchObject({ retryable: false, category });
  });
});

describe('BACKTEST_RESULT decoding: non-finite metrics, quoted or bare, any case', () => {
  const sortino = (wire: string) => success(resultFrame(`${REFERENCE_METRICS.replace('(sortino . 0.8)', `(sortino . ${wire})`)} ${REQ}`)).sortino;

  it.each([
    ['"inf"', Infinity],
    ['"+inf"', Infinity],
    ['"-inf"', -Infinity],
    ['"INF"', Infinity],
    ['"Infinity"', Infinity],
    ['"-Infinity"', -Infinity],
    ['" inf "', Infinity],
    ['"nan"', NaN],
    ['"NaN"', NaN],
    ['"-nan"', NaN],
    ['inf', Infinity],
    ['+inf', Infinity],
    ['-inf', -Infinity],
    ['Inf', Infinity],
    ['Infinity', Infinity],
    ['+Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['+inf.0', Infinity],
    ['-inf.0', -Infinity],
    ['nan', NaN],
    ['NaN', NaN],
    ['+nan.0', NaN],
  ])('sortino %s reads as %s', (wire, value) => {
    expect(sortino(wire)).toBe(value);
  });

  it('profit_factor may be +inf or nan, quoted or bare; the rest of the result is read as usual', () => {
    for (const [wire, value] of [['"inf"', Infinity], ['inf', Infinity], ['"nan"', NaN], ['nan', NaN]] as const) {
      const r = success(resultFrame(`${REFERENCE_METRICS.replace('(profit_factor . 1.34)', `(profit_factor . ${wire})`)} ${REQ}`));
      expect(r.profitFactor).toBe(value);
      expect(r).toMatchObject({ trades: 212, sharpe: 0.52, winRate: 0.5566, requestId: 'r-1' });
    }
  });

  it('adjusted_sharpe and sharpe_ci_lower may be any non-finite value', () => {
    const r = success(resultFrame(`${REFERENCE_METRICS} (adjusted_sharpe . "nan") (sharpe_ci_lower . "-inf") ${REQ}`));
    expect(r.adjustedSharpe).toBeNaN();
    expect(r.sharpeCiLower).toBe(-Infinity);
    const s = success(resultFrame(`${REFERENCE_METRICS} (adjusted_sharpe . inf) (sharpe_ci_lower . "nan") ${REQ}`));
    expect(s.adjustedSharpe).toBe(Infinity);
    expect(s.sharpeCiLower).toBeNaN();
  });

  it('a refused non-finite value is named in the error, whichever way it was spelled', () => {
    expect(rejection(resultFrame(`${REFERENCE_METRICS.replace('(sharpe . 0.52)', '(sharpe . "inf")')} ${REQ}`)).message).toBe('result.sharpe must be a finite number, got Infinity');
    expect(rejection(resultFrame(`${REFERENCE_METRICS.replace('(profit_factor . 1.34)', '(profit_factor . "-inf")')} ${REQ}`)).message).toBe(
      'result.profit_factor must be a finite number, +inf or nan, got -Infinity',
    );
  });
});

describe('BACKTEST_RESULT decoding: error results carry no metrics', () => {
  it('decodes the reference error form as kind error without a sharpe field', () => {
    const r = failure(referenceErrorFrame('Guardian process failure'));
    expect(r).toEqual({ kind: 'error', requestId: '0193b0b2-...', strategyName: 'Foo-OOS', error: 'Guardian process failure', retryable: true, category: 'transient' });
    expect('sharpe' in r).toBe(false);
  });

  it('represents request_id "MISSING" as an undefined requestId', () => {
    const r = failure(referenceErrorFrame('missing request_id', 'MISSING'));
    expect(r.requestId).toBeUndefined();
    expect(r.retryable).toBe(false);
  });

  it.each([
    ['Guardian process failure', true],
    ['Empty output', true],
    ['Guardian binary missing', true],
    ['No data available', false],
    ['CSV load error: line 3', false],
    ['S-Exp parse error: unexpected )', false],
    ['missing request_id', false],
    ['backtest timed out after 30s', true],
    ['something new and strange', true],
  ])('classifies "%s" as retryable=%s', (text, retryable) => {
    expect(failure(referenceErrorFrame(text)).retryable).toBe(retryable);
    expect(classifyServiceError(text).retryable).toBe(retryable);
  });

  it('treats (error) and (error . nil) as no error', () => {
    expect(success(resultFrame(`${REFERENCE_METRICS} (error) ${REQ}`)).kind).toBe('success');
    expect(success(resultFrame(`${REFERENCE_METRICS} (error . nil) ${REQ}`)).kind).toBe('success');
  });
});

describe('BACKTEST_RESULT decoding: invalid metrics are validation errors, not results', () => {
  it.each([
    ['sharpe is nan', REFERENCE_METRICS.replace('(sharpe . 0.52)', '(sharpe . nan)'), 'result.sharpe'],
    ['sharpe is NaN (Rust spelling)', REFERENCE_METRICS.replace('(sharpe . 0.52)', '(sharpe . NaN)'), 'result.sharpe'],
    // (sortino . nan) is accepted now: the engine may print it (see 'non-finite metrics' below).
    ['sortino is a string that names no number', REFERENCE_METRICS.replace('(sortino . 0.8)', '(sortino . "fast")'), 'result.sortino'],
    ['sharpe is a quoted inf', REFERENCE_METRICS.replace('(sharpe . 0.52)', '(sharpe . "inf")'), 'result.sharpe'],
    ['pnl is a quoted nan', REFERENCE_METRICS.replace('(pnl . 3.21)', '(pnl . "nan")'), 'result.pnl'],
    ['profit_factor is a quoted -inf', REFERENCE_METRICS.replace('(profit_factor . 1.34)', '(profit_factor . "-inf")'), 'result.profit_factor'],
    ['max_drawdown is a quoted nan', REFERENCE_METRICS.replace('(max_drawdown . 0.031)', '(max_drawdown . "nan")'), 'result.max_drawdown'],
    ['win_rate is inf', REFERENCE_METRICS.replace('(win_rate . 55.66)', '(win_rate . inf)'), 'result.win_rate'],
    ['sharpe is inf', REFERENCE_METRICS.replace('(sharpe . 0.52)', '(sharpe . inf)'), 'result.sharpe'],
    ['sharpe is missing', REFERENCE_METRICS.replace(' (sharpe . 0.52)', ''), 'result.sharpe'],
    ['sharpe is a string', REFERENCE_METRICS.replace('(sharpe . 0.52)', '(sharpe . "0.52")'), 'result.sharpe'],
    ['sharpe is None', REFERENCE_METRICS.replace('(sharpe . 0.52)', '(sharpe)'), 'result.sharpe'],
    ['trades is fractional', REFERENCE_METRICS.replace('(trades . 212)', '(trades . 2.5)'), 'result.trades'],
    ['wins is negative', REFERENCE_METRICS.replace('(wins . 118)', '(wins . -1)'), 'result.wins'],
    ['profit_factor is -inf', REFERENCE_METRICS.replace('(profit_factor . 1.34)', '(profit_factor . -inf)'), 'result.profit_factor'],
    ['profit_factor is negative', REFERENCE_METRICS.replace('(profit_factor . 1.34)', '(profit_factor . -0.5)'), 'result.profit_factor'],
    ['max_drawdown looks like a percent', REFERENCE_METRICS.replace('(max_drawdown . 0.031)', '(max_drawdown . 3.1)'), 'result.max_drawdown'],
    ['win_rate is above 100 percent', REFERENCE_METRICS.replace('(win_rate . 55.66)', '(win_rate . 155.66)'), 'result.win_rate'],
    ['strategy_name is missing', REFERENCE_METRICS.replace('(strategy_name . "Foo-OOS") ', ''), 'result.strategy_name'],
  ])('rejects a success whose %s', (_what, entries, path) => {
    const e = rejection(resultFrame(`${entries} ${REQ}`));
    expect(e).toMatchObject({ kind: 'validation', path });
  });

  it('a rejected success still names the request it answers', () => {
    const e = rejection(resultFrame(`${REFERENCE_METRICS.replace('(sharpe . 0.52)', '(sharpe . nan)')} ${REQ}`));
    expect(e.requestId).toBe('r-1');
  });

  it('a success without request_id (or with "MISSING") is rejected', () => {
    expect(rejection(resultFrame(REFERENCE_METRICS)).path).toBe('result.request_id');
    expect(rejection(resultFrame(`${REFERENCE_METRICS} (request_id . "MISSING")`)).path).toBe('result.request_id');
  });

  it('a bad trade in trade_list is rejected with its index in the path', () => {
    const e = rejection(resultFrame(`${REFERENCE_METRICS} (trade_list . (((timestamp . 1) (pnl . 0.5)) ((timestamp . 2) (pnl . nan)))) ${REQ}`));
    expect(e.path).toBe('result.trade_list[1].pnl');
  });

  it('a frame of another type or without result is rejected', () => {
    expect(rejection('((type . "HEARTBEAT") (source . "GUARDIAN") (status . "OK"))').path).toBe('type');
    expect(rejection('((type . "BACKTEST_RESULT"))').path).toBe('result');
    expect(rejection('((result . ((a . 1))))').path).toBe('type');
  });

  it('a top level that is not an alist is rejected with the offending element', () => {
    expect(rejection('((type . "BACKTEST_RESULT") 5)').path).toBe('frame[1]');
    expect(rejection('(a . b)').path).toBe('frame');
  });
});

describe('BACKTEST_RESULT encoding', () => {
  it('encodes the reference success frame byte for byte from its decoded value', () => {
    expect(encodeBacktestResult(decode(REFERENCE_SUCCESS_FRAME))).toBe(REFERENCE_SUCCESS_FRAME);
  });

  it('encodes the reference error form, with the service\'s (sharpe . 0)', () => {
    expect(encodeBacktestResult({ kind: 'error', requestId: '0193b0b2-...', strategyName: 'Foo-OOS', error: 'No data available' })).toBe(
      referenceErrorFrame('No data available'),
    );
  });

  it('encodes an undefined request id as "MISSING"', () => {
    expect(encodeBacktestResult({ kind: 'error', strategyName: 'X', error: 'missing request_id' })).toBe(referenceErrorFrame('missing request_id', 'MISSING', 'X'));
  });

  it('prints NaN and infinities so fakes can send what a broken service would', () => {
    const frame = encodeBacktestResult({ ...success(REFERENCE_SUCCESS_FRAME), sharpe: NaN, sortino: Infinity });
    expect(frame).toContain('(sharpe . nan) (sortino . inf)');
    expect(rejection(frame).path).toBe('result.sharpe');
  });

  it('prints win rate as the shortest percent that divides back to the fraction', () => {
    expect(encodeBacktestResult({ ...success(REFERENCE_SUCCESS_FRAME), winRate: 0.5566 })).toContain('(win_rate . 55.66)');
    expect(encodeBacktestResult({ ...success(REFERENCE_SUCCESS_FRAME), winRate: 1 })).toContain('(win_rate . 100.0)');
  });

  // win_rate crosses the wire as a percent: for a few fractions no double percent divides back to
  // exactly the same double, so that one field is compared to within 2 ulp of 1.0.
  it('decode(encode(result)) equals the result for arbitrary valid results (via UTF-8 bytes; win rate within 2 ulp)', () => {
    fc.assert(
      fc.property(resultArb, (res) => {
        const r = decodeBacktestResult(Buffer.from(encodeBacktestResult(res), 'utf8'));
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        if (res.kind === 'error') {
          const cls = classifyServiceError(res.error);
          expect(r.value).toEqual({ ...res, ...cls });
        } else {
          const got = r.value as BacktestSuccess;
          expect({ ...got, winRate: 0 }).toEqual({ ...res, winRate: 0 });
          expect(Math.abs(got.winRate - res.winRate)).toBeLessThanOrEqual(2 * Number.EPSILON);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
