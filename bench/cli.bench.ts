/**
 * CLI start-up: `shoal --help`, `shoal queue --db X` and `shoal status --db X` (on a small real database) run as a user
 * runs them, the built command on plain node, against `node -e 0` measured in the same run. The
 * three are interleaved round by round so a busy moment of the machine hits all of them; each
 * figure is the median wall time of a whole process (spawn to exit). Goal: at most 3x bare Node.
 * Run: npm run bench:cli (builds first).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Shoal } from '../index.ts';
import { writeSyntheticCandles } from '../backtester/synthetic-candles.ts';
import { freePort } from '../transport/free-port.ts';
import { figure, percentile, printGoals, ratio } from './lib/report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// SHOAL_CLI measures another entry (an older build, say) the same way.
const CLI = process.env.SHOAL_CLI ?? path.join(ROOT, 'dist/cli/shoal.js');
const ROUNDS = Number(process.env.ROUNDS ?? 21);
const GOAL_RATIO = 3;

if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm run bench:cli does)`);

/** A database as a running host leaves it: strategies registered, requests in the outbox. */
async function smallDatabase(dir: string): Promise<string> {
  const dbPath = path.join(dir, 'shoal.db');
  const start = Math.floor(Date.UTC(2026, 0, 5) / 1000);
  await writeSyntheticCandles(path.join(dir, 'USDJPY_M1.csv'), { start, days: 20 });
  // No service listens: the requests stay pending or in flight, which is what `queue` lists.
  const shoal = await Shoal.start({
    dbPath,
    dataDir: dir,
    requestEndpoint: `tcp://127.0.0.1:${await freePort()}`,
    resultEndpoint: `tcp://127.0.0.1:${await freePort()}`,
    rankEvaluation: false,
    replay: { replayAtStartup: false },
  });
  const names = Array.from({ length: 20 }, (_, i) => `Bench-${String(i).padStart(2, '0')}`);
  await shoal.upsertStrategies(names.map((name) => ({
    name, symbol: 'USDJPY', timeframe: 60, direction: 'BOTH', indicatorType: 'sma', params: { smaShort: 5, smaLong: 20 },
    sl: 0.3, tp: 0.6, volume: 0.01, sharpe: 0.5, profitFactor: 1.4, winRate: 0.45, trades: 250, maxDrawdown: 0.12, rank: 'B' as const,
  })));
  for (const name of names) {
    const reply = await shoal.enqueue(name, { strategy: { name, smaShort: 5, smaLong: 20, sl: 0.3, tp: 0.6, volume: 0.01, indicatorType: 'sma', timeframe: 60 }, symbol: 'USDJPY', includeTrades: false }, { oosWindowDays: 10 });
    if (reply.status !== 'enqueued') throw new Error(`enqueue of ${name} was ${JSON.stringify(reply)}`);
  }
  await shoal.stop('bench database ready');
  return dbPath;
}

/** Wall milliseconds of one process from spawn to exit; a non-zero exit fails the bench. */
function timeRun(args: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // `status` with no runtime answers from the database and exits 3 (no runtime reachable).
  const expected = args.includes('status') ? 3 : 0;
  if (r.status !== expected) throw new Error(`node ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.toString()}`);
  return ms;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-cli-'));
try {
  const dbPath = await smallDatabase(dir);
  const cases = {
    node: ['-e', '0'],
    help: [CLI, '--help'],
    queue: [CLI, 'queue', '--db', dbPath],
    status: [CLI, 'status', '--db', dbPath],
  } as const;
  const times: Record<keyof typeof cases, number[]> = { node: [], help: [], queue: [], status: [] };
  // One unmeasured round warms the file cache for all three.
  for (const args of Object.values(cases)) timeRun(args);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, args] of Object.entries(cases) as [keyof typeof cases, readonly string[]][]) times[name].push(timeRun(args));
  }
  const median = (xs: number[]) => percentile(xs, 50);
  console.log(`CLI start-up, median of ${ROUNDS} interleaved rounds (${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)})`);
  figure('node -e 0', median(times.node), 'ms', 1);
  figure('shoal --help', median(times.help), 'ms', 1);
  figure('shoal queue --db (20 requests)', median(times.queue), 'ms', 1);
  figure('shoal status --db (no runtime: the database)', median(times.status), 'ms', 1);
  const help = ratio('shoal --help / node -e 0', median(times.help), median(times.node));
  const queue = ratio('shoal queue / node -e 0', median(times.queue), median(times.node));
  const status = ratio('shoal status / node -e 0', median(times.status), median(times.node));
  printGoals([
    { name: 'cli_help_startup', measured: help, unit: 'x node', target: `<= ${GOAL_RATIO}x`, pass: help <= GOAL_RATIO },
    { name: 'cli_queue_startup', measured: queue, unit: 'x node', target: `<= ${GOAL_RATIO}x`, pass: queue <= GOAL_RATIO },
    { name: 'cli_status_startup', measured: status, unit: 'x node', target: `<= ${GOAL_RATIO}x`, pass: status <= GOAL_RATIO },
  ]);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
