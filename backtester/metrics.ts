/**
 * Backtest metrics as the host's service defines them. Pure.
 *
 * Money: a trade's PnL is a price difference per unit; it becomes money as
 * `pnl * moneyPerPriceUnit`, where the engine passes `volume (lots) * contractSize` (100,000
 * units per lot), so 0.3 on 0.01 lots moves the equity by 300. Equity starts at 10,000 and never
 * compounds position size (volume is fixed per strategy).
 *
 *   trades / wins / losses   a win has pnl > 0, a loss pnl < 0 (a flat trade is neither)
 *   pnl                      sum of the trades' price differences (not money)
 *   win_rate                 wins / trades as a FRACTION here (the wire prints a percent); 0 with no trades
 *   profit_factor            gross profit / gross loss (sums of price differences); 0 when no losing trade
 *   daily returns            one per trading day (a UTC day that has at least one bar, traded or
 *                            not: zero-PnL days count): the money of the trades that EXIT that day
 *                            divided by the equity at the start of the day (0 once equity is <= 0)
 *   sharpe                   mean / sample standard deviation (n - 1) of the daily returns * sqrt(252);
 *                            0 with fewer than two days or all days equal
 *   sortino                  mean / downside deviation * sqrt(252), downside deviation =
 *                            sqrt(sum(min(r, 0)^2) / n) over all days; with no losing day it is
 *                            +inf when the mean is positive, 0 otherwise (no trades at all)
 *   max_drawdown             largest (peak - equity) / peak over the equity after each trade in
 *                            exit order, the start equity being the first peak; a fraction clamped to 0..1
 */
import type { BacktestSuccess } from '../protocol/index.ts';
import { utcDay } from './candles.ts';

export const INITIAL_EQUITY = 10_000;
export const TRADING_DAYS_PER_YEAR = 252;

export interface ClosedTrade {
  /** Unix seconds; the day a trade's money counts on. */
  readonly exitTime: number;
  /** Price difference. */
  readonly pnl: number;
}

export interface MetricsOptions {
  /** Money per unit of price difference (volume * contract size). */
  readonly moneyPerPriceUnit: number;
  readonly initialEquity?: number;
}

/** What a backtest computes: the metric fields of the wire's success result (win rate a fraction). */
export type Metrics = Pick<BacktestSuccess, 'trades' | 'wins' | 'losses' | 'pnl' | 'sharpe' | 'sortino' | 'maxDrawdown' | 'winRate' | 'profitFactor'>;

/**
 * Daily returns over `days` (UTC day numbers, ascending; days that trades exit on but that are
 * missing from the list are added in order).
 */
export function dailyReturns(trades: readonly ClosedTrade[], days: readonly number[], options: MetricsOptions): number[] {
  const money = new Map<number, number>();
  for (const d of days) money.set(d, 0);
  for (const t of trades) {
    const d = utcDay(t.exitTime);
    money.set(d, (money.get(d) ?? 0) + t.pnl * options.moneyPerPriceUnit);
  }
  const ordered = [...money.keys()].sort((a, b) => a - b);
  let equity = options.initialEquity ?? INITIAL_EQUITY;
  const out: number[] = new Array(ordered.length);
  for (let i = 0; i < ordered.length; i++) {
    const m = money.get(ordered[i])!;
    out[i] = equity > 0 ? m / equity : 0;
    equity += m;
  }
  return out;
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length === 0 ? 0 : s / xs.length;
}

export function sharpeRatio(returns: readonly number[]): number {
  const n = returns.length;
  if (n < 2) return 0;
  const m = mean(returns);
  let ss = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of returns) {
    ss += (r - m) * (r - m);
    if (r < lo) lo = r;
    if (r > hi) hi = r;
  }
  // Equal returns have no variation; rounding in the mean must not turn that into a huge ratio.
  if (lo === hi) return 0;
  const sd = Math.sqrt(ss / (n - 1));
  return sd > 0 ? (m / sd) * Math.sqrt(TRADING_DAYS_PER_YEAR) : 0;
}

export function sortinoRatio(returns: readonly number[]): number {
  const n = returns.length;
  if (n === 0) return 0;
  const m = mean(returns);
  let down = 0;
  for (const r of returns) if (r < 0) down += r * r;
  if (down === 0) return m > 0 ? Infinity : 0;
  return (m / Math.sqrt(down / n)) * Math.sqrt(TRADING_DAYS_PER_YEAR);
}

export function maxDrawdown(trades: readonly ClosedTrade[], options: MetricsOptions): number {
  let equity = options.initialEquity ?? INITIAL_EQUITY;
  let peak = equity;
  let dd = 0;
  for (const t of trades) {
    equity += t.pnl * options.moneyPerPriceUnit;
    if (equity > peak) peak = equity;
    else if (peak > 0) dd = Math.max(dd, (peak - equity) / peak);
  }
  return Math.min(1, Math.max(0, dd));
}

export function computeMetrics(trades: readonly ClosedTrade[], days: readonly number[], options: MetricsOptions): Metrics {
  let wins = 0;
  let losses = 0;
  let pnl = 0;
  let grossProfit = 0;
  let grossLoss = 0;
  for (const t of trades) {
    pnl += t.pnl;
    if (t.pnl > 0) {
      wins++;
      grossProfit += t.pnl;
    } else if (t.pnl < 0) {
      losses++;
      grossLoss -= t.pnl;
    }
  }
  const returns = dailyReturns(trades, days, options);
  return {
    trades: trades.length,
    wins,
    losses,
    pnl,
    sharpe: sharpeRatio(returns),
    sortino: sortinoRatio(returns),
    maxDrawdown: maxDrawdown(trades, options),
    winRate: trades.length === 0 ? 0 : wins / trades.length,
    profitFactor: grossLoss > 0 ? grossProfit / grossLoss : 0,
  };
}
