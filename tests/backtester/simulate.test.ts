/**
 * The crossover strategy and its metrics on a hand-made series: one bar per UTC day, fast SMA(2),
 * slow SMA(3), sl 1.0, tp 1.5. Every number below was worked out by hand (see the comments).
 */
import { describe, expect, it } from 'vitest';
import { candlesFromBars, tradingDays } from '../../backtester/candles.ts';
import { sma } from '../../backtester/indicators.ts';
import { computeMetrics, dailyReturns, maxDrawdown, sharpeRatio, sortinoRatio } from '../../backtester/metrics.ts';
import { crossAt, simulateCrossover } from '../../backtester/simulate.ts';

const DAY = 86_400;
const bar = (day: number, open: number, high: number, low: number, close: number) => ({ timestamp: day * DAY, open, high, low, close });

//            day open  high  low   close    sma2    sma3     what happens at this bar
const SERIES = [
  bar(0, 10, 10, 10, 10), //                  -       -
  bar(1, 10, 10, 10, 10), //                 10       -
  bar(2, 10, 10, 10, 10), //                 10      10
  bar(3, 10, 11, 10, 11), //               10.5   10.333   bullish cross -> long @ 11 (sl 10, tp 12.5)
  bar(4, 11, 12.2, 10.8, 12), //           11.5      11
  bar(5, 12, 12.6, 11.9, 12.4), //         12.2    11.8     high 12.6 >= 12.5: take profit @ 12.5, +1.5
  bar(6, 12.4, 12.4, 11, 11), //           11.7    11.8     bearish cross -> short @ 11 (sl 12, tp 9.5)
  bar(7, 11, 11.3, 10.5, 10.6), //         10.8   11.333
  bar(8, 10.6, 12.3, 10.6, 12.2), //       11.4   11.267   high 12.3 >= 12: stop @ 12, -1; bullish cross -> long @ 12.2
  bar(9, 12.2, 12.5, 11.9, 12), //         12.1    11.6
  bar(10, 12, 12, 11.4, 11.5), //         11.75    11.9     bearish cross: close long @ 11.5 (-0.7), short @ 11.5
  bar(11, 11.5, 11.6, 10.8, 10.8), //     11.15   11.433   last bar: short closed @ 10.8 (+0.7)
];

const candles = candlesFromBars(SERIES);
const fast = sma(candles.close, 2);
const slow = sma(candles.close, 3);
const trades = simulateCrossover(candles, fast, slow, { sl: 1, tp: 1.5 });
// volume 0.01 lot * 100,000 units: one unit of price is 1,000 of money.
const money = { moneyPerPriceUnit: 1000, initialEquity: 10_000 };

describe('crossover signals', () => {
  it('a cross needs both averages defined on the bar and the one before', () => {
    expect(crossAt(fast, slow, 2)).toBe(0); // slow undefined at day 1
  });

  it('fast moving from <= slow to > slow is bullish, from >= slow to < slow is bearish', () => {
    expect(crossAt(fast, slow, 3)).toBe(1); // 10 <= 10, then 10.5 > 10.333
    expect(crossAt(fast, slow, 6)).toBe(-1);
    expect(crossAt(fast, slow, 4)).toBe(0);
  });
});

describe('crossover simulation', () => {
  it('takes the hand-computed trades: tp, sl, stop-and-reverse on the opposite cross, close at the end', () => {
    expect(trades.map((t) => [t.side, t.entryTime / DAY, t.entryPrice, t.exitTime / DAY, t.exit])).toEqual([
      [1, 3, 11, 5, 'tp'],
      [-1, 6, 11, 8, 'sl'],
      [1, 8, 12.2, 10, 'cross'],
      [-1, 10, 11.5, 11, 'end'],
    ]);
    const exits = trades.map((t) => t.exitPrice);
    [12.5, 12, 11.5, 10.8].forEach((p, i) => expect(exits[i]).toBeCloseTo(p, 12));
    [1.5, -1, -0.7, 0.7].forEach((p, i) => expect(trades[i].pnl).toBeCloseTo(p, 12));
  });

  it('when stop and target are both inside one bar the stop is taken', () => {
    const c = candlesFromBars([bar(0, 10, 10, 10, 10), bar(1, 10, 10, 10, 10), bar(2, 10, 12, 10, 11), bar(3, 11, 13, 9, 11), bar(4, 11, 11, 11, 11)]);
    const t = simulateCrossover(c, [NaN, 10, 10.5, 10.5, 10.5], [NaN, 10, 10.4, 10.4, 10.4], { sl: 1, tp: 1 });
    expect(t[0]).toMatchObject({ side: 1, entryPrice: 11, exitPrice: 10, exit: 'sl', pnl: -1 });
  });

  it('a bar that opens beyond the stop fills at its open (a gap)', () => {
    const c = candlesFromBars([bar(0, 10, 10, 10, 10), bar(1, 10, 10, 10, 11), bar(2, 9, 9.5, 8.5, 9), bar(3, 9, 9, 9, 9)]);
    // bullish cross at bar 1 -> long @ 11, stop at 10; bar 2 opens at 9, below the stop
    const t = simulateCrossover(c, [9, 11, 11, 11], [10, 10, 10, 10], { sl: 1, tp: 0 });
    expect(t[0]).toMatchObject({ entryPrice: 11, exitPrice: 9, exit: 'sl', pnl: -2 });
  });

  it('no position is opened on the last bar', () => {
    const c = candlesFromBars([bar(0, 10, 10, 10, 10), bar(1, 10, 11, 10, 11)]);
    expect(simulateCrossover(c, [9, 11], [10, 10], { sl: 1, tp: 1 })).toEqual([]);
  });
});

describe('metrics of the hand-computed trades', () => {
  const days = tradingDays(candles.time); // days 0..11
  const m = computeMetrics(trades, days, money);

  it('counts trades, wins and losses; pnl is the sum of price differences', () => {
    expect(m).toMatchObject({ trades: 4, wins: 2, losses: 2 });
    expect(m.pnl).toBeCloseTo(0.5, 12); // 1.5 - 1 - 0.7 + 0.7
  });

  it('win rate is wins / trades as a fraction', () => {
    expect(m.winRate).toBe(0.5);
  });

  it('profit factor is gross profit / gross loss', () => {
    expect(m.profitFactor).toBeCloseTo(2.2 / 1.7, 12); // (1.5 + 0.7) / (1 + 0.7)
  });

  it('daily returns divide each day\'s money by the equity at the start of the day, zero days included', () => {
    const r = dailyReturns(trades, days, money);
    expect(r).toHaveLength(12);
    const expected = [0, 0, 0, 0, 0, 1500 / 10_000, 0, 0, -1000 / 11_500, 0, -700 / 10_500, 700 / 9800];
    expected.forEach((x, i) => expect(r[i]).toBeCloseTo(x, 12));
  });

  it('sharpe is mean / sample sd of daily returns * sqrt(252)', () => {
    // mean 0.0056504486, sample sd (n - 1 = 11) 0.0597150743 -> 0.0946224 * 15.8745079 = 1.50210130
    expect(m.sharpe).toBeCloseTo(1.5021012959591635, 10);
  });

  it('sortino divides the mean by the downside deviation over all days', () => {
    // sqrt((0.0869565^2 + 0.0666667^2) / 12) = 0.0316294 -> 0.0056504486 / 0.0316294 * sqrt(252) = 2.8358079
    expect(m.sortino).toBeCloseTo(2.835807858113373, 10);
  });

  it('max drawdown is the largest fall from a peak of equity as a fraction of the peak', () => {
    // equity 10,000 -> 11,500 (peak) -> 10,500 -> 9,800 -> 10,500: (11,500 - 9,800) / 11,500
    expect(m.maxDrawdown).toBeCloseTo(1700 / 11_500, 12);
  });
});

describe('metric edge cases', () => {
  it('no losing trade: profit factor 0, sortino +inf', () => {
    const t = [{ exitTime: 0, pnl: 1 }, { exitTime: DAY, pnl: 2 }];
    const m = computeMetrics(t, [0, 1, 2], money);
    expect(m.profitFactor).toBe(0);
    expect(m.sortino).toBe(Infinity);
    expect(m.maxDrawdown).toBe(0);
  });

  it('no trades: every metric is 0', () => {
    expect(computeMetrics([], [0, 1, 2], money)).toEqual({ trades: 0, wins: 0, losses: 0, pnl: 0, sharpe: 0, sortino: 0, maxDrawdown: 0, winRate: 0, profitFactor: 0 });
  });

  it('sharpe is 0 with fewer than two days or no variation', () => {
    expect(sharpeRatio([0.1])).toBe(0);
    expect(sharpeRatio([0.1, 0.1, 0.1])).toBe(0);
    expect(sortinoRatio([])).toBe(0);
  });

  it('drawdown is clamped to 1 when equity falls below zero', () => {
    expect(maxDrawdown([{ exitTime: 0, pnl: -20 }], money)).toBe(1);
  });
});
