/**
 * Bridge mode, host to host: a stand-in host (this process: PUSH to its request endpoint, PULL
 * bound for results) offers BACKTEST requests at a paced 1,000/s, each for its own strategy, and
 * times each request until its result comes back. Once through `shoal start --bridge` (the built
 * CLI in its own process, synchronous=FULL: every request and result durable before it moves on)
 * to an instant echo service, and, as the baseline in the same run, straight to an identical echo
 * service, as the host talks to its service without shoal. Reports the round trips/s each
 * achieves, p50/p99 host-to-host latency, and the ratio.
 *
 * Goals (docs/adr/0009-bridge-mode.md): the bridge keeps up with 1,000/s offered (at least 0.9x
 * the direct round trips/s; the host sends a few requests a minute), with a host-to-host p99 under
 * 50 ms (under 0.1% of the host's 60 s rank cycle).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pull, Push } from 'zeromq';
import { openStore } from '../persistence/connection.ts';
import { encodeBacktestRequest } from '../protocol/index.ts';
import { freePort } from '../transport/free-port.ts';
import { figure, percentile, printGoals, ratio } from './lib/report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/cli/shoal.js');
const SERVICE = path.join(ROOT, 'dist/backtester/main.js');
// The goals are set at these; BRIDGE_BENCH_RATE / BRIDGE_BENCH_N change them for a diagnostic run
// (no GOAL lines then); BRIDGE_BENCH_WINDOW sets the bridge's window (default 64).
const RATE = Number(process.env.BRIDGE_BENCH_RATE ?? 1_000);
const MEASURED = Number(process.env.BRIDGE_BENCH_N ?? 5_000);
const WARMUP = Math.min(1_000, RATE);
const DIAGNOSTIC = RATE !== 1_000 || MEASURED !== 5_000;

const endpoint = async () => `tcp://127.0.0.1:${await freePort()}`;

function waitFor(child: ChildProcess, text: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no '${text}' within 60 s: ${seen.slice(-2_000)}`)), 60_000);
    timer.unref();
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (c) => reject(new Error(`${what} exited (${c}) before '${text}': ${seen.slice(-2_000)}`)));
  });
}

async function startEcho(bind: string, results: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [SERVICE, '--engine', 'echo', '--bind', bind, '--results', results], { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitFor(child, 'listening', 'the echo service');
  return child;
}

function frame(id: string, n: number): string {
  const e = encodeBacktestRequest({
    strategy: { name: `B${n}-OOS`, smaShort: 5, smaLong: 20, sl: 0.3, tp: 0.6, volume: 0.01, indicatorType: 'sma', timeframe: 60 },
    requestId: id,
    dataId: 'USDJPY_M1',
    candlesFile: 'USDJPY_M1.csv',
    symbol: 'USDJPY',
    timeframe: 60,
    includeTrades: false,
  });
  if (!e.ok) throw new Error(e.error.message);
  return e.value;
}

interface Run {
  /** Round trips per second over the measured part (first measured send to last result). */
  rate: number;
  /** Host-to-host latency of each measured request, ms. */
  latencies: number[];
}

/** The host: sends WARMUP + MEASURED requests at RATE/s to `requests`, results come to `results` (bound here). */
async function host(label: string, requests: string, resultsPull: Pull, ready: () => Promise<void>): Promise<Run> {
  const push = new Push({ linger: 0, sendHighWaterMark: 100_000 });
  push.connect(requests);
  await ready();
  const total = WARMUP + MEASURED;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  let lastAt = 0;
  const prefix = `${label}-${Date.now()}-`;
  const done = new Promise<void>((resolve) => {
    void (async () => {
      for (;;) {
        const [f] = await resultsPull.receive();
        const now = performance.now();
        const id = /\(request_id \. "([^"]+)"\)/.exec(f.toString('utf8'))?.[1];
        const at = id === undefined ? undefined : sentAt.get(id);
        if (at === undefined) continue;
        sentAt.delete(id!);
        if (Number(id!.slice(prefix.length)) >= WARMUP) latencies.push(now - at);
        lastAt = now;
        if (++received === total) return resolve();
      }
    })();
  });
  const frames = Array.from({ length: total }, (_, i) => frame(`${prefix}${i}`, i));
  const t0 = performance.now();
  let firstMeasured = 0;
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1_000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (i === WARMUP) firstMeasured = performance.now();
    sentAt.set(`${prefix}${i}`, performance.now());
    await push.send(frames[i]);
  }
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${label}: ${received} of ${total} results after 120 s`)), 120_000));
  await Promise.race([done, timeout]);
  push.close();
  return { rate: (MEASURED / (lastAt - firstMeasured)) * 1_000, latencies };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-bridge-bench-'));
const rows = ['timestamp,open,high,low,close,volume'];
for (let i = 0; i < 100; i++) rows.push(`${1_700_000_000 + 60 * i},147.600,147.610,147.590,147.605,10`);
fs.writeFileSync(path.join(dir, 'USDJPY_M1.csv'), `${rows.join('\n')}\n`);

console.log(`bridge bench: ${WARMUP} warm-up + ${MEASURED} measured requests at ${RATE}/s offered, each for its own strategy; echo service; ${os.cpus().length} CPUs`);

// ---- direct: the host and the service, no shoal ----
const directResults = await endpoint();
const directPull = new Pull({ linger: 0, receiveHighWaterMark: 100_000 });
await directPull.bind(directResults);
const directService = await endpoint();
const echo1 = await startEcho(directService, directResults);
const direct = await host('direct', directService, directPull, async () => undefined);
echo1.kill('SIGTERM');
directPull.close();

// ---- through the bridge ----
const [intake, hostResults, service, serviceResults] = [await endpoint(), await endpoint(), await endpoint(), await endpoint()];
const hostPull = new Pull({ linger: 0, receiveHighWaterMark: 100_000 });
await hostPull.bind(hostResults);
const echo2 = await startEcho(service, serviceResults);
const shoal = spawn(
  process.execPath,
  [CLI, 'start', '--bridge', '--db', path.join(dir, 'shoal.db'), '--data-dir', dir, '--intake', intake, '--host-results', hostResults, '--service', service, '--service-results', serviceResults, '--window', process.env.BRIDGE_BENCH_WINDOW ?? '64', '--log-level', 'info'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const started = waitFor(shoal, '"event":"intake_bound"', 'shoal start --bridge');
const bridged = await host('bridge', intake, hostPull, () => started);
shoal.kill('SIGTERM');
await new Promise((r) => shoal.once('exit', r));
echo2.kill('SIGTERM');
hostPull.close();
// Where the bridge's time goes, from the store's own timestamps (one clock, ms).
const store = openStore({ path: path.join(dir, 'shoal.db'), readonly: true });
const stages = store.sqlite
  .prepare(
    `select r.first_sent_at - r.enqueued_at as queued, r.completed_at - r.first_sent_at as service, f.forwarded_at - r.completed_at as forwarding
     from oos_requests r join host_forwards f on f.request_id = r.request_id where f.state = 'forwarded'`,
  )
  .all() as { queued: number; service: number; forwarding: number }[];
store.close();
fs.rmSync(dir, { recursive: true, force: true });

// ---- report ----
console.log('');
figure('direct (host <-> echo service): round trips/s', direct.rate, 'round trips/s');
figure('direct: host-to-host p50', percentile(direct.latencies, 50), 'ms', 3);
figure('direct: host-to-host p99', percentile(direct.latencies, 99), 'ms', 3);
figure('bridge (host <-> shoal <-> echo service): round trips/s', bridged.rate, 'round trips/s');
figure('bridge: host-to-host p50', percentile(bridged.latencies, 50), 'ms', 3);
figure('bridge: host-to-host p99', percentile(bridged.latencies, 99), 'ms', 3);
for (const k of ['queued', 'service', 'forwarding'] as const) {
  const label = { queued: 'stored -> sent to the service', service: 'sent -> result stored', forwarding: 'result stored -> handed to the host' }[k];
  figure(`bridge stage: ${label}, p50`, percentile(stages.map((r) => r[k]), 50), 'ms', 1);
  figure(`bridge stage: ${label}, p99`, percentile(stages.map((r) => r[k]), 99), 'ms', 1);
}
const throughput = ratio('bridge round trips/s / direct', bridged.rate, direct.rate);
ratio('bridge p99 / direct p99', percentile(bridged.latencies, 99), percentile(direct.latencies, 99));
const p99 = percentile(bridged.latencies, 99);
console.log('');
if (DIAGNOSTIC) {
  console.log(`diagnostic run (${RATE}/s, ${MEASURED} requests): no GOAL lines`);
  process.exit(0);
}
printGoals([
  { name: 'bridge_throughput', measured: throughput, unit: 'x of direct at 1,000/s offered', target: '>= 0.9', pass: throughput >= 0.9 },
  { name: 'bridge_p99_host_to_host_at_1000_per_s', measured: p99, unit: 'ms', target: '< 50', pass: p99 < 50, digits: 1 },
]);
process.exit(0);
