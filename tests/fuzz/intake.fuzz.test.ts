/**
 * Fuzzing the bridge intake with random and mutated BACKTEST frames from a stand-in host, through
 * a real runtime in bridge mode (real sockets, real store). Rules: every frame is accounted for
 * (accepted, a repeat, undecodable or refused), every rejection is recorded in the store with a
 * dead letter holding the frame, nothing crashes (no restart anywhere in the tree), and nothing
 * refused is ever answered to the host.
 */
import { Pull, Push } from 'zeromq';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { echoEngine } from '../../backtester/engines.ts';
import { decodeBacktestResult, encodeBacktestRequest } from '../../protocol/index.ts';
import { count, useTempStores } from '../persistence/helpers.ts';
import { freePort, pipeline, requestInput, until } from '../app/pipeline-harness.ts';
import { mutated } from './mutations.ts';
import { fuzzParams, fuzzTimeout } from './runs.ts';

const temp = useTempStores();
const RUNS = 300;

describe('bridge intake fuzz', () => {
  it(
    'random and mutated host frames are each accepted, repeated, undecodable or refused; every rejection is recorded with a dead letter, nothing restarts, nothing refused reaches the host',
    async () => {
      const intake = `tcp://127.0.0.1:${await freePort()}`;
      const hostResults = `tcp://127.0.0.1:${await freePort()}`;
      const p = await pipeline(temp.dir(), { engine: echoEngine, config: { bridge: true, intakeEndpoint: intake, hostResultsEndpoint: hostResults } });
      const push = new Push({ linger: 0 });
      push.connect(intake);
      const pull = new Pull({ linger: 0 });
      await pull.bind(hostResults);
      const answered: string[] = [];
      void (async () => {
        try {
          for (;;) answered.push((await pull.receive())[0].toString('utf8'));
        } catch {
          // closed
        }
      })();
      const valid = fc.tuple(fc.integer({ min: 0, max: 30 }), fc.nat()).map(([s, n]) => {
        const e = encodeBacktestRequest({ ...requestInput(`F${s}`), candlesFile: p.candles, requestId: `fz-${n}` });
        if (!e.ok) throw new Error(e.error.message);
        return new TextEncoder().encode(e.value);
      });
      const frames = fc.oneof(valid, mutated(valid, 4), fc.uint8Array({ maxLength: 200 }));
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(frames, async (frame) => {
          await push.send(frame);
          sent++;
        }),
        fuzzParams(RUNS),
      );
      const s = p.shoal.stats.intake;
      await until(() => s.frames === sent, `the intake to take all ${sent} frames`, 120_000);
      // Each frame is judged after it is taken: wait for the last judgement.
      await until(() => s.accepted + s.repeated + s.undecodable + s.refused === s.frames, 'every frame judged', 120_000);
      await until(() => s.deadLettered === s.undecodable + s.refused, 'every rejection dead-lettered', 60_000);
      const reader = p.reader;
      expect(count(reader, 'dead_letters', "source like '%/intake'")).toBe(s.undecodable + s.refused);
      expect(count(reader, 'oos_requests', "origin = 'host'")).toBe(s.accepted);
      expect(p.shoal.status().restarts).toBe(0);
      // Only stored requests are answered: every frame the host got is the result of an accepted request.
      const stored = new Set((reader.sqlite.prepare(`select request_id from oos_requests where origin = 'host'`).all() as { request_id: string }[]).map((r) => r.request_id));
      for (const a of answered) {
        const r = decodeBacktestResult(a);
        const id = r.ok ? r.value.requestId : undefined;
        expect(id !== undefined && stored.has(id), `answered ${JSON.stringify(id)}: ${a.slice(-160)}`).toBe(true);
      }
      push.close();
      pull.close();
      await p.close();
    },
    fuzzTimeout(RUNS, 20),
  );
});
