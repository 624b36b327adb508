import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, type ActorSystem } from '../../runtime/index.ts';
import { writeCommand } from '../../actors/db-client.ts';
import { dataGate, GateStats, type DataGateMessage, type GateCheckReply, type GateReply } from '../../actors/data-gate.ts';
import { notifier, NotificationChannel, type Notification } from '../../actors/notifier.ts';
import { listRequests } from '../../persistence/outbox.ts';
import { failureEventsSince } from '../../persistence/events.ts';
import { VerdictCache } from '../../domain/candles/index.ts';
import type { OosRequestInput } from '../../domain/request.ts';
import { count, strategy, useTempStores } from '../persistence/helpers.ts';
import { settle } from '../kernel-helpers.ts';
import { NOTIFIER, SENDER, WRITER, writerTree } from './writer-tree.ts';

const temp = useTempStores();
const HEADER = 'timestamp,open,high,low,close,volume';
const T0 = 1_700_000_000;

/** `hours` hourly bars from T0 (the gate checks order and values, not the bar spacing). */
function hourlyLines(hours: number): string[] {
  const lines = [HEADER];
  for (let i = 0; i < hours; i++) lines.push(`${T0 + 3_600 * i},147.600,147.610,147.590,147.605,${10 + i}`);
  return lines;
}

function writeCsv(dir: string, name: string, lines: string[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}

function request(name: string, candlesFile: string | undefined, window: { startTime?: number; endTime?: number } = {}): OosRequestInput {
  return {
    strategy: { name: `${name}-OOS`, smaShort: 5, smaLong: 20, sl: 0.3, tp: 0.6, volume: 0.01, indicatorType: 'sma', timeframe: 60 },
    dataId: 'USDJPY_M1',
    candlesFile,
    symbol: 'USDJPY',
    timeframe: 60,
    includeTrades: true,
    ...window,
  };
}

async function gateTree(options: { dataDir?: boolean; clock?: ManualClock; renotifyMs?: number } = {}) {
  const dir = temp.dir();
  const channel = new NotificationChannel();
  const notes: Notification[] = [];
  channel.events.subscribe((n) => notes.push(n));
  const wakes: unknown[] = [];
  const cache = new VerdictCache();
  const stats = new GateStats();
  const notificationsFile = path.join(dir, 'notifications.jsonl');
  const t = await writerTree(dir, {
    clock: options.clock,
    extra: [
      { id: 'notifier', start: () => notifier({ file: notificationsFile }, channel) },
      { id: 'sender', start: () => ({ initialState: undefined, receive: (s: undefined, m: unknown) => (wakes.push(m), s) }) },
      {
        id: 'data-gate',
        start: () => dataGate({ writerPath: WRITER, senderPath: SENDER, notifierPath: NOTIFIER, cache, dataDir: options.dataDir === false ? undefined : dir, renotifyMs: options.renotifyMs }, stats),
      },
    ],
  });
  const gate = () => t.sup.childRef<DataGateMessage>('data-gate')!;
  const enqueue = (m: Omit<Extract<DataGateMessage, { kind: 'enqueue' }>, 'kind' | 'replyTo'>) =>
    t.system.query<DataGateMessage, GateReply>(gate(), (replyTo) => ({ kind: 'enqueue', ...m, replyTo }), 60_000);
  const addStrategies = async (...names: string[]) => {
    for (const n of names) await writeCommand(t.system, t.writer, { type: 'upsertStrategy', strategy: strategy(n) });
  };
  return { ...t, dir, channel, notes, wakes, cache, stats, notificationsFile, gate, enqueue, addStrategies };
}

async function stop(system: ActorSystem): Promise<void> {
  await system.stop();
}

describe('data-gate', () => {
  it('a valid file enqueues the request (window as given) and wakes the sender', async () => {
    const g = await gateTree();
    await g.addStrategies('Alpha');
    const file = writeCsv(g.dir, 'USDJPY_M1.csv', hourlyLines(72));
    const reply = await g.enqueue({ strategyName: 'Alpha', request: request('Alpha', file, { startTime: T0 + 3_600, endTime: T0 + 70 * 3_600 }) });
    expect(reply).toMatchObject({ type: 'enqueueRequest', status: 'enqueued' });
    await settle(g.system, g.sup);
    const reader = temp.open({ path: g.dbPath, readonly: true });
    const [row] = listRequests(reader, 'pending');
    expect(row.strategyName).toBe('Alpha');
    expect(row.payload).toMatchObject({ candlesFile: file, startTime: T0 + 3_600, endTime: T0 + 70 * 3_600, strategy: { name: 'Alpha-OOS' } });
    expect(row.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    expect(g.wakes).toEqual([{ kind: 'wake' }]);
    expect(g.notes).toEqual([]);
    await stop(g.system);
  });

  it('without a window in the request, the OOS window is the last N days before the newest candle', async () => {
    const g = await gateTree();
    await g.addStrategies('Alpha');
    const lines = hourlyLines(24 * 3);
    writeCsv(g.dir, 'USDJPY_M1.csv', lines);
    // A relative candles_file resolves in the data directory.
    const reply = await g.enqueue({ strategyName: 'Alpha', request: request('Alpha', 'USDJPY_M1.csv'), oosWindowDays: 2 });
    expect(reply).toMatchObject({ status: 'enqueued' });
    const reader = temp.open({ path: g.dbPath, readonly: true });
    const last = T0 + 3_600 * (24 * 3 - 1);
    expect(listRequests(reader, 'pending')[0].payload).toMatchObject({ candlesFile: path.join(g.dir, 'USDJPY_M1.csv'), startTime: last - 2 * 86_400, endTime: last });
    await stop(g.system);
  });

  it('a file shorter than the OOS window is rejected as window-not-covered, and nothing is enqueued', async () => {
    const g = await gateTree();
    await g.addStrategies('Alpha');
    writeCsv(g.dir, 'USDJPY_M1.csv', hourlyLines(24 * 3));
    const reply = await g.enqueue({ strategyName: 'Alpha', request: request('Alpha', undefined), oosWindowDays: 180 });
    expect(reply).toMatchObject({ type: 'dataGate', status: 'rejected', strategyName: 'Alpha' });
    const verdict = (reply as Extract<GateReply, { status: 'rejected' }>).verdict;
    expect(verdict.valid).toBe(false);
    expect(verdict.problems.map((p) => p.kind)).toEqual(['window-not-covered']);
    expect(verdict.problems[0].examples[0]).toMatch(/start_time .* is before the first timestamp/);
    const reader = temp.open({ path: g.dbPath, readonly: true });
    expect(count(reader, 'oos_requests')).toBe(0);
    await stop(g.system);
  });

  it('an invalid file blocks the request: no row, a data_invalid failure naming the line numbers, an immediate notification', async () => {
    const g = await gateTree();
    await g.addStrategies('Alpha');
    const lines = hourlyLines(10);
    lines[4] = `${T0},147.6,147.61,147.59,147.605,1`; // line 5: goes back in time
    lines[7] = `${T0 + 6 * 3_600},147.6,abc,147.59,147.605,1`; // line 8: not a number
    const file = writeCsv(g.dir, 'bad.csv', lines);
    const reply = await g.enqueue({ strategyName: 'Alpha', request: request('Alpha', file) });
    expect(reply).toMatchObject({ status: 'rejected' });
    await settle(g.system, g.sup);

    const reader = temp.open({ path: g.dbPath, readonly: true });
    expect(count(reader, 'oos_requests')).toBe(0);
    const failures = failureEventsSince(reader, 0);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ kind: 'data_invalid', source: '/t/data-gate' });
    expect(failures[0].detail).toContain('strategy=Alpha');
    expect(failures[0].detail).toContain(`${file}: not-a-number x1 (lines 8); timestamp-out-of-order x1 (lines 5)`);

    expect(g.notes).toHaveLength(1);
    expect(g.notes[0]).toMatchObject({ kind: 'notify', severity: 'critical', title: 'OOS data rejected: bad.csv' });
    expect(g.notes[0].body).toContain('OOS request for Alpha blocked');
    expect(g.notes[0].body).toContain('line 5:');
    const written = readFileSync(g.notificationsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(written).toEqual([g.notes[0]]);
    expect(g.wakes).toEqual([]);
    expect(g.stats).toMatchObject({ rejected: 1, enqueued: 0, notified: 1 });
    await stop(g.system);
  });

  it('a second strategy on the same unchanged file is served from the cache', async () => {
    const g = await gateTree();
    await g.addStrategies('Alpha', 'Beta');
    writeCsv(g.dir, 'USDJPY_M1.csv', hourlyLines(24 * 3));
    expect(await g.enqueue({ strategyName: 'Alpha', request: request('Alpha', undefined), oosWindowDays: 2 })).toMatchObject({ status: 'enqueued' });
    expect([g.cache.hits, g.cache.misses]).toEqual([0, 1]);
    expect(await g.enqueue({ strategyName: 'Beta', request: request('Beta', undefined), oosWindowDays: 2 })).toMatchObject({ status: 'enqueued' });
    expect([g.cache.hits, g.cache.misses]).toEqual([1, 1]);
    // A rewritten file is read again.
    writeCsv(g.dir, 'USDJPY_M1.csv', hourlyLines(24 * 4));
    await g.addStrategies('Gamma');
    expect(await g.enqueue({ strategyName: 'Gamma', request: request('Gamma', undefined), oosWindowDays: 2 })).toMatchObject({ status: 'enqueued' });
    expect(g.cache.misses).toBe(2);
    await stop(g.system);
  });

  it('a strategy with a live request gets duplicate_live and the sender is not woken again', async () => {
    const g = await gateTree();
    await g.addStrategies('Alpha');
    writeCsv(g.dir, 'USDJPY_M1.csv', hourlyLines(48));
    await g.enqueue({ strategyName: 'Alpha', request: request('Alpha', undefined) });
    const again = await g.enqueue({ strategyName: 'Alpha', request: request('Alpha', undefined) });
    expect(again).toMatchObject({ status: 'duplicate_live' });
    await settle(g.system, g.sup);
    expect(g.wakes).toHaveLength(1);
    expect(g.stats).toMatchObject({ enqueued: 1, notEnqueued: 1 });
    await stop(g.system);
  });

  it('the same rejection is notified once per renotify period, and every rejection is still recorded', async () => {
    const clock = new ManualClock();
    const g = await gateTree({ clock, renotifyMs: 60_000 });
    await g.addStrategies('Alpha', 'Beta', 'Gamma');
    const lines = hourlyLines(5);
    lines[2] = 'not,a,row';
    writeCsv(g.dir, 'USDJPY_M1.csv', lines);
    await g.enqueue({ strategyName: 'Alpha', request: request('Alpha', undefined) });
    await g.enqueue({ strategyName: 'Beta', request: request('Beta', undefined) });
    clock.advance(60_000);
    await g.enqueue({ strategyName: 'Gamma', request: request('Gamma', undefined) });
    await settle(g.system, g.sup);
    expect(g.notes).toHaveLength(2);
    expect(g.notes[1].body).toContain('1 more rejection(s) of this file');
    expect(g.stats.notificationsSuppressed).toBe(1);
    const reader = temp.open({ path: g.dbPath, readonly: true });
    expect(count(reader, 'failure_events', "kind = 'data_invalid'")).toBe(3);
    await stop(g.system);
  });

  it('a missing file is rejected as unreadable; a request naming no file with no data directory is rejected too', async () => {
    const g = await gateTree({ dataDir: false });
    await g.addStrategies('Alpha', 'Beta');
    const missing = await g.enqueue({ strategyName: 'Alpha', request: request('Alpha', path.join(g.dir, 'nope.csv')) });
    expect((missing as Extract<GateReply, { status: 'rejected' }>).verdict.problems[0].kind).toBe('unreadable');
    const none = await g.enqueue({ strategyName: 'Beta', request: request('Beta', undefined) });
    expect((none as Extract<GateReply, { status: 'rejected' }>).detail).toMatch(/names no candles_file/);
    await stop(g.system);
  });

  it('check answers a verdict and its window without enqueueing anything', async () => {
    const g = await gateTree();
    const file = writeCsv(g.dir, 'USDJPY_M1.csv', hourlyLines(24 * 3));
    const reply = await g.system.query<DataGateMessage, GateCheckReply>(g.gate(), (replyTo) => ({ kind: 'check', file, oosWindowDays: 1, replyTo }), 60_000);
    const last = T0 + 3_600 * (24 * 3 - 1);
    expect(reply).toMatchObject({ status: 'checked', startTime: last - 86_400, endTime: last, verdict: { valid: true, rows: 72 } });
    const bad = await g.system.query<DataGateMessage, GateCheckReply>(g.gate(), (replyTo) => ({ kind: 'check', file, startTime: 10, endTime: 5, replyTo }), 60_000);
    expect(bad).toMatchObject({ status: 'error' });
    const reader = temp.open({ path: g.dbPath, readonly: true });
    expect(count(reader, 'oos_requests')).toBe(0);
    await stop(g.system);
  });
});
