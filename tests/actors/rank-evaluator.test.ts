import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, type ActorRef } from '../../runtime/index.ts';
import { writeCommand, writeCommands } from '../../actors/db-client.ts';
import { dataGate, GateStats } from '../../actors/data-gate.ts';
import { dailyReporter, DailyReporterStats } from '../../actors/daily-reporter.ts';
import { notifier, NotificationChannel, type Notification } from '../../actors/notifier.ts';
import { planBatch, rankEvaluator, RankEvaluatorStats, type CycleReport, type RankEvaluatorConfig, type RankEvaluatorMessage } from '../../actors/rank-evaluator.ts';
import type { StrategyInput } from '../../persistence/strategies.ts';
import type { WriteCommand } from '../../persistence/commands.ts';
import { getCursor } from '../../persistence/cursors.ts';
import { listRequests } from '../../persistence/outbox.ts';
import { currentChangeSeq } from '../../persistence/report.ts';
import { getStrategy } from '../../persistence/strategies.ts';
import { DEFAULT_RANK_CRITERIA } from '../../domain/ranks.ts';
import { oosRequestFor } from '../../domain/request.ts';
import { DAY_MS } from '../../domain/daily-summary.ts';
import type { StrategyRecord } from '../../persistence/records.ts';
import { count, metrics, strategy, useTempStores } from '../persistence/helpers.ts';
import { settle } from '../kernel-helpers.ts';
import { GATE, NOTIFIER, SENDER, WRITER, writerTree } from './writer-tree.ts';

const temp = useTempStores();
const HEADER = 'timestamp,open,high,low,close,volume';
const DATA_START = 1_680_000_000;
const EVALUATOR = '/t/rank-evaluator';

/** Hourly bars: the gate checks order and values, not the bar spacing, so 181 days stay small. */
function writeCandles(dir: string, symbol: string, days: number): number {
  const hours = days * 24;
  const lines = [HEADER];
  for (let i = 0; i < hours; i++) lines.push(`${DATA_START + 3_600 * i},147.600,147.610,147.590,147.605,${10 + i}`);
  writeFileSync(path.join(dir, `${symbol}_M1.csv`), lines.map((l) => `${l}\n`).join(''));
  return DATA_START + 3_600 * (hours - 1);
}

/** In-sample metrics below B: the evaluator reads them and changes nothing. */
const BELOW_B: Partial<StrategyInput> = { sharpe: 0.1 };

async function evaluatorTree(options: { config?: Partial<RankEvaluatorConfig>; clock?: ManualClock; reporter?: boolean } = {}) {
  const dir = temp.dir();
  const clock = options.clock ?? new ManualClock();
  const dbPath = path.join(dir, 'shoal.db');
  const lastCandle = writeCandles(dir, 'USDJPY', 181);
  const channel = new NotificationChannel();
  const notes: Notification[] = [];
  channel.events.subscribe((n) => notes.push(n));
  const stats = new RankEvaluatorStats();
  const gateStats = new GateStats();
  const reporterStats = new DailyReporterStats();
  const t = await writerTree(dir, {
    clock,
    extra: [
      { id: 'notifier', start: () => notifier({}, channel) },
      { id: 'sender', start: () => ({ initialState: undefined, receive: (s: undefined) => s }) },
      { id: 'data-gate', start: () => dataGate({ writerPath: WRITER, senderPath: SENDER, notifierPath: NOTIFIER, dataDir: dir }, gateStats) },
      {
        id: 'rank-evaluator',
        start: () => rankEvaluator({ dbPath, writerPath: WRITER, gatePath: GATE, dataDir: dir, intervalMs: 3_600_000, runAtStart: false, ...options.config }, stats),
      },
      ...(options.reporter ? [{ id: 'daily-reporter', start: () => dailyReporter({ dbPath, writerPath: WRITER, notifierPath: NOTIFIER, delayMs: 0 }, reporterStats) }] : []),
    ],
  });
  const evaluator = () => t.sup.childRef<RankEvaluatorMessage>('rank-evaluator') as ActorRef<RankEvaluatorMessage>;
  const run = (kind: 'cycle' | 'full_scan') => t.system.query<RankEvaluatorMessage, CycleReport>(evaluator(), (replyTo) => ({ kind, replyTo }), 60_000);
  const write = (...commands: WriteCommand[]) => writeCommands(t.system, t.writer, commands);
  const upsert = (...inputs: StrategyInput[]) => write(...inputs.map((s): WriteCommand => ({ type: 'upsertStrategy', strategy: s, force: true })));
  const restart = async (id = 'rank-evaluator') => {
    await t.sup.terminateChild(id);
    await t.sup.restartChild(id);
  };
  const reader = () => temp.open({ path: dbPath, readonly: true });
  return { ...t, dir, clock, dbPath, lastCandle, notes, stats, gateStats, reporterStats, cycle: () => run('cycle'), fullScan: () => run('full_scan'), write, upsert, restart, reader };
}

describe('rank-evaluator: incremental refresh', () => {
  it('an incremental cycle reads only the rows changed since its watermark, in bounded batches', async () => {
    const e = await evaluatorTree({ config: { batchSize: 20 } });
    await e.upsert(...Array.from({ length: 50 }, (_, i) => strategy(`S${i}`, BELOW_B)));
    const first = await e.cycle();
    expect(first).toMatchObject({ rowsRead: 50, batches: 3, rankChanges: 0, watermark: 50 });
    expect((await e.cycle()).rowsRead).toBe(0);
    await e.upsert(strategy('S7', { ...BELOW_B, trades: 10 }), strategy('S8', BELOW_B), strategy('S40', BELOW_B));
    expect(await e.cycle()).toMatchObject({ rowsRead: 3, batches: 1, watermark: 53 });
    expect(e.stats.rowsRead).toBe(53);
    await e.system.stop();
  });

  it('survives a restart without rescanning: the watermark is durable in cursors', async () => {
    const e = await evaluatorTree();
    await e.upsert(...Array.from({ length: 30 }, (_, i) => strategy(`S${i}`, BELOW_B)));
    expect((await e.cycle()).rowsRead).toBe(30);
    const reader = e.reader();
    expect(getCursor(reader, 'rank-evaluator')).toBe(currentChangeSeq(reader));
    await e.restart();
    expect(await e.cycle()).toMatchObject({ rowsRead: 0, watermark: 30 });
    await e.upsert(strategy('S3', BELOW_B), strategy('S4', BELOW_B));
    await e.restart();
    expect((await e.cycle()).rowsRead).toBe(2);
    await e.system.stop();
  });

  it('the rank changes and the watermark advance of a batch commit in one db-writer call', async () => {
    const e = await evaluatorTree();
    await e.upsert(...Array.from({ length: 5 }, (_, i) => strategy(`S${i}`, { rank: 'INCUBATOR', sharpe: 0.2, profitFactor: 1.1, winRate: 0.4, maxDd: 0.2 })));
    const before = { batches: e.health.batches, commands: e.health.commands };
    const report = await e.cycle();
    expect(report).toMatchObject({ rowsRead: 5, batches: 1, rankChanges: 5 });
    expect(e.health.batches - before.batches).toBe(1);
    expect(e.health.commands - before.commands).toBe(6); // five changeRank + one setCursor
    const reader = e.reader();
    expect(count(reader, 'strategies', "rank = 'B'")).toBe(5);
    expect(count(reader, 'rank_history', "from_rank = 'INCUBATOR' and to_rank = 'B'")).toBe(5);
    // Its own writes come back once (they bumped change_seq), then nothing is left to read.
    expect(await e.cycle()).toMatchObject({ rowsRead: 5, rankChanges: 0 });
    expect((await e.cycle()).rowsRead).toBe(0);
    await e.system.stop();
  });

  it('a cycle takes at most maxBatchesPerCycle batches and queues the rest as the next cycle', async () => {
    const e = await evaluatorTree({ config: { batchSize: 10, maxBatchesPerCycle: 2 } });
    await e.upsert(...Array.from({ length: 25 }, (_, i) => strategy(`S${i}`, BELOW_B)));
    expect(await e.cycle()).toMatchObject({ rowsRead: 20, batches: 2, more: true, watermark: 20 });
    await settle(e.system, e.sup);
    expect(e.stats.lastCycle).toMatchObject({ rowsRead: 5, more: false, watermark: 25 });
    expect(e.stats.rowsRead).toBe(25);
    await e.system.stop();
  });

  it('a batch whose write fails is redone by the next cycle, and the DB error is recorded once writes work again', async () => {
    const e = await evaluatorTree();
    await e.upsert(...Array.from({ length: 4 }, (_, i) => strategy(`S${i}`, { rank: 'INCUBATOR', sharpe: 0.2, profitFactor: 1.1, winRate: 0.4, maxDd: 0.2 })));
    await e.sup.terminateChild('db-writer');
    const failed = await e.cycle();
    expect(failed).toMatchObject({ rowsRead: 4, rankChanges: 0, watermark: 0 });
    expect(failed.error).toMatch(/db-writer \/t\/db-writer is not running/);
    expect(e.stats.dbErrors).toBe(1);
    await e.sup.restartChild('db-writer');
    expect(await e.cycle()).toMatchObject({ rowsRead: 4, rankChanges: 4, failuresRecorded: 1, watermark: 4 });
    const reader = e.reader();
    expect(count(reader, 'strategies', "rank = 'B'")).toBe(4);
    expect(count(reader, 'failure_events', `kind = 'db_error' and source = '${EVALUATOR}'`)).toBe(1);
    await e.system.stop();
  });

  it('a full scan happens only on request, reads every row, and leaves the watermark covering them', async () => {
    const e = await evaluatorTree({ config: { batchSize: 8 } });
    await e.upsert(...Array.from({ length: 20 }, (_, i) => strategy(`S${i}`, BELOW_B)));
    expect((await e.cycle()).rowsRead).toBe(20);
    const scan = await e.fullScan();
    expect(scan).toMatchObject({ kind: 'full_scan', rowsRead: 20, batches: 3, watermark: 20 });
    expect((await e.cycle()).rowsRead).toBe(0);
    expect(e.stats).toMatchObject({ fullScans: 1, cycles: 2 });
    await e.system.stop();
  });

  it('runs on its interval by the injected clock', async () => {
    const e = await evaluatorTree({ config: { intervalMs: 60_000 } });
    await e.upsert(strategy('A1', BELOW_B), strategy('A2', BELOW_B));
    e.clock.advance(60_000);
    await settle(e.system, e.sup);
    expect(e.stats.cycles).toBe(1);
    expect(e.stats.lastCycle?.rowsRead).toBe(2);
    e.clock.advance(60_000);
    await settle(e.system, e.sup);
    expect(e.stats.cycles).toBe(2);
    await e.system.stop();
  });
});

describe('rank-evaluator: OOS and promotion', () => {
  it('a B strategy meeting A in sample with OOS unknown gets one OOS request through the gate, for the last 180 days', async () => {
    const e = await evaluatorTree();
    await e.upsert(strategy('Alpha', { rank: 'B', params: { sma_short: 5, sma_long: 20, filter_enabled: true, filter_tf: 'D1' } }));
    expect(await e.cycle()).toMatchObject({ rowsRead: 1, oosAsked: 1, oosEnqueued: 1 });
    const [req] = listRequests(e.reader(), 'pending');
    expect(req.strategyName).toBe('Alpha');
    expect(req.payload).toMatchObject({
      strategy: { name: 'Alpha-OOS', smaShort: 5, smaLong: 20, sl: 0.3, tp: 0.6, volume: 0.01, indicatorType: 'sma', timeframe: 60, filterEnabled: true, filterTf: 'D1' },
      dataId: 'USDJPY_M1',
      candlesFile: path.join(e.dir, 'USDJPY_M1.csv'),
      symbol: 'USDJPY',
      startTime: e.lastCandle - 180 * 86_400,
      endTime: e.lastCandle,
      includeTrades: true,
    });
    // A live request: no second one, even when the strategy changes.
    await e.upsert(strategy('Alpha', { rank: 'B', trades: 260 }));
    e.clock.advance(700_000); // past the re-request period: only the live request holds it back
    expect(await e.cycle()).toMatchObject({ rowsRead: 1, oosAsked: 0 });
    expect(count(e.reader(), 'oos_requests')).toBe(1);
    await e.system.stop();
  });

  it('a passing OOS result promotes B to A', async () => {
    const e = await evaluatorTree();
    await e.upsert(strategy('Alpha', { rank: 'B' }));
    await e.cycle();
    const [req] = listRequests(e.reader(), 'pending');
    await writeCommand(e.system, e.writer, { type: 'applyResult', requestId: req.requestId, result: metrics({ sharpe: 0.52 }) });
    expect(await e.cycle()).toMatchObject({ rowsRead: 1, rankChanges: 1 });
    const reader = e.reader();
    expect(getStrategy(reader, 'Alpha')?.rank).toBe('A');
    const history = reader.sqlite.prepare("select from_rank, to_rank, reason, metrics from rank_history where strategy_name = 'Alpha' order by id desc limit 1").get() as Record<string, string>;
    expect(history).toMatchObject({ from_rank: 'B', to_rank: 'A' });
    expect(history.reason).toContain('oosSharpe 0.52 meets >= 0.35');
    expect(JSON.parse(history.metrics)).toMatchObject({ oosSharpe: 0.52, trades: 250 });
    await e.system.stop();
  });

  it('a failing OOS result keeps B and asks no more; OOS 0 is a result, not "unknown"', async () => {
    const e = await evaluatorTree();
    await e.upsert(strategy('Alpha', { rank: 'B' }), strategy('Zero', { rank: 'B' }));
    await e.cycle();
    const requests = listRequests(e.reader(), 'pending');
    expect(requests.map((r) => r.strategyName).sort()).toEqual(['Alpha', 'Zero']);
    const byName = Object.fromEntries(requests.map((r) => [r.strategyName, r.requestId]));
    await e.write(
      { type: 'applyResult', requestId: byName.Alpha, result: metrics({ sharpe: 0.2 }) },
      { type: 'applyResult', requestId: byName.Zero, result: metrics({ sharpe: 0 }) },
    );
    e.clock.advance(700_000);
    expect(await e.cycle()).toMatchObject({ rowsRead: 2, rankChanges: 0, oosAsked: 0 });
    e.clock.advance(700_000);
    expect(await e.cycle()).toMatchObject({ oosAsked: 0, revisited: 0 });
    const reader = e.reader();
    expect(getStrategy(reader, 'Zero')).toMatchObject({ rank: 'B', oosSharpe: 0 });
    expect(getStrategy(reader, 'Alpha')?.rank).toBe('B');
    expect(count(reader, 'oos_requests')).toBe(2);
    await e.system.stop();
  });

  it('an archived strategy is never moved back, and a demotion below B archives', async () => {
    const e = await evaluatorTree();
    await e.upsert(strategy('Fading', { rank: 'A', maxDd: 0.3 }), strategy('Buried', { rank: 'GRAVEYARD' }), strategy('Legend', { rank: 'LEGEND', sharpe: -1 }));
    expect(await e.cycle()).toMatchObject({ rowsRead: 3, rankChanges: 1 });
    const reader = e.reader();
    expect(getStrategy(reader, 'Fading')?.rank).toBe('GRAVEYARD');
    expect(getStrategy(reader, 'Buried')?.rank).toBe('GRAVEYARD');
    expect(getStrategy(reader, 'Legend')?.rank).toBe('LEGEND');
    expect(count(reader, 'oos_requests')).toBe(0);
    await e.system.stop();
  });
});

describe('rank-evaluator: failures and the re-request rule', () => {
  it('failures are recorded durably and keep counting across a restart', async () => {
    const e = await evaluatorTree();
    await e.upsert(strategy('Broken', { rank: 'B', params: {} }), strategy('NoData', { rank: 'B', symbol: 'EURUSD' }));
    const report = await e.cycle();
    expect(report).toMatchObject({ oosAsked: 1, gateRejections: 1, failuresRecorded: 1 });
    await e.restart();
    await e.upsert(strategy('Broken2', { rank: 'B', params: { sma_short: 5 } }));
    expect(await e.cycle()).toMatchObject({ rowsRead: 1, failuresRecorded: 1 });
    await e.system.stop();
    const reader = e.reader();
    const own = reader.sqlite.prepare(`select detail from failure_events where kind = 'data_invalid' and source = ? order by id`).all(EVALUATOR) as { detail: string }[];
    expect(own.map((r) => r.detail)).toEqual([
      'strategy Broken: cannot build its OOS request: params.sma_short must be an integer >= 1, got undefined; params.sma_long must be an integer >= 1, got undefined',
      'strategy Broken2: cannot build its OOS request: params.sma_long must be an integer >= 1, got undefined',
    ]);
    // The gate's rejection is recorded once, by the gate, with the missing file.
    const gate = reader.sqlite.prepare(`select detail from failure_events where source = '/t/data-gate'`).all() as { detail: string }[];
    expect(gate).toHaveLength(1);
    expect(gate[0].detail).toMatch(/^strategy=NoData .*EURUSD_M1\.csv.*unreadable/);
    expect(e.stats.failuresRecorded).toBe(2);
  });

  it('OOS is re-requested at most every 600 s per strategy', async () => {
    const e = await evaluatorTree();
    const t0 = e.clock.now();
    await e.upsert(strategy('NoData', { rank: 'B', symbol: 'EURUSD' }));
    expect(await e.cycle()).toMatchObject({ oosAsked: 1, gateRejections: 1 });
    writeCandles(e.dir, 'EURUSD', 181); // the data arrives; the next ask can succeed

    e.clock.setTime(t0 + 100_000);
    await e.upsert(strategy('NoData', { rank: 'B', symbol: 'EURUSD', trades: 300 }));
    expect(await e.cycle()).toMatchObject({ rowsRead: 1, oosAsked: 0, oosDeferred: 1 });

    e.clock.setTime(t0 + 599_999);
    expect(await e.cycle()).toMatchObject({ rowsRead: 0, revisited: 0, oosAsked: 0 });

    e.clock.setTime(t0 + 600_000);
    expect(await e.cycle()).toMatchObject({ rowsRead: 0, revisited: 1, oosAsked: 1, oosEnqueued: 1 });
    expect(listRequests(e.reader(), 'pending').map((r) => r.strategyName)).toEqual(['NoData']);
    expect(e.gateStats).toMatchObject({ rejected: 1, enqueued: 1 });
    await e.system.stop();
  });

  it('the 600 s period is configuration', async () => {
    const e = await evaluatorTree({ config: { oosRetryMs: 60_000 } });
    await e.upsert(strategy('NoData', { rank: 'B', symbol: 'EURUSD' }));
    await e.cycle();
    e.clock.advance(60_000);
    expect(await e.cycle()).toMatchObject({ revisited: 1, oosAsked: 1, gateRejections: 1 });
    await e.system.stop();
  });
});

describe('rank-evaluator: pure pieces', () => {
  const record = (overrides: Partial<StrategyRecord>): StrategyRecord => ({
    name: 'X', symbol: 'USDJPY', timeframe: 60, direction: 'BOTH', indicatorType: 'ema', params: { sma_short: 5, sma_long: 20 }, sl: 0.3, tp: 0.6, volume: 0.01,
    sharpe: 0.5, profitFactor: 1.4, winRate: 0.45, trades: 250, maxDd: 0.12, oosSharpe: null, oosProfitFactor: null, oosWinRate: null, oosMaxDd: null, oosTrades: null,
    oosRequestId: null, oosCompletedAt: null, rank: 'B', cpcvPassRate: null, cpcvMedianDd: null, createdAt: 0, updatedAt: 0, changeSeq: 1, ...overrides,
  });

  it('every rank change is planned as a guarded write from the rank that was read', () => {
    const plan = planBatch([record({ name: 'P', rank: 'INCUBATOR' }), record({ name: 'Q', rank: 'A', maxDd: 0.3 }), record({ name: 'R' })], DEFAULT_RANK_CRITERIA);
    expect(plan.changes.map((c) => [c.name, c.expectedFrom, c.to])).toEqual([['P', 'INCUBATOR', 'B'], ['Q', 'A', 'GRAVEYARD']]);
    expect(plan.oosCandidates.map((s) => s.name)).toEqual(['R']);
  });

  it('the OOS request takes periods from params, the rest from the columns, and refuses what the service cannot run', () => {
    const ok = oosRequestFor(record({ sl: null, params: { sma_short: 3, sma_long: 9, sl: 0.25 } }), '/data');
    expect(ok).toMatchObject({ ok: true, request: { strategy: { name: 'X-OOS', smaShort: 3, smaLong: 9, sl: 0.25, indicatorType: 'ema' }, candlesFile: '/data/USDJPY_M1.csv' } });
    expect(oosRequestFor(record({ indicatorType: 'magic' }), '/data')).toMatchObject({ ok: false, error: expect.stringContaining('indicator_type "magic"') });
    expect(oosRequestFor(record({ symbol: '../etc' }), '/data')).toMatchObject({ ok: false, error: expect.stringContaining('cannot name a data file') });
  });
});

describe('daily-reporter', () => {
  const dayOf = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

  it("at the UTC day boundary it sends the previous day's summary through the notifier, once", async () => {
    const clock = new ManualClock(Date.UTC(2026, 1, 1, 22, 0, 0));
    const e = await evaluatorTree({ clock, reporter: true });
    await e.upsert(strategy('Alpha', { rank: 'B' }));
    await e.cycle(); // enqueues one OOS request on 2026-02-01
    await settle(e.system, e.sup);
    expect(e.notes.filter((n) => n.title.startsWith('shoal daily summary'))).toEqual([]);

    clock.setTime(Date.UTC(2026, 1, 2));
    await settle(e.system, e.sup);
    const reports = e.notes.filter((n) => n.title.startsWith('shoal daily summary'));
    expect(reports.map((n) => n.title)).toEqual(['shoal daily summary 2026-02-01']);
    expect(reports[0].body).toMatch(/requested +1\n/);
    expect(reports[0].body).toContain('Oldest pending request');
    expect(getCursor(e.reader(), 'daily-report')).toBe(Date.UTC(2026, 1, 1));

    // A restart the same day does not report the day again.
    await e.restart('daily-reporter');
    await settle(e.system, e.sup);
    expect(e.notes.filter((n) => n.title.startsWith('shoal daily summary'))).toHaveLength(1);
    await e.system.stop();
  });

  it('a reporter that was down over midnight reports the days it missed when it starts again', async () => {
    const clock = new ManualClock(Date.UTC(2026, 1, 1, 23, 0, 0));
    const e = await evaluatorTree({ clock, reporter: true });
    clock.setTime(Date.UTC(2026, 1, 2));
    await settle(e.system, e.sup);
    await e.sup.terminateChild('daily-reporter');
    clock.setTime(Date.UTC(2026, 1, 4, 9));
    await e.sup.restartChild('daily-reporter');
    await settle(e.system, e.sup);
    expect(e.notes.filter((n) => n.title.startsWith('shoal daily summary')).map((n) => n.title)).toEqual([
      'shoal daily summary 2026-02-01',
      'shoal daily summary 2026-02-02',
      'shoal daily summary 2026-02-03',
    ]);
    expect(getCursor(e.reader(), 'daily-report')).toBe(dayOf(clock.now()) - DAY_MS);
    expect(e.reporterStats).toMatchObject({ reports: 3, failures: 0 });
    await e.system.stop();
  });
});
