/** The strategy rows benchmarks seed: one B strategy meeting A's in-sample criteria, as the store takes it. */
import type { StrategyInput } from '../../persistence/strategies.ts';

export function benchStrategy(name: string): StrategyInput {
  return {
    name,
    symbol: 'USDJPY',
    timeframe: 60,
    direction: 'BOTH',
    indicatorType: 'sma',
    params: { sma_short: 5, sma_long: 20 },
    sl: 0.3,
    tp: 0.6,
    volume: 0.01,
    sharpe: 0.5,
    profitFactor: 1.4,
    winRate: 0.45,
    trades: 250,
    maxDd: 0.12,
    rank: 'B',
  };
}
