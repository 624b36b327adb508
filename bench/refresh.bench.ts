/**
 * Incremental refresh vs full scan, on one database of 1,000,000 strategies, in one run.
 *
 *   incremental: what one rank-evaluator cycle does after 1,000 strategies changed: read the rows
 *                changed since the watermark (batches of 1,000), evaluate them, and write the rank
 *                changes plus the watermark advance in one transaction (synchronous=FULL).
 *   full scan:   read all 1,000,000 rows (batches of 1,000, by name) and evaluate them.
 *
 * Each is the best of a few runs. Every incremental run gets 1,000 freshly changed strategies (A
 * strategies whose in-sample sharpe fell below A's, so each is a real A->B demotion to write).
 * A rank change bumps the row's change_seq, so the cycle after it reads those 1,000 rows once
 * more and changes nothing; that follow-up cycle is measured and printed too.
 *
 *   npx tsx bench/refresh.bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { planBatch } from '../actors/rank-evaluator.ts';
import { applyBatch } from '../persistence/batch.ts';
import type { WriteCommand } from '../persistence/commands.ts';
import { openStore, type Store } from '../persistence/connection.ts';
import { currentChangeSeq, liveRequestsFor } from '../persistence/report.ts';
import { readAllStrategies, readStrategiesChangedUpTo } from '../persistence/strategies.ts';
import { DEFAULT_RANK_CRITERIA } from '../domain/ranks.ts';
import { figure, printGoals, ratio } from './lib/report.ts';

const N = 1_000_000;
const CHANGED = 1_000;
const BATCH = 1_000;
const INCREMENTAL_RUNS = 15;
const FULL_RUNS = 3;
const CURSOR = 'rank-evaluator';

const name = (i: number) => `S${String(i).padStart(7, '0')}`;

/** Fixture building: one prepared multi-row insert per 100 rows, 50,000 rows per transaction. */
function build(store: Store): void {
  const cols = '(name, symbol, timeframe, direction, indicator_type, params, sl, tp, volume, sharpe, profit_factor, win_rate, trades, max_dd, oos_sharpe, rank, created_at, updated_at, change_seq)';
  const row = "(?, 'USDJPY', 60, 'BOTH', 'sma', '{\"sma_short\":5,\"sma_long\":20}', 0.3, 0.6, 0.01, 0.5, 1.4, 0.45, 250, 0.12, 0.5, 'A', 0, 0, ?)";
  const PER = 100;
  const insert = store.sqlite.prepare(`insert into strategies ${cols} values ${Array(PER).fill(row).join(', ')}`);
  const chunk = store.sqlite.transaction((from: number, to: number) => {
    const args: (string | number)[] = [];
    for (let i = from; i < to; i += PER) {
      args.length = 0;
      for (let j = i; j < i + PER; j++) args.push(name(j), j + 1);
      insert.run(args);
    }
  });
  for (let i = 0; i < N; i += 50_000) chunk(i, Math.min(N, i + 50_000));
  store.sqlite.prepare("update sequences set value = ? where name = 'strategy_change'").run(N);
  applyBatch(store, [{ type: 'setCursor', name: CURSOR, value: N }], Date.now());
}

/** Changes CHANGED strategies (a real in-sample update through the store's upsert): A metrics fall to B level. */
function change(store: Store, run: number): void {
  const commands: WriteCommand[] = [];
  for (let k = 0; k < CHANGED; k++) {
    const i = (run * CHANGED + k) * 997 % N; // spread over the key space, disjoint across runs
    commands.push({
      type: 'upsertStrategy',
      strategy: { name: name(i), symbol: 'USDJPY', timeframe: 60, direction: 'BOTH', indicatorType: 'sma', params: { sma_short: 5, sma_long: 20 }, volume: 0.01, sharpe: 0.3 },
    });
  }
  applyBatch(store, commands, Date.now());
}

interface CycleResult {
  ms: number;
  /** Of `ms`: the reads, the evaluation, the write transaction. */
  readMs: number;
  evaluateMs: number;
  writeMs: number;
  rowsRead: number;
  changes: number;
  watermark: number;
}

/** One incremental cycle, as the rank evaluator runs it (the same read, plan and write; minus the actor hops). */
function incrementalCycle(store: Store, watermark: number): CycleResult {
  const t0 = performance.now();
  let rowsRead = 0;
  let changes = 0;
  let readMs = 0;
  let evaluateMs = 0;
  let writeMs = 0;
  const upTo = currentChangeSeq(store);
  for (;;) {
    const t1 = performance.now();
    const batch = readStrategiesChangedUpTo(store, watermark, upTo, BATCH);
    const t2 = performance.now();
    readMs += t2 - t1;
    rowsRead += batch.fetched;
    if (batch.strategies.length > 0) {
      const plan = planBatch(batch.strategies, DEFAULT_RANK_CRITERIA);
      if (plan.oosCandidates.length > 0) liveRequestsFor(store, plan.oosCandidates.map((s) => s.name));
      const t3 = performance.now();
      evaluateMs += t3 - t2;
      const outcomes = applyBatch(store, [...plan.changes, { type: 'setCursor', name: CURSOR, value: batch.lastSeq }], Date.now());
      writeMs += performance.now() - t3;
      changes += outcomes.filter((o) => o.type === 'changeRank' && o.status === 'changed').length;
      watermark = batch.lastSeq;
    }
    if (batch.done) break;
  }
  return { ms: performance.now() - t0, readMs, evaluateMs, writeMs, rowsRead, changes, watermark };
}

function fullScan(store: Store): { ms: number; rowsRead: number; changes: number } {
  const t0 = performance.now();
  let rowsRead = 0;
  let changes = 0;
  let after: string | null = null;
  do {
    const page = readAllStrategies(store, { after, limit: BATCH });
    rowsRead += page.strategies.length;
    changes += planBatch(page.strategies, DEFAULT_RANK_CRITERIA).changes.length;
    after = page.next;
  } while (after !== null);
  return { ms: performance.now() - t0, rowsRead, changes };
}

const dir = mkdtempSync(path.join(tmpdir(), 'shoal-refresh-'));
try {
  const store = openStore({ path: path.join(dir, 'refresh.db'), synchronous: 'FULL' });
  console.log(`refresh benchmark: ${N.toLocaleString('en-US')} strategies, ${CHANGED.toLocaleString('en-US')} changed per run, batches of ${BATCH}, synchronous=FULL`);
  const t0 = performance.now();
  build(store);
  figure('fixture: strategies inserted', N, 'rows');
  figure('fixture: build time', (performance.now() - t0) / 1_000, 's', 1);

  let watermark = N;
  const incremental: CycleResult[] = [];
  const followUps: CycleResult[] = [];
  for (let run = 0; run < INCREMENTAL_RUNS; run++) {
    change(store, run);
    const r = incrementalCycle(store, watermark);
    if (r.rowsRead !== CHANGED || r.changes !== CHANGED) throw new Error(`incremental run ${run}: read ${r.rowsRead} rows and changed ${r.changes}, expected ${CHANGED} and ${CHANGED}`);
    incremental.push(r);
    // The next cycle re-reads the rows whose rank this one changed (their change_seq moved).
    const next = incrementalCycle(store, r.watermark);
    followUps.push(next);
    watermark = next.watermark;
  }
  const full = Array.from({ length: FULL_RUNS }, () => fullScan(store));
  if (full.some((f) => f.rowsRead !== N)) throw new Error(`a full scan read ${full.map((f) => f.rowsRead).join('/')} rows, expected ${N}`);

  const bestIncremental = Math.min(...incremental.map((r) => r.ms));
  const bestFollowUp = Math.min(...followUps.map((r) => r.ms));
  const bestFull = Math.min(...full.map((r) => r.ms));
  figure('incremental cycle: rows read', incremental[0].rowsRead, 'rows');
  figure('incremental cycle: rank changes written', incremental[0].changes, 'rows');
  figure(`incremental cycle: best of ${INCREMENTAL_RUNS}`, bestIncremental, 'ms', 2);
  figure(`incremental cycle: median of ${INCREMENTAL_RUNS}`, incremental.map((r) => r.ms).sort((a, b) => a - b)[Math.floor(INCREMENTAL_RUNS / 2)], 'ms', 2);
  const fastest = incremental.reduce((a, b) => (b.ms < a.ms ? b : a));
  figure('  of which: read changed rows', fastest.readMs, 'ms', 2);
  figure('  of which: evaluate', fastest.evaluateMs, 'ms', 2);
  figure('  of which: write (1,000 guarded rank changes + cursor, 1 commit)', fastest.writeMs, 'ms', 2);
  figure('follow-up cycle (re-reads its own rank changes): rows read', followUps[0].rowsRead, 'rows');
  figure(`follow-up cycle: best of ${INCREMENTAL_RUNS}`, bestFollowUp, 'ms', 2);
  figure('full scan: rows read', full[0].rowsRead, 'rows');
  figure(`full scan: best of ${FULL_RUNS}`, bestFull, 'ms', 1);
  figure('full scan: rows per second', N / (bestFull / 1_000), 'rows/s');
  const r = ratio('full scan / incremental cycle', bestFull, bestIncremental);
  ratio('full scan / (incremental + follow-up cycle)', bestFull, bestIncremental + bestFollowUp);
  store.close();
  printGoals([{ name: 'refresh_incremental_vs_full', measured: r, unit: 'x', target: '>= 100', pass: r >= 100 }]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
