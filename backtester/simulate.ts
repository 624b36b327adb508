/**
 * The moving-average crossover strategy, bar by bar. Pure.
 *
 * Signals are read at a bar's close:
 *   - bullish cross at bar i: fast[i-1] <= slow[i-1] and fast[i] > slow[i]  -> go long
 *   - bearish cross at bar i: fast[i-1] >= slow[i-1] and fast[i] < slow[i]  -> go short
 *   (no signal while either average is undefined).
 * Entries fill at the signal bar's close. One position at a time. On each later bar, in order:
 *   1. stop loss / take profit against that bar's range, at `sl` / `tp` price distances from the
 *      entry (a distance <= 0 disables it). When both are inside one bar the stop is assumed to
 *      come first (nothing in an OHLC bar says otherwise; the pessimistic choice). A bar that opens
 *      beyond the level fills at its open (a gap), otherwise at the level.
 *   2. the opposite cross at the bar's close exits at that close, and the same signal opens the
 *      opposite position at that close (stop and reverse).
 *   3. when flat (including just after a stop or target on this bar), a cross opens a position.
 * No entry on the last bar (nothing could happen to it); a position still open after the last
 * bar is closed at the last close (exit `end`). PnL is the price difference in the position's
 * direction (exit - entry for a long, entry - exit for a short), per unit, not money.
 */
import type { Candles } from './candles.ts';

export type Side = 1 | -1;
export type ExitReason = 'sl' | 'tp' | 'cross' | 'end';

export interface Trade {
  readonly side: Side;
  readonly entryTime: number;
  readonly entryPrice: number;
  readonly exitTime: number;
  readonly exitPrice: number;
  readonly exit: ExitReason;
  /** Price difference in the position's direction. */
  readonly pnl: number;
}

export interface CrossoverParams {
  /** Stop-loss distance in price units; <= 0 disables. */
  readonly sl: number;
  /** Take-profit distance in price units; <= 0 disables. */
  readonly tp: number;
}

/** +1 for a bullish cross at bar i, -1 for a bearish one, 0 otherwise. */
export function crossAt(fast: ArrayLike<number>, slow: ArrayLike<number>, i: number): Side | 0 {
  if (i < 1) return 0;
  const f0 = fast[i - 1];
  const s0 = slow[i - 1];
  const f1 = fast[i];
  const s1 = slow[i];
  // NaN compares false everywhere, so an undefined average never signals.
  if (f0 <= s0 && f1 > s1) return 1;
  if (f0 >= s0 && f1 < s1) return -1;
  return 0;
}

interface Position {
  side: Side;
  entryTime: number;
  entryPrice: number;
}

/** The stop/target exit on bar i, if any: [fill price, reason]. */
function bracketExit(c: Candles, i: number, p: Position, params: CrossoverParams): [number, ExitReason] | undefined {
  const open = c.open[i];
  if (p.side === 1) {
    const stop = p.entryPrice - params.sl;
    const target = p.entryPrice + params.tp;
    if (params.sl > 0 && c.low[i] <= stop) return [Math.min(open, stop), 'sl'];
    if (params.tp > 0 && c.high[i] >= target) return [Math.max(open, target), 'tp'];
  } else {
    const stop = p.entryPrice + params.sl;
    const target = p.entryPrice - params.tp;
    if (params.sl > 0 && c.high[i] >= stop) return [Math.max(open, stop), 'sl'];
    if (params.tp > 0 && c.low[i] <= target) return [Math.min(open, target), 'tp'];
  }
  return undefined;
}

function close(p: Position, exitTime: number, exitPrice: number, exit: ExitReason): Trade {
  return { side: p.side, entryTime: p.entryTime, entryPrice: p.entryPrice, exitTime, exitPrice, exit, pnl: (exitPrice - p.entryPrice) * p.side };
}

/** Runs the strategy over `c` with the two averages (same length as `c`); trades in exit order. */
export function simulateCrossover(c: Candles, fast: ArrayLike<number>, slow: ArrayLike<number>, params: CrossoverParams): Trade[] {
  if (fast.length !== c.length || slow.length !== c.length) throw new RangeError('averages must have one value per bar');
  const trades: Trade[] = [];
  let pos: Position | undefined;
  const last = c.length - 1;
  for (let i = 0; i < c.length; i++) {
    if (pos !== undefined) {
      const hit = bracketExit(c, i, pos, params);
      if (hit !== undefined) {
        trades.push(close(pos, c.time[i], hit[0], hit[1]));
        pos = undefined;
      }
    }
    const signal = crossAt(fast, slow, i);
    if (signal === 0) continue;
    if (pos !== undefined && pos.side !== signal) {
      trades.push(close(pos, c.time[i], c.close[i], 'cross'));
      pos = undefined;
    }
    if (pos === undefined && i < last) pos = { side: signal, entryTime: c.time[i], entryPrice: c.close[i] };
  }
  if (pos !== undefined) trades.push(close(pos, c.time[last], c.close[last], 'end'));
  return trades;
}
