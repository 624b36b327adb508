/**
 * End-to-end durable round trips through the whole OOS pipeline: outbox -> sender -> ZeroMQ ->
 * an instant echo service in another process -> result-handler -> db-writer, synchronous=FULL.
 * Then the latency shoal adds at a paced 1,000 requests/s: from the enqueue call to the result
 * committed, with the instant service (so nearly all of it is shoal's: three commits, two hops).
 * Baseline, in the same run: the same durable work with no actor runtime. Last, the floors this
 * disk sets for any design: two FULL commits in a row, and chains of group commits on one event loop.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { applyBatch } from '../persistence/batch.ts';
import type { WriteCommand } from '../persistence/commands.ts';
import { openStore } from '../persistence/connection.ts';
import { countByState } from '../persistence/outbox.ts';
import type { OutboxRequest } from '../persistence/records.ts';
import { Shoal, type OosRequestInput } from '../app/shoal.ts';
import { figure, fmt, percentile, printGoals, ratio } from './lib/report.ts';
import { freePort } from '../transport/free-port.ts';
import { PullChannel } from '../transport/pull-channel.ts';
import { PushChannel } from '../transport/push-channel.ts';
import { decodeBacktestResult, type BacktestSuccess } from '../protocol/index.ts';
import { requestFrame } from '../actors/sender.ts';
import { metricsOf } from '../actors/result-handler.ts';
import { createTraceparent } from '../protocol/index.ts';
import type { TelemetryOptions } from '../app/telemetry.ts';
import { startTelemetrySdk } from '../app/telemetry-sdk.ts';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');


/** A small valid candle file for the data gate (the echo service does not read it). */
function writeCandles(dir: string): string {
  const file = path.join(dir, 'USDJPY_M1.csv');
  const rows = ['timestamp,open,high,low,close,volume'];
  for (let i = 0; i < 100; i++) rows.push(`${1_700_000_000 + 60 * i},147.600,147.610,147.590,147.605,10`);
  fs.writeFileSync(file, `${rows.join('\n')}\n`);
  return file;
}

function input(name: string): OosRequestInput {
  return {
    strategy: { name: `${name}-OOS`, smaShort: 5, smaLong: 20, sl: 0.3, tp: 0.6, volume: 0.01, indicatorType: 'sma', timeframe: 60 },
    symbol: 'USDJPY',
    dataId: 'USDJPY_M1',
    timeframe: 60,
    includeTrades: false,
  };
}

function strategyCommand(name: string): WriteCommand {
  return { type: 'upsertStrategy', strategy: { name, symbol: 'USDJPY', timeframe: 60, direction: 'BOTH', indicatorType: 'sma', params: { sma_short: 5, sma_long: 20 }, volume: 0.01, sl: 0.3, tp: 0.6, rank: 'B' } };
}

async function startEcho(requestPort: number, resultPort: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'backtester/main.ts'), '--engine', 'echo', '--bind', `tcp://127.0.0.1:${requestPort}`, '--results', `tcp://127.0.0.1:${resultPort}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.once('exit', (c) => reject(new Error(`echo service exited (${c})`)));
  });
  return child;
}

/**
 * CPU time a child process has used so far, in microseconds (Linux /proc; undefined elsewhere).
 * Fields 14 and 15 of /proc/<pid>/stat count user and system time in clock ticks of 10 ms.
 */
function childCpuMicros(pid: number | undefined): number | undefined {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** A store in a temp dir holding `n` strategies with one pending request each (`traced`: each with a sampled traceparent, as an enqueue stores). */
function seedOutbox(n: number, traced = false): { dir: string; dbPath: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-'));
  const dbPath = path.join(dir, 'shoal.db');
  const seed = openStore({ path: dbPath });
  for (let i = 0; i < n; i += 1_000) {
    const cmds: WriteCommand[] = [];
    for (let k = i; k < Math.min(n, i + 1_000); k++) {
      cmds.push(strategyCommand(`S${k}`), { type: 'enqueueRequest', strategyName: `S${k}`, payload: input(`S${k}`) as unknown as Record<string, unknown>, ...(traced ? { traceparent: createTraceparent() } : {}) });
    }
    applyBatch(seed, cmds, Date.now());
  }
  seed.close();
  return { dir, dbPath };
}

const PACED_WINDOW = 16;

async function throughput(n: number, window: number, options: { telemetry?: TelemetryOptions; traced?: boolean; quiet?: boolean } = {}): Promise<{ rate: number; cpuPerTrip: number }> {
  const { dir, dbPath } = seedOutbox(n, options.traced);
  const [reqPort, resPort] = [await freePort(), await freePort()];
  const echo = await startEcho(reqPort, resPort);
  const reader = openStore({ path: dbPath, readonly: true });
  // Both processes share the machine's cores, so what each spends per round trip bounds the rate.
  const cpu0 = process.cpuUsage();
  const echoCpu0 = childCpuMicros(echo.pid);
  const t0 = performance.now();
  const shoal = await Shoal.start(
    { dbPath, dataDir: dir, rankEvaluation: false, requestEndpoint: `tcp://127.0.0.1:${reqPort}`, resultEndpoint: `tcp://127.0.0.1:${resPort}`, window, replay: { replayAtStartup: false } },
    { telemetry: options.telemetry },
  );
  // Polls an in-memory counter: counting rows in the database would itself load the machine.
  while (shoal.stats.results.applied < n) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - t0) / 1_000;
  const cpu = process.cpuUsage(cpu0);
  const echoCpu1 = childCpuMicros(echo.pid);
  if (countByState(reader).done !== n) throw new Error('not every request is done in the store');
  const shoalPerTrip = (cpu.user + cpu.system) / n;
  if (!options.quiet) {
    figure(`  window ${window}: shoal's process, CPU per round trip`, shoalPerTrip, 'us', 1);
    if (echoCpu0 !== undefined && echoCpu1 !== undefined) {
      const echoPerTrip = (echoCpu1 - echoCpu0) / n;
      figure(`  window ${window}: echo service, CPU per round trip`, echoPerTrip, 'us', 1);
      figure(`  window ${window}: CPU per round trip, both`, shoalPerTrip + echoPerTrip, 'us', 1);
    }
    const w = shoal.stats.writer;
    figure(`  window ${window}: commits`, w.batches, '');
    figure(`  window ${window}: commands per commit`, w.commands / w.batches, '', 1);
  }
  await shoal.stop();
  reader.close();
  echo.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
  return { rate: n / seconds, cpuPerTrip: shoalPerTrip };
}

/**
 * The baseline: the same durable work with no actor runtime. One loop on the main thread claims
 * due requests with the store's own command, encodes and sends them with the sender's frame and
 * socket class, receives and decodes results, and applies each turn's results in one commit, as
 * the reference notes' prototype did. No supervision, mailboxes, queries, leases or gate. What
 * shoal reaches against it is the cost of the runtime; what this reaches is the cost of the work.
 */
async function withoutRuntime(n: number, window: number): Promise<{ rate: number; cpuPerTrip: number }> {
  const { dir, dbPath } = seedOutbox(n);
  const store = openStore({ path: dbPath });
  const { push, pull, close } = await echoSockets();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let inFlight = 0;
  let applied = 0;
  let sending = false;
  const sendDue = async () => {
    if (sending) return;
    sending = true;
    while (inFlight < window) {
      const [claimed] = applyBatch(store, [{ type: 'claimDue', limit: window - inFlight, leaseMs: 60_000 }], Date.now());
      if (claimed.type !== 'claimDue' || claimed.status !== 'claimed' || claimed.requests.length === 0) break;
      inFlight += claimed.requests.length;
      for (const req of claimed.requests) await push.send(requestFrame(req));
    }
    sending = false;
  };
  let results: WriteCommand[] = [];
  let allApplied!: () => void;
  let failed!: (e: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    allApplied = resolve;
    failed = reject;
  });
  const applyResults = () => {
    const batch = results;
    results = [];
    applied += applyBatch(store, batch, Date.now()).length;
    inFlight -= batch.length;
    if (applied >= n) allApplied();
    else void sendDue();
  };
  const receiving = (async () => {
    for (;;) {
      const frame = await pull.receive().catch(() => undefined);
      if (frame === undefined) return; // closed at the end
      const result = echoedResult(frame);
      if (results.push({ type: 'applyResult', requestId: result.requestId, result: metricsOf(result) }) === 1) setImmediate(applyResults);
    }
  })();
  receiving.catch(failed);
  void sendDue();
  await finished;
  const seconds = (performance.now() - t0) / 1_000;
  const cpu = process.cpuUsage(cpu0);
  if (countByState(store).done !== n) throw new Error('baseline: not every request is done in the store');
  close();
  await receiving;
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { rate: n / seconds, cpuPerTrip: (cpu.user + cpu.system) / n };
}

/** The echo service in its own process, with the sender's and the result-handler's socket classes connected to it. */
async function echoSockets() {
  const [reqPort, resPort] = [await freePort(), await freePort()];
  const echo = await startEcho(reqPort, resPort);
  const push = new PushChannel(`tcp://127.0.0.1:${reqPort}`);
  const pull = await PullChannel.bind(`tcp://127.0.0.1:${resPort}`);
  while (push.peers === 0) await new Promise((r) => setTimeout(r, 5));
  return {
    push,
    pull,
    echoPid: echo.pid,
    close: () => {
      push.close();
      pull.close();
      echo.kill('SIGTERM');
    },
  };
}

/** A result frame from the echo service, decoded as the result-handler does; anything else ends the bench. */
function echoedResult(frame: Buffer): BacktestSuccess {
  const decoded = decodeBacktestResult(frame);
  if (!decoded.ok || decoded.value.kind !== 'success') throw new Error('the echo service sent a frame that is not a success result');
  return decoded.value;
}

const echoedMetrics = { trades: 10, wins: 6, losses: 4, pnl: 1, sharpe: 1.2, sortino: 0.8, maxDd: 0.1, winRate: 0.5, profitFactor: 1.3 };

/**
 * The baseline's two halves apart, each alone on the main thread: the store's share of a round trip
 * (claim and apply a result, 256 per commit, FULL, no sockets), and the sockets' share (frame,
 * send, the echo service, receive, decode; no store). A thread doing both cannot beat
 * 1 / (1/store + 1/sockets) round trips/s.
 */
function storeOnly(n: number, window: number): { rate: number; cpuPerTrip: number } {
  const { dir, dbPath } = seedOutbox(n);
  const store = openStore({ path: dbPath });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let done = 0; done < n; ) {
    const [claimed] = applyBatch(store, [{ type: 'claimDue', limit: window, leaseMs: 60_000 }], Date.now());
    if (claimed.type !== 'claimDue' || claimed.status !== 'claimed' || claimed.requests.length === 0) throw new Error('store only: nothing left to claim');
    done += applyBatch(store, claimed.requests.map((r): WriteCommand => ({ type: 'applyResult', requestId: r.requestId, result: echoedMetrics })), Date.now()).length;
  }
  const seconds = (performance.now() - t0) / 1_000;
  const cpu = process.cpuUsage(cpu0);
  if (countByState(store).done !== n) throw new Error('store only: not every request is done');
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { rate: n / seconds, cpuPerTrip: (cpu.user + cpu.system) / n };
}

/** `count` requests as the sender gets them from a claim (their store is gone afterwards). */
function claimedRequests(count: number): OutboxRequest[] {
  const { dir, dbPath } = seedOutbox(count);
  const store = openStore({ path: dbPath });
  const [claimed] = applyBatch(store, [{ type: 'claimDue', limit: count, leaseMs: 60_000 }], Date.now());
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (claimed.type !== 'claimDue' || claimed.status !== 'claimed' || claimed.requests.length !== count) throw new Error('could not claim the seeded requests');
  return claimed.requests;
}

/** The sockets' half (see storeOnly): `window` requests' frames sent round and round, no store. */
async function socketsOnly(n: number, window: number): Promise<{ rate: number; cpuPerTrip: number; echoCpuPerTrip: number | undefined }> {
  const requests = claimedRequests(window);
  const { push, pull, echoPid, close } = await echoSockets();
  const cpu0 = process.cpuUsage();
  const echoCpu0 = childCpuMicros(echoPid);
  const t0 = performance.now();
  let sent = 0;
  let received = 0;
  let sending = false;
  const sendToWindow = async () => {
    if (sending) return;
    sending = true;
    while (sent - received < window && sent < n) await push.send(requestFrame(requests[sent++ % window]));
    sending = false;
  };
  void sendToWindow();
  while (received < n) {
    metricsOf(echoedResult(await pull.receive()));
    if (++received % 64 === 0) void sendToWindow();
  }
  const seconds = (performance.now() - t0) / 1_000;
  const cpu = process.cpuUsage(cpu0);
  const echoCpu1 = childCpuMicros(echoPid);
  close();
  const echoCpuPerTrip = echoCpu0 === undefined || echoCpu1 === undefined ? undefined : (echoCpu1 - echoCpu0) / n;
  return { rate: n / seconds, cpuPerTrip: (cpu.user + cpu.system) / n, echoCpuPerTrip };
}

/**
 * The sockets' part of a request's path, paced like the paced run and with no store at all: the
 * sender's frame, send, the echo service, receive, decode. Its tail is a floor for the pipeline's.
 */
async function pacedSockets(rate: number, seconds: number, warmupSeconds: number): Promise<number[]> {
  const [request] = claimedRequests(1);
  const { push, pull, close } = await echoSockets();
  const n = rate * (seconds + warmupSeconds);
  const sentAt = new Map<string, number>();
  const spans: number[] = [];
  const receiving = (async () => {
    while (spans.length < n) {
      const result = echoedResult(await pull.receive());
      metricsOf(result);
      spans.push(performance.now() - sentAt.get(result.requestId)!);
    }
  })();
  // Each send gets an id of its own (the stored id with a counter for its last 12 digits).
  await pace(rate, n, async (i) => {
    const requestId = `${request.requestId.slice(0, 24)}${String(i).padStart(12, '0')}`;
    sentAt.set(requestId, performance.now());
    await push.send(requestFrame({ ...request, requestId }));
  });
  await receiving;
  close();
  return spans.slice(rate * warmupSeconds);
}

/**
 * Calls `each(i)` for i = 0..count-1 at `rate` per second, the way every paced measurement here
 * does it: a timer when the next call is more than 1 ms away, else at once (so late calls bunch).
 */
async function pace(rate: number, count: number, each: (i: number) => void | Promise<void>): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = t0 + (i * 1_000) / rate - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    await each(i);
  }
}

/**
 * Paces `rate` requests/s for `warmupSeconds + seconds`; latencies of the first `warmupSeconds`
 * (JIT, first connections, caches) are returned apart from the measured steady state.
 */
async function pacedLatency(rate: number, seconds: number, warmupSeconds: number): Promise<{ warm: number[]; cold: number[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-'));
  const dbPath = path.join(dir, 'shoal.db');
  const n = rate * (seconds + warmupSeconds);
  const warmupCount = rate * warmupSeconds;
  const seed = openStore({ path: dbPath });
  for (let i = 0; i < n; i += 1_000) applyBatch(seed, Array.from({ length: Math.min(1_000, n - i) }, (_, k) => strategyCommand(`P${i + k}`)), Date.now());
  seed.close();
  const [reqPort, resPort] = [await freePort(), await freePort()];
  const echo = await startEcho(reqPort, resPort);
  writeCandles(dir);
  // The window the goal was set with (issue 4's default, 16). The product's default is now the
  // service's worker count (2 on this machine), right for a real service that runs 2 at a time,
  // but it would make this instant echo service wait on a window, not on shoal.
  const shoal = await Shoal.start({ dbPath, dataDir: dir, rankEvaluation: false, window: PACED_WINDOW, requestEndpoint: `tcp://127.0.0.1:${reqPort}`, resultEndpoint: `tcp://127.0.0.1:${resPort}`, replay: { replayAtStartup: false } });
  while (shoal.stats.sender.peers === 0) await new Promise((r) => setTimeout(r, 5));
  const started = new Map<string, number>();
  let rejected = 0;
  const latencies: number[] = [];
  const cold: number[] = [];
  const index = new Map<string, number>();
  // The facade tells a result once its commit is done: the end of each request's span.
  const stopListening = shoal.on('result', ({ requestId }) => {
    const t = started.get(requestId);
    if (t === undefined) return;
    (index.get(requestId)! < warmupCount ? cold : latencies).push(performance.now() - t);
  });
  const t0 = performance.now();
  await pace(rate, n, (i) => {
    const t = performance.now();
    void shoal.enqueue(`P${i}`, input(`P${i}`)).then((o) => {
      if (o.status === 'enqueued') {
        started.set(o.requestId, t);
        index.set(o.requestId, i);
      } else rejected++;
    });
  });
  while (latencies.length + cold.length + rejected < n && performance.now() - t0 < (seconds + warmupSeconds) * 1_000 + 30_000) await new Promise((r) => setTimeout(r, 10));
  if (rejected > 0) console.log(`  ${rejected} requests were not enqueued`);
  stopListening();
  await shoal.stop();
  echo.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
  return { warm: latencies, cold };
}

/** A bare store in a temp dir with one small table, for the floors below (no shoal schema). */
function bareTable(name: string, synchronous: 'FULL' | 'NORMAL' = 'FULL') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-'));
  const store = openStore({ path: path.join(dir, `${name}.db`), synchronous, migrations: [] });
  store.sqlite.exec('create table t (id text primary key, state text not null, payload text not null) strict');
  return {
    store,
    insert: store.sqlite.prepare("insert into t values (?, 'pending', ?)"),
    update: store.sqlite.prepare('update t set state = ? where id = ?'),
    payload: 'x'.repeat(300),
    remove: () => {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The floor any design meets on this disk: a request is durable before it is sent, and its result
 * is durable before it counts, so its path holds at least two commits one after the other. Here
 * they run with nothing else: per tick, one FULL commit inserting a small row, then one updating
 * it, paced at `rate`/s on a bare table, no actors, sockets or codec. Its p99 is what the
 * pipeline's p99 cannot go below.
 */
function twoCommitFloor(rate: number, seconds: number): number[] {
  const t = bareTable('floor');
  const spans: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    while (performance.now() < t0 + (i * 1_000) / rate); // busy-wait: timers would add their own jitter
    const id = t.store.ids.next(Date.now());
    const start = performance.now();
    t.insert.run(id, t.payload); // each statement outside a transaction is its own commit
    t.update.run('done', id);
    spans.push(performance.now() - start);
  }
  t.remove();
  return spans;
}

/**
 * Runs fdatasync on a WAL file on a thread of its own, so that durability does not block the event
 * loop: SQLite commits at NORMAL (no sync of its own), and `after(done)` calls `done` once a sync
 * that started after that commit has finished, which is what FULL guarantees. The two threads meet
 * through two shared counters (syncs asked for, syncs done), not messages.
 */
class WalSyncThread {
  private readonly counters = new Int32Array(new SharedArrayBuffer(8)); // [0] asked, [1] done
  private readonly worker: Worker;
  private asked = 0;
  private readonly waiting: Array<{ seq: number; done: () => void }> = [];
  private watching = false;

  constructor(walPath: string) {
    const loop = `const { workerData } = require('node:worker_threads'); const fs = require('node:fs');
      const c = new Int32Array(workerData.counters); const fd = fs.openSync(workerData.walPath, 'r+');
      for (;;) { Atomics.wait(c, 0, Atomics.load(c, 1)); const asked = Atomics.load(c, 0); if (asked < 0) break;
        fs.fdatasyncSync(fd); Atomics.store(c, 1, asked); Atomics.notify(c, 1); }
      fs.closeSync(fd);`;
    this.worker = new Worker(loop, { eval: true, workerData: { counters: this.counters.buffer, walPath } });
  }

  after(done: () => void): void {
    this.waiting.push({ seq: ++this.asked, done });
    this.askIfIdle();
    this.watch();
  }

  private askIfIdle(): void {
    const c = this.counters;
    const last = this.waiting[this.waiting.length - 1];
    if (last && Atomics.load(c, 0) === Atomics.load(c, 1) && Atomics.load(c, 1) < last.seq) {
      Atomics.store(c, 0, last.seq);
      Atomics.notify(c, 0);
    }
  }

  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    // Atomics.waitAsync (Node 16+) is not in the ES2022 lib this project compiles against.
    const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<unknown> | unknown } }).waitAsync;
    const seen = Atomics.load(this.counters, 1);
    const woken = () => {
      this.watching = false;
      const synced = Atomics.load(this.counters, 1);
      while (this.waiting.length > 0 && this.waiting[0].seq <= synced) this.waiting.shift()!.done();
      if (this.waiting.length > 0) {
        this.askIfIdle();
        this.watch();
      }
    };
    const r = waitAsync(this.counters, 1, seen);
    if (r.async) void (r.value as Promise<unknown>).then(woken);
    else queueMicrotask(woken);
  }

  async stop(): Promise<void> {
    Atomics.store(this.counters, 0, -1);
    Atomics.notify(this.counters, 0);
    await this.worker.terminate();
  }
}

/**
 * The floor for any design that runs on one event loop, as shoal and the host do: requests paced
 * by timers as in the paced run, each waiting for `commits` FULL commits one after another, made
 * by the simplest group-commit writer (what is queued when its turn comes goes into one
 * transaction). Nothing else runs: no actors, sockets, codec or data gate. While a commit runs the
 * loop is blocked, so requests queue behind each other's commits; this is the part of the tail no
 * code on top can remove. With `syncOnThread` the commits' fsync runs on its own thread instead
 * (WalSyncThread): a way to keep the loop free without giving up FULL's guarantee.
 */
async function eventLoopFloor(rate: number, seconds: number, commits: number, syncOnThread = false): Promise<number[]> {
  const t = bareTable('loop-floor', syncOnThread ? 'NORMAL' : 'FULL');
  const syncer = syncOnThread ? new WalSyncThread(`${t.store.path}-wal`) : undefined;
  const queued: Array<{ run: () => void; done: () => void }> = [];
  const flush = () => {
    const batch = queued.splice(0);
    t.store.sqlite.transaction(() => batch.forEach((w) => w.run()))();
    const release = () => batch.forEach((w) => w.done());
    if (syncer) syncer.after(release);
    else release();
  };
  const write = (run: () => void) =>
    new Promise<void>((done) => {
      if (queued.push({ run, done }) === 1) setImmediate(flush);
    });
  const spans: number[] = [];
  const chains: Promise<void>[] = [];
  await pace(rate, rate * seconds, () => {
    const start = performance.now();
    const id = t.store.ids.next(Date.now());
    chains.push(
      (async () => {
        await write(() => t.insert.run(id, t.payload));
        for (let k = 1; k < commits; k++) await write(() => t.update.run(`step${k}`, id));
        spans.push(performance.now() - start);
      })(),
    );
  });
  await Promise.all(chains);
  await syncer?.stop();
  t.remove();
  return spans;
}

/**
 * Telemetry's cost: the same round trips (window 256, every request carrying a sampled
 * traceparent) with telemetry off (no SDK: the API's no-op) and on (the entry points' SDK set-up:
 * every request traced, spans batched to an exporter that drops them, metrics collected every
 * second by a reader that drops them, gauges included). Off and on rounds alternate so that a
 * slower or busier stretch of the machine falls on both; the medians are compared.
 */
async function telemetryOverhead(n: number, rounds: number): Promise<{ off: number[]; on: number[]; offCpu: number[]; onCpu: number[] }> {
  const off: number[] = [];
  const on: number[] = [];
  const offCpu: number[] = [];
  const onCpu: number[] = [];
  const dropSpans: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  const dropMetrics: PushMetricExporter = { export: (_metrics, done) => done({ code: 0 }), forceFlush: async () => {}, shutdown: async () => {} };
  for (let r = 0; r < rounds; r++) {
    const a = await throughput(n, 256, { traced: true, quiet: true });
    const sdk = await startTelemetrySdk({ traces: 'none' }, { spanExporter: dropSpans, metricReader: new PeriodicExportingMetricReader({ exporter: dropMetrics, exportIntervalMillis: 1_000 }), register: false });
    const b = await throughput(n, 256, { traced: true, quiet: true, telemetry: { tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider } });
    await sdk.shutdown();
    off.push(a.rate);
    on.push(b.rate);
    offCpu.push(a.cpuPerTrip);
    onCpu.push(b.cpuPerTrip);
    figure(`  round ${r + 1}: off, round trips/s | CPU per trip (us)`, a.rate, `/s | ${fmt(a.cpuPerTrip, 1)} us`);
    figure(`  round ${r + 1}: on,  round trips/s | CPU per trip (us)`, b.rate, `/s | ${fmt(b.cpuPerTrip, 1)} us`);
  }
  return { off, on, offCpu, onCpu };
}

console.log(`shoal pipeline bench — ${new Date().toISOString()} — Node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}; synchronous=FULL; echo service in another process\n`);
/** `npm run bench:pipeline -- telemetry` runs only the telemetry comparison. */
const only = process.argv[2];
const telemetryGoal = async () => {
  const t = await telemetryOverhead(20_000, 5);
  const offRate = percentile(t.off, 50);
  const onRate = percentile(t.on, 50);
  figure('telemetry off, median round trips/s (window 256)', offRate, '/s');
  figure('telemetry on (every request traced, metrics collected), median', onRate, '/s');
  ratio('on / off', onRate, offRate);
  // CPU per round trip is what bounds the rate on a saturated machine, and is less moved by what else runs on it.
  figure("shoal's process CPU per round trip, off (median)", percentile(t.offCpu, 50), 'us', 1);
  figure("shoal's process CPU per round trip, on (median)", percentile(t.onCpu, 50), 'us', 1);
  ratio('CPU per round trip, on / off', percentile(t.onCpu, 50), percentile(t.offCpu, 50));
  const overhead = Math.max(0, (1 - onRate / offRate) * 100);
  return { name: 'telemetry_overhead', measured: overhead, unit: '%', target: '<= 15', pass: overhead <= 15, digits: 1 };
};
if (only === 'telemetry') {
  const goal = await telemetryGoal();
  console.log('');
  printGoals([goal]);
  process.exit(0);
}
const n = 40_000;
const rates: Record<number, number> = {};
for (const window of [16, 256]) {
  rates[window] = (await throughput(n, window)).rate;
  figure(`round trips/s, ${n} requests, window ${window}`, rates[window], '/s');
}
const bare = await withoutRuntime(n, 256);
figure('  baseline: process CPU per round trip', bare.cpuPerTrip, 'us', 1);
figure('baseline: the same work without the runtime, window 256', bare.rate, '/s');
ratio('shoal / baseline, window 256', rates[256], bare.rate);
const storeShare = storeOnly(n, 256);
figure('  its store alone: claim + result, 256 per commit', storeShare.rate, '/s');
figure('  its store alone: CPU per round trip', storeShare.cpuPerTrip, 'us', 1);
const socketShare = await socketsOnly(n, 256);
figure('  its sockets, codec and echo service alone, window 256', socketShare.rate, '/s');
figure('  its sockets alone: CPU per round trip (this process)', socketShare.cpuPerTrip, 'us', 1);
figure('  both on one thread, at best: 1 / (1/store + 1/sockets)', 1 / (1 / storeShare.rate + 1 / socketShare.rate), '/s');
if (socketShare.echoCpuPerTrip !== undefined) {
  // Whatever the threads, both processes share the machine's cores: this sum bounds any design.
  figure('  CPU the work needs per round trip: store + sockets + echo', storeShare.cpuPerTrip + socketShare.cpuPerTrip + socketShare.echoCpuPerTrip, 'us', 1);
}
figure(`  CPU per round trip that ${os.cpus().length} cores allow at 20,000/s`, (os.cpus().length * 1e6) / 20_000, 'us', 1);
const paced = await pacedLatency(1_000, 10, 2);
const socketSpans = await pacedSockets(1_000, 10, 2);
const lat = paced.warm;
const p50 = percentile(lat, 50);
const p99 = percentile(lat, 99);
figure('paced 1,000/s: first 2 s (warm-up, not the goal), p99', percentile(paced.cold, 99), 'ms', 3);
figure('paced 1,000/s for 10 s after it: results', lat.length, '');
figure('enqueue call -> result committed, p50', p50, 'ms', 3);
figure('enqueue call -> result committed, p95', percentile(lat, 95), 'ms', 3);
figure('enqueue call -> result committed, p99', p99, 'ms', 3);
figure('sockets, codec and echo service alone, 1,000/s, p50', percentile(socketSpans, 50), 'ms', 3);
figure('sockets, codec and echo service alone, 1,000/s, p99', percentile(socketSpans, 99), 'ms', 3);
const floor = twoCommitFloor(1_000, 10);
figure('floor (no shoal): 2 FULL commits in a row, 1,000/s, p50', percentile(floor, 50), 'ms', 3);
figure('floor (no shoal): 2 FULL commits in a row, 1,000/s, p99', percentile(floor, 99), 'ms', 3);
// A request in shoal waits for three commits (enqueue, claim, result); two is the least possible.
for (const commits of [3, 2]) {
  const spans = await eventLoopFloor(1_000, 10, commits);
  figure(`event-loop floor (no shoal): ${commits} group commits, p50`, percentile(spans, 50), 'ms', 3);
  figure(`event-loop floor (no shoal): ${commits} group commits, p99`, percentile(spans, 99), 'ms', 3);
}
const offLoop = await eventLoopFloor(1_000, 10, 2, true);
figure('same, 2 commits, fsync on its own thread, p50', percentile(offLoop, 50), 'ms', 3);
figure('same, 2 commits, fsync on its own thread, p99', percentile(offLoop, 99), 'ms', 3);
const telemetry = await telemetryGoal();
console.log('');
printGoals([
  { name: 'pipeline_round_trips', measured: rates[256], unit: 'round trips/s', target: '>= 20000', pass: rates[256] >= 20_000, digits: 0 },
  { name: 'pipeline_p99_added_latency_at_1000_per_s', measured: p99, unit: 'ms', target: '< 2', pass: p99 < 2, digits: 3 },
  telemetry,
]);
