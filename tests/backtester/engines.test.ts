import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeBacktestRequest, decodeBacktestResult, encodeBacktestResult, type BacktestRequest, type BacktestSuccess } from '../../protocol/index.ts';
import { ManualClock } from '../../runtime/clock.ts';
import { averageKindFor, echoEngine, echoMetrics, failingEngine, smaCrossoverEngine, withDelay } from '../../backtester/engines.ts';
import { REFERENCE_REQUEST_FRAME, requestFrame, sineCsv, tempDir, type TempDir } from './helpers.ts';

function request(frame: string): BacktestRequest {
  const r = decodeBacktestRequest(frame);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const REQ = request(REFERENCE_REQUEST_FRAME);

describe('echo engine', () => {
  it('answers at once with the metrics echoMetrics predicts from the strategy name', async () => {
    const r = await echoEngine(REQ);
    expect(r).toMatchObject({ kind: 'success', requestId: '0193b0b2-...', strategyName: 'Foo-OOS', ...echoMetrics('Foo-OOS') });
  });

  it('metrics are plausible: trades >= 0, wins + losses = trades, win rate 0..1, drawdown 0..1', () => {
    for (const name of ['a', 'Foo-OOS', 'Bar-OOS', 'x'.repeat(50), 'ü-OOS']) {
      const m = echoMetrics(name);
      expect(m.trades).toBeGreaterThanOrEqual(0);
      expect(m.wins + m.losses).toBe(m.trades);
      expect(m.winRate).toBeGreaterThanOrEqual(0);
      expect(m.winRate).toBeLessThanOrEqual(1);
      expect(m.maxDrawdown).toBeGreaterThan(0);
      expect(m.maxDrawdown).toBeLessThan(1);
      expect(m.profitFactor).toBeGreaterThan(0);
    }
    expect(echoMetrics('Foo-OOS')).toEqual(echoMetrics('Foo-OOS'));
    expect(echoMetrics('Foo-OOS')).not.toEqual(echoMetrics('Bar-OOS'));
  });

  it('trade_list is present iff include_trades, with timestamps inside the window', async () => {
    const withTrades = (await echoEngine(REQ)) as BacktestSuccess;
    expect(withTrades.tradeList!.length).toBeGreaterThan(0);
    for (const t of withTrades.tradeList!) expect(t.timestamp).toBeGreaterThanOrEqual(1700000000);
    const without = (await echoEngine({ ...REQ, includeTrades: false })) as BacktestSuccess;
    expect(without.tradeList).toBeUndefined();
  });
});

describe('failing engine and delay', () => {
  it('failingEngine answers the given error text for the request', async () => {
    expect(await failingEngine('Empty output')(REQ)).toEqual({ kind: 'error', requestId: '0193b0b2-...', strategyName: 'Foo-OOS', error: 'Empty output' });
  });

  it('withDelay answers only once the clock has moved by the delay', async () => {
    const clock = new ManualClock();
    let done = false;
    const p = Promise.resolve(withDelay(echoEngine, 500, clock)(REQ)).then((r) => {
      done = true;
      return r;
    });
    clock.advance(499);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    expect((await p)?.kind).toBe('success');
  });
});

describe('sma crossover engine', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  const T0 = 1_700_006_400; // 00:00 UTC, 2023-11-15
  const DAY = 86_400;

  function req(file: string, extra: { startTime?: number; endTime?: number; timeframe?: number } = {}): BacktestRequest {
    return request(requestFrame({ requestId: 'r-1', candlesFile: file, includeTrades: true, timeframe: extra.timeframe ?? 5, ...extra }));
  }

  it('a missing candles file is answered No data available', async () => {
    expect(await smaCrossoverEngine()(req(`${dir.path}/USDJPY_M1.csv`))).toMatchObject({ kind: 'error', requestId: 'r-1', error: 'No data available' });
  });

  it('an empty file, or a window without bars, is answered No data available', async () => {
    const engine = smaCrossoverEngine();
    expect(await engine(req(dir.file('e.csv', 'timestamp,open,high,low,close,volume\n')))).toMatchObject({ error: 'No data available' });
    const f = dir.file('d.csv', sineCsv(T0, 100));
    expect(await engine(req(f, { startTime: T0 + 10 * DAY }))).toMatchObject({ error: 'No data available' });
  });

  it('a malformed file is answered CSV load error with the line', async () => {
    const f = dir.file('bad.csv', 'timestamp,open,high,low,close,volume\n60,1,1,1,1,1\n120,1,1,1\n');
    expect(await smaCrossoverEngine()(req(f))).toMatchObject({ kind: 'error', error: 'CSV load error: line 3: expected 6 fields, got 4' });
  });

  it('without candles_file, the data directory is searched for <data_id>.csv', async () => {
    dir.file('USDJPY_M1.csv', sineCsv(T0, 3 * 1440));
    const r = { ...req('x'), candlesFile: undefined } as BacktestRequest;
    expect((await smaCrossoverEngine({ dataDir: dir.path })(r))?.kind).toBe('success');
    expect(await smaCrossoverEngine()(r)).toMatchObject({ error: 'No data available' });
  });

  it('start_time/end_time are honoured: trades outside the window never appear, and bars outside it change nothing', async () => {
    const f = dir.file('USDJPY_M1.csv', sineCsv(T0, 4 * 1440));
    const start = T0 + DAY + 3600 + 7 * 60; // mid-bucket for M5
    const end = T0 + 3 * DAY - 1;
    const engine = smaCrossoverEngine();
    const full = (await engine(req(f))) as BacktestSuccess;
    const windowed = (await engine(req(f, { startTime: start, endTime: end }))) as BacktestSuccess;
    expect(full.kind).toBe('success');
    expect(windowed.kind).toBe('success');
    expect(full.tradeList!.some((t) => t.timestamp < start || t.timestamp > end)).toBe(true);
    expect(windowed.trades).toBeGreaterThan(0);
    expect(windowed.trades).toBeLessThan(full.trades);
    for (const t of windowed.tradeList!) {
      expect(t.timestamp).toBeGreaterThanOrEqual(start);
      expect(t.timestamp).toBeLessThanOrEqual(end);
    }
    // The same window cut out of the file by hand gives the same answer.
    const rows = sineCsv(T0, 4 * 1440).trim().split('\n');
    const cut = [rows[0], ...rows.slice(1).filter((l) => Number(l.split(',')[0]) >= start && Number(l.split(',')[0]) <= end)];
    const g = dir.file('cut.csv', cut.join('\n') + '\n');
    expect(await engine(req(g))).toEqual(windowed);
  });

  it('results are consistent: wins + losses <= trades, win rate = wins / trades, trade pnl sums to pnl', async () => {
    const f = dir.file('USDJPY_M1.csv', sineCsv(T0, 2 * 1440));
    const r = (await smaCrossoverEngine()(req(f))) as BacktestSuccess;
    expect(r.trades).toBe(r.tradeList!.length);
    expect(r.wins + r.losses).toBeLessThanOrEqual(r.trades);
    expect(r.winRate).toBeCloseTo(r.wins / r.trades, 12);
    expect(r.tradeList!.reduce((s, t) => s + t.pnl, 0)).toBeCloseTo(r.pnl, 9);
    expect(r.maxDrawdown).toBeGreaterThanOrEqual(0);
    expect(r.maxDrawdown).toBeLessThanOrEqual(1);
  });

  it('a real result survives the wire: encoded and decoded back it is the same result', async () => {
    const f = dir.file('USDJPY_M1.csv', sineCsv(T0, 2 * 1440));
    const r = (await smaCrossoverEngine()(req(f))) as BacktestSuccess;
    const back = decodeBacktestResult(encodeBacktestResult(r));
    expect(back.ok && back.value).toEqual(r);
  });

  it('include_trades false leaves trade_list out', async () => {
    const f = dir.file('USDJPY_M1.csv', sineCsv(T0, 1440));
    const r = (await smaCrossoverEngine()({ ...req(f), includeTrades: false })) as BacktestSuccess;
    expect(r.tradeList).toBeUndefined();
  });

  it('indicator_type ema runs an EMA crossover; every other type falls back to SMA', () => {
    expect(averageKindFor('ema')).toBe('ema');
    for (const t of ['sma', 'rsi', 'macd', 'bb', 'vwap']) expect(averageKindFor(t)).toBe('sma');
  });
});
