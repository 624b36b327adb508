/**
 * Codec throughput: request encode, result decode (small and with a 500-trade trade_list),
 * request decode, result encode, and JSON stringify+parse of the same request as a same-run
 * baseline. Each figure is the median of 7 rounds, as a rate per CPU-second (the goals) and per
 * wall-clock second. Run: npx tsx bench/codec.bench.ts
 */
import { Buffer } from 'node:buffer';
import { cpus, loadavg } from 'node:os';
import { figure, printGoals, ratio } from './lib/report.ts';
import {
  createTraceparent,
  decodeBacktestRequest,
  decodeBacktestResult,
  encodeBacktestRequest,
  encodeBacktestResult,
  type BacktestRequest,
  type BacktestSuccess,
} from '../protocol/index.ts';

const request: BacktestRequest = {
  strategy: { name: 'Bred-Bred--261-Gen36-N3980242439-83-OOS', smaShort: 5, smaLong: 20, sl: 0.3, tp: 0.6, volume: 0.01, indicatorType: 'sma', timeframe: 60 },
  requestId: '0193b0b2-7c1e-7d2a-9f3b-5a6c7d8e9f01',
  dataId: 'USDJPY_M1',
  candlesFile: '/data/historical/USDJPY_M1.csv',
  symbol: 'USDJPY',
  timeframe: 60,
  startTime: 1700000000,
  endTime: 1715552000,
  includeTrades: false,
  traceparent: createTraceparent(),
};

const success: BacktestSuccess = {
  kind: 'success',
  requestId: request.requestId,
  strategyName: request.strategy.name,
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
};
const withTrades: BacktestSuccess = {
  ...success,
  tradeList: Array.from({ length: 500 }, (_, i) => ({ timestamp: 1700003600 + i * 3600, pnl: Math.round((Math.sin(i) * 0.05) * 1e4) / 1e4 })),
};

const smallFrame = Buffer.from(encodeBacktestResult(success));
const bigFrame = Buffer.from(encodeBacktestResult(withTrades));
const requestFrame = (() => {
  const r = encodeBacktestRequest(request);
  if (!r.ok) throw new Error(r.error.message);
  return Buffer.from(r.value);
})();

let sink = 0;

interface Rate {
  /** Operations per second of wall-clock time. */
  wall: number;
  /** Operations per second of process CPU time (all threads, so GC helpers count against us). */
  cpu: number;
}

/** One timed round: runs fn in batches of 1,000 until `ms` of wall time has passed. */
function round(fn: () => void, ms: number): Rate {
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1000; i++) fn();
    ops += 1000;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: ops / (Number(now - start) / 1e9), cpu: ops / ((cpu.user + cpu.system) / 1e6) };
}

/**
 * Median of 7 rounds after a warm-up. The budget this serves is main-thread CPU time per
 * request, so the goals use the CPU-time rate: on a shared machine (2 vCPUs, other processes)
 * wall-clock rates also measure how often this process was descheduled.
 */
function measure(fn: () => void, ms = 250): Rate {
  for (let i = 0; i < 20_000; i++) fn();
  const rounds: Rate[] = [];
  for (let r = 0; r < 7; r++) rounds.push(round(fn, ms));
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[3];
  return { wall: median(rounds.map((r) => r.wall)), cpu: median(rounds.map((r) => r.cpu)) };
}

// Shared machines skew every figure: say how busy this one was.
console.log(`cpus ${cpus().length}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`frame sizes: request ${requestFrame.length} B, result ${smallFrame.length} B, result+500 trades ${bigFrame.length} B`);

const encodeReq = measure(() => {
  const r = encodeBacktestRequest(request);
  if (r.ok) sink += r.value.length;
});
const encodeReqBytes = measure(() => {
  const r = encodeBacktestRequest(request);
  if (r.ok) sink += Buffer.from(r.value).length;
});
const decodeSmall = measure(() => {
  const r = decodeBacktestResult(smallFrame);
  if (r.ok) sink += 1;
});
const decodeBig = measure(() => {
  const r = decodeBacktestResult(bigFrame);
  if (r.ok && r.value.kind === 'success') sink += r.value.tradeList?.length ?? 0;
});
const decodeReq = measure(() => {
  const r = decodeBacktestRequest(requestFrame);
  if (r.ok) sink += 1;
});
const encodeRes = measure(() => {
  sink += encodeBacktestResult(success).length;
});
const json = measure(() => {
  sink += (JSON.parse(JSON.stringify(request)) as BacktestRequest).symbol.length;
});

const rows: Array<[string, Rate, string]> = [
  ['encode BACKTEST request (string)', encodeReq, 'req/s'],
  ['encode BACKTEST request (+ Buffer.from)', encodeReqBytes, 'req/s'],
  ['decode BACKTEST_RESULT, no trade_list (Buffer)', decodeSmall, 'res/s'],
  ['decode BACKTEST_RESULT, 500-trade trade_list (Buffer)', decodeBig, 'res/s'],
  ['decode BACKTEST request (Buffer)', decodeReq, 'req/s'],
  ['encode BACKTEST_RESULT, no trade_list', encodeRes, 'res/s'],
  ['baseline: JSON stringify+parse of the request object', json, 'ops/s'],
];
console.log('-- per CPU-second of this process');
for (const [label, rate, unit] of rows) figure(label, rate.cpu, unit);
console.log('-- per wall-clock second');
for (const [label, rate, unit] of rows) figure(label, rate.wall, unit);
figure('encode request: CPU time per request', 1e6 / encodeReq.cpu, 'us', 2);
figure('decode small result: CPU time per result', 1e6 / decodeSmall.cpu, 'us', 2);
ratio('encode request vs JSON round trip (CPU)', encodeReq.cpu, json.cpu);
ratio('decode small result vs JSON round trip (CPU)', decodeSmall.cpu, json.cpu);
if (sink === 42) console.log('');

printGoals([
  { name: 'codec_request_encode', measured: encodeReq.cpu, unit: 'req/s per CPU-second', target: '>= 200000', pass: encodeReq.cpu >= 200_000, digits: 0 },
  { name: 'codec_result_decode', measured: decodeSmall.cpu, unit: 'res/s per CPU-second', target: '>= 200000', pass: decodeSmall.cpu >= 200_000, digits: 0 },
]);
