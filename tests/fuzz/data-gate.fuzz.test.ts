/**
 * Fuzzing the data gate actor in a supervised tree with a real store: requests naming mutated
 * candle files, odd windows and odd paths. Rules: every request gets an answer (enqueued,
 * rejected with a verdict, a duplicate, or an error), none crashes the gate (no restart), every
 * rejection is recorded as a data_invalid failure in the store, and only accepted requests reach
 * the outbox.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeCommand } from '../../actors/db-client.ts';
import { dataGate, type DataGateMessage, type GateReply } from '../../actors/data-gate.ts';
import { VerdictCache } from '../../domain/candles/index.ts';
import type { OosRequestInput } from '../../domain/request.ts';
import { csv } from '../domain/candles/fixtures.ts';
import { count, strategy, useTempStores } from '../persistence/helpers.ts';
import { settle } from '../kernel-helpers.ts';
import { NOTIFIER, SENDER, WRITER, writerTree } from '../actors/writer-tree.ts';
import { mutated } from './mutations.ts';
import { fuzzParams, fuzzTimeout } from './runs.ts';

const temp = useTempStores();
const T0 = 1_700_000_000;
const hourly = (n: number) => ['timestamp,open,high,low,close,volume', ...Array.from({ length: n }, (_, i) => `${T0 + 3_600 * i},147.600,147.610,147.590,147.605,${10 + i}`)];
const validFile = fc.integer({ min: 1, max: 60 }).map((n) => new TextEncoder().encode(csv(hourly(n))));
// Half the files and windows are left intact so that accepted requests are fuzzed beside refused ones.
const fileArb = fc.oneof(validFile, mutated(validFile, 5));
const timeArb = fc.option(fc.integer({ min: -10, max: T0 + 400_000 }), { nil: undefined, freq: 2 });
const windowArb = fc.record({ startTime: timeArb, endTime: timeArb });
const nameArb = fc.constantFrom('USDJPY_M1.csv', 'USDJPY_M1.csv', 'USDJPY_M1.csv', '', '.', '..', 'nested/none.csv', '/dev/null', 'USDJPY_M1.csv/x');
const RUNS = 60;

describe('data gate fuzz (actor, real store)', () => {
  it(
    'every mutated request is answered, none restarts the gate, every rejection (and every malformed window) is stored as a data_invalid failure and only accepted ones reach the outbox',
    async () => {
      const dir = temp.dir();
      const sink = { initialState: undefined, receive: (s: undefined) => s };
      const t = await writerTree(dir, {
        extra: [
          { id: 'notifier', start: () => sink },
          { id: 'sender', start: () => sink },
          { id: 'data-gate', start: () => dataGate({ writerPath: WRITER, senderPath: SENDER, notifierPath: NOTIFIER, cache: new VerdictCache(), dataDir: dir }) },
        ],
      });
      let seq = 0;
      const replies: GateReply[] = [];
      await fc.assert(
        fc.asyncProperty(fileArb, windowArb, nameArb, fc.boolean(), async (file, window, name, useFile) => {
          const n = ++seq;
          const strategyName = `S${n}`;
          await writeCommand(t.system, t.writer, { type: 'upsertStrategy', strategy: strategy(strategyName) });
          // Every fifth request is a good one (an intact file, no window), so accepted requests are always among the fuzzed.
          const good = n % 5 === 0;
          if (good) {
            file = new TextEncoder().encode(csv(hourly(48)));
            name = 'USDJPY_M1.csv';
            window = { startTime: undefined, endTime: undefined };
          }
          if (useFile || good) writeFileSync(path.join(dir, 'USDJPY_M1.csv'), file);
          const request: OosRequestInput = {
            strategy: { name: `${strategyName}-OOS`, smaShort: 5, smaLong: 20, sl: 0.3, tp: 0.6, volume: 0.01, indicatorType: 'sma', timeframe: 60 },
            dataId: 'USDJPY_M1',
            candlesFile: name === '' ? undefined : name,
            symbol: 'USDJPY',
            timeframe: 60,
            includeTrades: false,
            ...window,
          };
          const gate = t.sup.childRef<DataGateMessage>('data-gate')!;
          const reply = await t.system.query<DataGateMessage, GateReply>(gate, (replyTo) => ({ kind: 'enqueue', strategyName, request, oosWindowDays: 1, replyTo }), 60_000);
          expect(['enqueued', 'rejected', 'duplicate_live', 'error']).toContain(reply.status);
          if (reply.status === 'rejected') expect(reply.detail.length).toBeGreaterThan(0);
          replies.push(reply);
        }),
        fuzzParams(RUNS),
      );
      await settle(t.system, t.sup);
      expect(t.sup.whichChildren().map((c) => [c.id, c.restartCount])).toEqual([
        ['db-writer', 0],
        ['notifier', 0],
        ['sender', 0],
        ['data-gate', 0],
      ]);
      const reader = temp.open({ path: t.dbPath, readonly: true });
      const by = (s: string) => replies.filter((r) => r.status === s).length;
      const recordedErrors = replies.filter((r) => r.status === 'error' && r.recorded).length;
      expect(count(reader, 'failure_events', "kind = 'data_invalid'")).toBe(by('rejected') + recordedErrors);
      expect(by('enqueued'), 'some requests are accepted').toBeGreaterThan(0);
      expect(count(reader, 'oos_requests')).toBe(by('enqueued'));
      await t.system.stop();
    },
    fuzzTimeout(RUNS, 200),
  );
});
