/**
 * Request ids: is a hand-written UUIDv7 generator worth keeping over the `uuid` package?
 *
 * 1. Ids per second: the hand-written generator (bench/lib/hand-uuidv7.ts, shoal's before ADR
 *    0005); the store's generator (persistence/uuidv7.ts: the package's layout, our clock and
 *    monotonic counter, crypto bytes from a pool); the same with one crypto call per id; the
 *    package's plain `v7()`; crypto's v4 `randomUUID` as the same-run baseline. Median of 7 rounds.
 * 2. What matters: committed enqueues per second (enqueueRequest through applyBatch, 1,000 per
 *    transaction, synchronous FULL, as the db-writer's group commit does), each request id made
 *    inside the timed loop by one of the generators; random v4 ids show what time order buys.
 *    Every case runs on its own copy of one database holding the strategies, cases rotate within
 *    each round so all see the same machine load; median of the rounds. The goals use the rate
 *    per CPU-second of this process (fsync waits and other processes' load do not count), the
 *    wall-clock rate is printed beside it.
 * Run: npx tsx bench/uuid.bench.ts
 */
import { benchStrategy } from './lib/strategies.ts';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { v7 } from 'uuid';
import { applyBatch } from '../persistence/batch.ts';
import type { WriteCommand } from '../persistence/commands.ts';
import { checkpoint, openStore } from '../persistence/connection.ts';
import { getRandomValues } from 'node:crypto';
import { UuidV7Generator } from '../persistence/uuidv7.ts';
import { UuidV7Generator as HandGenerator } from './lib/hand-uuidv7.ts';
import { figure, printGoals, ratio } from './lib/report.ts';

const ID_ROUNDS = 7;
const IDS_PER_ROUND = 200_000;
const ROWS = 50_000; // enqueues per case, one strategy each (one live request per strategy)
const BATCH = 1_000;
const INSERT_ROUNDS = 5;

type MakeId = () => string;

/** A fresh generator per case and round, as a fresh connection has. */
const GENERATORS: Record<string, () => MakeId> = {
  'hand-written v7': () => {
    const g = new HandGenerator();
    return () => g.next(Date.now());
  },
  'store generator (package, pooled bytes)': () => {
    const g = new UuidV7Generator();
    return () => g.next(Date.now());
  },
  'store generator, a crypto call per id': () => {
    const bytes = new Uint8Array(16);
    const g = new UuidV7Generator(() => getRandomValues(bytes));
    return () => g.next(Date.now());
  },
  'package v7() plain': () => () => v7(),
  'crypto randomUUID v4': () => () => randomUUID(),
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function idsPerSecond(make: MakeId): number {
  let sink = 0;
  const started = performance.now();
  for (let i = 0; i < IDS_PER_ROUND; i++) sink += make().length;
  const seconds = (performance.now() - started) / 1_000;
  if (sink !== IDS_PER_ROUND * 36) throw new Error('an id is not 36 characters');
  return IDS_PER_ROUND / seconds;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-uuid-bench-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const strategyName = (i: number) => `strat-${String(i).padStart(6, '0')}`;

function payload(name: string): Record<string, unknown> {
  return {
    action: 'BACKTEST',
    strategy: { name: `${name}-OOS`, sma_short: 5, sma_long: 20, sl: 0.3, tp: 0.6, volume: 0.01, indicator_type: 'sma', timeframe: 60 },
    data_id: 'USDJPY_M1',
    candles_file: '/data/historical/USDJPY_M1.csv',
    symbol: 'USDJPY',
    timeframe: 60,
    start_time: 1_700_000_000,
    end_time: 1_715_552_000,
    include_trades: true,
  };
}

/** A database holding ROWS strategies (requests reference them), made once and copied per case. */
function buildTemplate(): string {
  const file = path.join(dir, 'template.db');
  const store = openStore({ path: file, synchronous: 'NORMAL' });
  for (let start = 0; start < ROWS; start += BATCH) {
    const batch: WriteCommand[] = [];
    for (let i = start; i < start + BATCH; i++) {
      batch.push({
        type: 'upsertStrategy',
        strategy: benchStrategy(strategyName(i)),
      });
    }
    applyBatch(store, batch, Date.now());
  }
  checkpoint(store, 'TRUNCATE');
  store.close();
  return file;
}

let copies = 0;
/** Committed enqueues per wall-clock and per CPU second with ids from `make`, on a fresh copy of the template. */
function enqueueRates(template: string, make: MakeId): { wall: number; cpu: number } {
  const file = path.join(dir, `case-${copies++}.db`);
  fs.copyFileSync(template, file);
  const store = openStore({ path: file, synchronous: 'FULL' });
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (let start = 0; start < ROWS; start += BATCH) {
    const batch: WriteCommand[] = [];
    for (let i = start; i < start + BATCH; i++) {
      const name = strategyName(i);
      batch.push({ type: 'enqueueRequest', strategyName: name, payload: payload(name), requestId: make() });
    }
    for (const o of applyBatch(store, batch, Date.now())) if (o.status !== 'enqueued') throw new Error(`enqueue: ${JSON.stringify(o)}`);
  }
  const cpu = process.cpuUsage(cpuStarted);
  const rates = { wall: ROWS / ((performance.now() - started) / 1_000), cpu: ROWS / ((cpu.user + cpu.system) / 1e6) };
  store.close();
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  return rates;
}

const names = Object.keys(GENERATORS);

console.log(`ids per second, median of ${ID_ROUNDS} rounds of ${IDS_PER_ROUND.toLocaleString('en-US')}`);
const idRates = new Map(names.map((n) => [n, [] as number[]]));
for (let r = 0; r < ID_ROUNDS; r++) for (const n of names) idRates.get(n)!.push(idsPerSecond(GENERATORS[n]()));
const idRate = new Map(names.map((n) => [n, median(idRates.get(n)!)]));
for (const n of names) figure(`  ${n}`, idRate.get(n)!, 'ids/s');
const baselineIds = idRate.get('crypto randomUUID v4')!;
for (const n of names.slice(0, -1)) ratio(`  ${n} / randomUUID`, idRate.get(n)!, baselineIds);

console.log(`\ncommitted enqueues per second: ${ROWS.toLocaleString('en-US')} requests, ${BATCH} per transaction, FULL; median of ${INSERT_ROUNDS} rounds`);
const template = buildTemplate();
const wallRates = new Map(names.map((n) => [n, [] as number[]]));
const cpuRates = new Map(names.map((n) => [n, [] as number[]]));
for (let r = 0; r < INSERT_ROUNDS; r++) {
  // Rotate the order so no generator always runs first (a cold page cache) or last.
  for (let k = 0; k < names.length; k++) {
    const n = names[(k + r) % names.length];
    const rates = enqueueRates(template, GENERATORS[n]());
    wallRates.get(n)!.push(rates.wall);
    cpuRates.get(n)!.push(rates.cpu);
  }
}
const cpuRate = new Map(names.map((n) => [n, median(cpuRates.get(n)!)]));
for (const n of names) figure(`  ${n} (wall clock)`, median(wallRates.get(n)!), 'enqueues/s');
for (const n of names) figure(`  ${n} (per CPU second)`, cpuRate.get(n)!, 'enqueues/s');
const hand = cpuRate.get('hand-written v7')!;
const store = 'store generator (package, pooled bytes)';
const pkg = cpuRate.get(store)!;
const packageVsHand = ratio('  store generator / hand-written (CPU)', pkg, hand);
ratio('  a crypto call per id / hand-written (CPU)', cpuRate.get('store generator, a crypto call per id')!, hand);
ratio('  package v7() plain / hand-written (CPU)', cpuRate.get('package v7() plain')!, hand);
ratio('  store generator / random v4 keys (CPU)', pkg, cpuRate.get('crypto randomUUID v4')!);
// What switching costs per enqueue: the store generator's extra time per id over the
// hand-written one, as a share of the CPU time of one committed enqueue, all from this run.
const extraPerId = 1 / idRate.get(store)! - 1 / idRate.get('hand-written v7')!;
const switchShare = 100 * extraPerId * pkg;
figure('  store generator: id time / enqueue CPU time', (100 * pkg) / idRate.get(store)!, '%', 2);
figure('  store generator: extra id time over hand-written, of enqueue', switchShare, '%', 2);

printGoals([
  { name: 'uuid-enqueue-package-vs-hand', measured: packageVsHand, unit: 'x', target: '>= 0.95', pass: packageVsHand >= 0.95 },
  { name: 'uuid-switch-cost-of-enqueue', measured: switchShare, unit: '%', target: '< 5', pass: switchShare < 5 },
]);
