/** fast-check generators for valid messages, shared by the round-trip and fuzz tests. */
import fc from 'fast-check';
import { INDICATOR_TYPES, type BacktestRequest, type BacktestResultInput, type StrategyParams } from '../../protocol/index.ts';

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const text = fc.string({ unit: 'binary', maxLength: 40 });
const strategyArb: fc.Arbitrary<StrategyParams> = fc.record(
  {
    name: text,
    smaShort: fc.nat({ max: 10_000 }),
    smaLong: fc.nat({ max: 10_000 }),
    sl: fc.double({ noNaN: true, noDefaultInfinity: true }),
    tp: fc.double({ noNaN: true, noDefaultInfinity: true }),
    volume: fc.double({ noNaN: true, noDefaultInfinity: true, min: 0 }),
    indicatorType: fc.constantFrom(...INDICATOR_TYPES),
    timeframe: fc.integer({ min: 1, max: 43_200 }),
    filterEnabled: fc.boolean(),
    filterTf: fc.constantFrom('M5', 'H1', 'H4', 'D1'),
    filterPeriod: fc.nat({ max: 1000 }),
    filterLogic: text,
  },
  { requiredKeys: ['name', 'smaShort', 'smaLong', 'sl', 'tp', 'volume', 'indicatorType', 'timeframe'] },
);
export const requestArb: fc.Arbitrary<BacktestRequest> = fc.record(
  {
    strategy: strategyArb,
    requestId: text.filter((s) => s.length > 0),
    dataId: text,
    candlesFile: text,
    symbol: text,
    timeframe: fc.integer({ min: 1, max: 43_200 }),
    startTime: fc.integer({ min: 0, max: 4_000_000_000 }),
    endTime: fc.integer({ min: 0, max: 4_000_000_000 }),
    includeTrades: fc.boolean(),
    traceparent: fc.tuple(hex(32), hex(16), fc.constantFrom('00', '01')).filter(([t, p]) => /[1-9a-f]/.test(t) && /[1-9a-f]/.test(p)).map(([t, p, f]) => `00-${t}-${p}-${f}`),
  },
  { requiredKeys: ['strategy', 'requestId', 'symbol', 'includeTrades'] },
);

const finite = fc.double({ noNaN: true, noDefaultInfinity: true });

const anyFloat = fc.oneof(finite, fc.constantFrom(Infinity, -Infinity, NaN));

/** Valid success results: every metric inside the range the decoder accepts, inf and NaN where allowed. */
export const successArb = fc.record(
  {
    kind: fc.constant('success' as const),
    requestId: text.filter((s) => s.length > 0 && s !== 'MISSING'),
    strategyName: text,
    trades: fc.nat({ max: 100_000 }),
    wins: fc.nat({ max: 100_000 }),
    losses: fc.nat({ max: 100_000 }),
    pnl: finite,
    sharpe: finite,
    sortino: anyFloat,
    maxDrawdown: fc.double({ min: 0, max: 1, noNaN: true }),
    winRate: fc.double({ min: 0, max: 1, noNaN: true }),
    profitFactor: fc.oneof(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), fc.constantFrom(Infinity, NaN)),
    adjustedSharpe: anyFloat,
    sharpeCiLower: anyFloat,
    tradeList: fc.array(fc.record({ timestamp: fc.integer({ min: 0, max: 4_000_000_000 }), pnl: finite }), { maxLength: 30 }),
  },
  { requiredKeys: ['kind', 'requestId', 'strategyName', 'trades', 'wins', 'losses', 'pnl', 'sharpe', 'sortino', 'maxDrawdown', 'winRate', 'profitFactor'] },
);

export const errorTextArb = fc.oneof(
  fc.constantFrom('Guardian process failure', 'Empty output', 'Guardian binary missing', 'No data available', 'CSV load error: bad row 7', 'S-Exp parse error: unexpected )', 'missing request_id', 'No candles provided', 'Empty candles', '((type . "ERROR") (error . "S-Exp parse error: eof"))'),
  text,
);

export const failureArb = fc.record(
  {
    kind: fc.constant('error' as const),
    requestId: text.filter((s) => s.length > 0 && s !== 'MISSING'),
    strategyName: text,
    error: errorTextArb,
  },
  { requiredKeys: ['kind', 'error'] },
);

export const resultArb: fc.Arbitrary<BacktestResultInput> = fc.oneof(successArb, failureArb);
