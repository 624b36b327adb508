/**
 * Store throughput: committed outbox inserts with group commit vs one transaction per command,
 * under synchronous FULL and NORMAL; the cost of per-command savepoints; complete request life
 * cycles (enqueue -> claimDue -> applyResult) with group commit under FULL.
 *
 * Inserts and life cycles go through the db-writer actor, as in the runtime: every command is its
 * own message, and the writer merges what arrives in one turn into one transaction (group
 * commit); the baseline is the same writer limited to one message per transaction. Savepoint
 * cost and the reference figure are measured on the store directly.
 *
 * Every case runs on its own copy of one prepared database file (strategies already present,
 * since requests reference them), in one run, so the figures compare like with like.
 * Run: npx tsx bench/store.bench.ts
 */
import { benchStrategy } from './lib/strategies.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyBatch } from '../persistence/batch.ts';
import { applyCommand, BATCH_SCOPES, type CommandOutcome, type WriteCommand } from '../persistence/commands.ts';
import { checkpoint, openStore, type Store, type SynchronousMode } from '../persistence/connection.ts';
import { systemClock, type Clock } from '../runtime/clock.ts';
import { start } from '../runtime/index.ts';
import { startSupervisor } from '../supervisors/index.ts';
import { dbWriter, type DbWriterMessage } from '../actors/db-writer.ts';
import { writeCommands } from '../actors/db-client.ts';
import { figure, printGoals, ratio } from './lib/report.ts';

const STRATEGIES = 102_400;
const GROUP_ROWS = 102_400;
const SINGLE_FULL_ROWS = 2_000; // ~1 fsync each: bounded to keep the run short
const SINGLE_NORMAL_ROWS = 20_000;
const SAVEPOINT_BATCHES = 100; // of 1,000 inserts, half of them with savepoints
const LIFECYCLE_BATCH = 256;
const LIFECYCLE_CYCLES = 51_200;

/**
 * The one place a batch is submitted. Today it applies the batch on the store directly; the
 * db-writer actor goes here later (an ask that resolves after its group commit).
 */
type Submit = (commands: readonly WriteCommand[]) => Promise<CommandOutcome[]>;

function directSubmit(store: Store, clock: Clock): Submit {
  return async (commands) => applyBatch(store, commands, clock.now());
}

/**
 * The executor's two ways of running a batch (batch.ts), rebuilt from the registry's dispatch to
 * time them apart: one BEGIN IMMEDIATE transaction with a savepoint around each command (a batch
 * rerun after a command failed) or without (every batch's first run).
 */
function batchRunner(store: Store, savepoints: boolean): Submit {
  const isolated = store.sqlite.transaction((c: WriteCommand, now: number) => applyCommand(store, c, now));
  const batch = store.sqlite.transaction((commands: readonly WriteCommand[], now: number) => {
    for (const scope of BATCH_SCOPES) scope.begin(store);
    const outcomes = commands.map((c): CommandOutcome => (savepoints ? isolated(c, now) : applyCommand(store, c, now)));
    for (const scope of BATCH_SCOPES) scope.end(store);
    return outcomes;
  });
  return async (commands) => batch.immediate(commands, systemClock.now());
}

/**
 * Submits through a db-writer actor on the store's file: each command its own message, sent
 * together; the writer commits at most `maxBatchMessages` of them per transaction.
 */
async function writerSubmit(store: Store, maxBatchMessages: number): Promise<{ submit: Submit; submitTurn: Submit; stop: () => Promise<void> }> {
  const { path: file, synchronous } = store;
  store.close();
  const system = start({ name: 'bench' });
  const sup = await startSupervisor(
    system,
    { strategy: 'one_for_one', children: [{ id: 'db-writer', start: () => dbWriter({ path: file, synchronous, maxBatchMessages, checkpointIntervalMs: 0, mailboxCapacity: 1_000_000 }) }] },
    'bench',
  );
  const writer = sup.childRef<DbWriterMessage>('db-writer')!;
  const submit: Submit = async (commands) => (await Promise.all(commands.map((c) => writeCommands(system, writer, [c], 120_000)))).flat();
  // How the runtime's producers talk to it: a turn's commands in one message (the writer still merges messages).
  const submitTurn: Submit = (commands) => writeCommands(system, writer, commands, 120_000);
  return { submit, submitTurn, stop: () => system.stop() };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

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

function strategyName(i: number): string {
  return `strat-${String(i).padStart(6, '0')}`;
}

/** A database file holding STRATEGIES strategies, made once and copied for every case. */
async function buildTemplate(): Promise<string> {
  const file = path.join(dir, 'template.db');
  const store = openStore({ path: file, synchronous: 'NORMAL' });
  const submit = directSubmit(store, systemClock);
  for (let start = 0; start < STRATEGIES; start += 1_000) {
    const batch: WriteCommand[] = [];
    for (let i = start; i < Math.min(STRATEGIES, start + 1_000); i++) {
      batch.push({
        type: 'upsertStrategy',
        strategy: benchStrategy(strategyName(i)),
      });
    }
    await submit(batch);
  }
  checkpoint(store, 'TRUNCATE');
  store.close();
  return file;
}

let copies = 0;
function freshCopy(template: string, synchronous: SynchronousMode): Store {
  const file = path.join(dir, `case-${copies++}.db`);
  fs.copyFileSync(template, file);
  return openStore({ path: file, synchronous });
}

function discard(store: Store): void {
  store.close();
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(store.path + suffix, { force: true });
}

function enqueue(i: number): WriteCommand {
  const name = strategyName(i);
  return { type: 'enqueueRequest', strategyName: name, payload: payload(name) };
}

function expectStatus(outcomes: CommandOutcome[], status: string, label: string): number {
  let n = 0;
  for (const o of outcomes) {
    if (o.status !== status) throw new Error(`${label}: unexpected outcome ${JSON.stringify(o)}`);
    n++;
  }
  return n;
}

/**
 * How fast this machine is right now: plain prepared inserts (text time-ordered key, 300-byte
 * payload), 1,000 per transaction, FULL, without the store's schema or commands. The perf notes
 * measured 280-330 k rows/s for this on an idle machine; a lower figure here means a busier one.
 */
function referenceInserts(): number {
  const store = openStore({ path: path.join(dir, 'reference.db'), synchronous: 'FULL', migrations: [] });
  store.sqlite.exec('create table t (id text primary key, payload text not null, n integer not null) strict');
  const insert = store.sqlite.prepare('insert into t values (?, ?, ?)');
  const text = 'x'.repeat(300);
  const batch = store.sqlite.transaction((from: number) => {
    for (let i = from; i < from + 1_000; i++) insert.run(store.ids.next(1_700_000_000_000 + i), text, i);
  });
  const started = performance.now();
  for (let b = 0; b < 100; b++) batch(b * 1_000);
  const rate = 100_000 / ((performance.now() - started) / 1_000);
  discard(store);
  return rate;
}

/**
 * Savepoint cost: batches of 1,000 inserts on one FULL store, alternating with and without
 * per-command savepoints, so both modes see the same file and the same moments of machine load.
 */
async function savepointCost(template: string): Promise<{ withSp: number; withoutSp: number }> {
  const store = freshCopy(template, 'FULL');
  const spent = { with: 0, without: 0 };
  const runners = { with: batchRunner(store, true), without: batchRunner(store, false) };
  let next = 0;
  for (let b = 0; b < SAVEPOINT_BATCHES; b++) {
    const savepoints = b % 2 === 0;
    const submit = savepoints ? runners.with : runners.without;
    const batch: WriteCommand[] = [];
    for (let k = 0; k < 1_000; k++) batch.push(enqueue(next++));
    const started = performance.now();
    expectStatus(await submit(batch), 'enqueued', 'savepoint cost');
    spent[savepoints ? 'with' : 'without'] += performance.now() - started;
  }
  discard(store);
  const half = (SAVEPOINT_BATCHES / 2) * 1_000;
  return { withSp: half / (spent.with / 1_000), withoutSp: half / (spent.without / 1_000) };
}

/** Committed outbox inserts per second, `batchSize` commands per transaction. */
async function inserts(template: string, synchronous: SynchronousMode, rows: number, batchSize: number, perTurn = false): Promise<number> {
  const store = freshCopy(template, synchronous);
  // batchSize 1: the writer takes one message per transaction (the baseline); otherwise up to batchSize.
  const writer = await writerSubmit(store, batchSize);
  const { stop } = writer;
  const submit = perTurn ? writer.submitTurn : writer.submit;
  let committed = 0;
  const started = performance.now();
  for (let start = 0; start < rows; start += batchSize) {
    const batch: WriteCommand[] = [];
    for (let i = start; i < Math.min(rows, start + batchSize); i++) batch.push(enqueue(i));
    committed += expectStatus(await submit(batch), 'enqueued', 'insert');
  }
  const seconds = (performance.now() - started) / 1_000;
  await stop();
  discard(store);
  return committed / seconds;
}

function smallResult(requestId: string): WriteCommand {
  return {
    type: 'applyResult',
    requestId,
    result: {
      trades: 212,
      wins: 118,
      losses: 94,
      pnl: 3.21,
      sharpe: 0.52,
      sortino: 0.8,
      maxDd: 0.031,
      winRate: 0.5566,
      profitFactor: 1.34,
      adjustedSharpe: 0.49,
      sharpeCiLower: -0.1,
      tradeList: [{ timestamp: 1_700_003_600_000, pnl: 0.012 }],
    },
  };
}

function claimedIds(outcome: CommandOutcome | undefined): string[] {
  if (outcome?.type !== 'claimDue' || outcome.status !== 'claimed') throw new Error(`claim failed: ${JSON.stringify(outcome)}`);
  return outcome.requests.map((r) => r.requestId);
}

/** Strategy i in name order: consecutive requests touch neighbouring strategy rows. */
const inNameOrder = (i: number) => i % STRATEGIES;
/**
 * A fixed scattering of the strategies (multiplying by a number coprime to STRATEGIES is a
 * bijection): consecutive requests touch strategy rows far apart, as a real host's would.
 */
const scattered = (i: number) => (i * 40_503) % STRATEGIES;

/**
 * Complete life cycles per second, stage by stage: each round enqueues a batch, claims it, and
 * applies a small result to every claimed request, each stage its own submit and commit.
 */
async function stagedLifecycles(template: string, strategyOf: (i: number) => number = inNameOrder): Promise<number> {
  const store = freshCopy(template, 'FULL');
  const { submit, stop } = await writerSubmit(store, LIFECYCLE_BATCH);
  let cycles = 0;
  let next = 0;
  const started = performance.now();
  while (cycles < LIFECYCLE_CYCLES) {
    const enqueues: WriteCommand[] = [];
    for (let k = 0; k < LIFECYCLE_BATCH; k++) enqueues.push(enqueue(strategyOf(next++)));
    expectStatus(await submit(enqueues), 'enqueued', 'lifecycle enqueue');
    const claimed = claimedIds((await submit([{ type: 'claimDue', limit: LIFECYCLE_BATCH, leaseMs: 60_000 }]))[0]);
    cycles += expectStatus(await submit(claimed.map(smallResult)), 'applied', 'lifecycle result');
  }
  const seconds = (performance.now() - started) / 1_000;
  await stop();
  discard(store);
  return cycles / seconds;
}

/**
 * The same cycles as a pipeline in steady state, as the db-writer sees them when the three
 * stages run concurrently: every commit carries the results for the requests claimed one round
 * earlier, the claim of the requests enqueued one round earlier, and new enqueues. Each request
 * still goes through three separate commits; a round costs one commit instead of three.
 */
async function pipelinedLifecycles(template: string): Promise<number> {
  const store = freshCopy(template, 'FULL');
  const submit = directSubmit(store, systemClock);
  let cycles = 0;
  let next = 0;
  let inFlight: string[] = [];
  const started = performance.now();
  while (cycles < LIFECYCLE_CYCLES) {
    const batch: WriteCommand[] = inFlight.map(smallResult);
    // Before this round's enqueues, so it takes only requests enqueued in earlier commits.
    batch.push({ type: 'claimDue', limit: LIFECYCLE_BATCH, leaseMs: 60_000 });
    for (let k = 0; k < LIFECYCLE_BATCH; k++) batch.push(enqueue(next++ % STRATEGIES));
    const results = inFlight.length;
    const outcomes = await submit(batch);
    cycles += expectStatus(outcomes.slice(0, results), 'applied', 'pipeline result');
    expectStatus(outcomes.slice(results + 1), 'enqueued', 'pipeline enqueue');
    inFlight = claimedIds(outcomes[results]);
  }
  const seconds = (performance.now() - started) / 1_000;
  discard(store);
  return cycles / seconds;
}

async function main(): Promise<void> {
  const runStarted = performance.now();
  const load = () => os.loadavg()[0].toFixed(2);
  console.log(`store benchmark: ${os.cpus().length} CPU(s), load average ${load()}, Node ${process.version}, temp files in ${os.tmpdir()}`);
  const template = await buildTemplate();
  figure('reference: plain inserts, 1,000 per transaction, FULL', referenceInserts(), 'rows/s');

  console.log('\noutbox inserts through the db-writer, committed rows/s');
  const singleFull = await inserts(template, 'FULL', SINGLE_FULL_ROWS, 1);
  figure('FULL, one transaction per command (baseline)', singleFull, 'rows/s');
  const group256Full = await inserts(template, 'FULL', GROUP_ROWS, 256);
  figure('FULL, group commit 256 per batch', group256Full, 'rows/s');
  const group1000Full = await inserts(template, 'FULL', GROUP_ROWS, 1_000);
  figure('FULL, group commit 1,000 per batch', group1000Full, 'rows/s');
  figure('FULL, 256 commands per message (context, not the goal)', await inserts(template, 'FULL', GROUP_ROWS, 256, true), 'rows/s');

  const singleNormal = await inserts(template, 'NORMAL', SINGLE_NORMAL_ROWS, 1);
  figure('NORMAL, one transaction per command (baseline)', singleNormal, 'rows/s');
  const group256Normal = await inserts(template, 'NORMAL', GROUP_ROWS, 256);
  figure('NORMAL, group commit 256 per batch', group256Normal, 'rows/s');
  const group1000Normal = await inserts(template, 'NORMAL', GROUP_ROWS, 1_000);
  figure('NORMAL, group commit 1,000 per batch', group1000Normal, 'rows/s');

  console.log('\nratios vs one transaction per command (same sync mode)');
  const groupVsSingle = ratio('FULL: group 256 / single', group256Full, singleFull);
  ratio('FULL: group 1,000 / single', group1000Full, singleFull);
  ratio('NORMAL: group 256 / single', group256Normal, singleNormal);
  ratio('NORMAL: group 1,000 / single', group1000Normal, singleNormal);
  ratio('group 1,000: NORMAL / FULL', group1000Normal, group1000Full);

  console.log('\nper-command savepoints (FULL, 1,000 per batch, alternating batches)');
  const sp = await savepointCost(template);
  figure('with a savepoint per command', sp.withSp, 'rows/s');
  figure('without (the default rerun-on-failure costs this while no command fails)', sp.withoutSp, 'rows/s');
  ratio('with / without', sp.withSp, sp.withoutSp);
  figure('savepoint cost per command', (1 / sp.withSp - 1 / sp.withoutSp) * 1e6, 'us', 2);

  console.log('\nlife cycles through the db-writer: enqueue -> claimDue -> applyResult, FULL, group commit');
  const cycles = await stagedLifecycles(template);
  figure(`stage by stage (${LIFECYCLE_BATCH} per batch, 3 commits per round)`, cycles, 'cycles/s');
  const pipelined = await pipelinedLifecycles(template);
  figure(`pipelined (${LIFECYCLE_BATCH} per stage, 1 commit per round)`, pipelined, 'cycles/s');
  // Context, not the goal: each result's strategy update lands on its own page.
  figure('stage by stage, strategies in scattered order', await stagedLifecycles(template, scattered), 'cycles/s');

  console.log('');
  figure('total benchmark time', (performance.now() - runStarted) / 1_000, 's', 1);
  console.log(`load average at the end: ${load()}`);
  printGoals([
    { name: 'store_insert_full_group', measured: group256Full, unit: 'rows/s', target: '>= 50000', pass: group256Full >= 50_000, digits: 0 },
    { name: 'store_lifecycle_full_group', measured: cycles, unit: 'cycles/s', target: '>= 20000', pass: cycles >= 20_000, digits: 0 },
    { name: 'store_group_vs_single', measured: groupVsSingle, unit: 'x', target: '>= 10', pass: groupVsSingle >= 10, digits: 1 },
  ]);
}

await main();
