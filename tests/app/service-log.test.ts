/**
 * What `shoal start` logs about a running runtime: a line for each gate rejection, dead letter,
 * restart and give-up, and the exit code when the runtime stops by itself. In process, with the
 * real runtime (sockets, database, a backtest service) and a logger writing to memory.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startBacktestService } from '../../backtester/service.ts';
import { failingEngine, NO_DATA } from '../../backtester/engines.ts';
import { createLogger } from '../../app/log.ts';
import { EXIT, runService, type SignalSource } from '../../app/service.ts';
import type { Shoal } from '../../app/shoal.ts';
import { paths } from '../../app/tree.ts';
import { csv, validLines } from '../domain/candles/fixtures.ts';
import { useTempStores } from '../persistence/helpers.ts';
import { freePort, hostStrategy, requestInput, until } from './pipeline-harness.ts';

const temp = useTempStores();

type Line = Record<string, unknown> & { event?: string; level?: string; msg?: string };

async function memoryLogger() {
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  return { lines, log: await createLogger({ level: 'debug', destination }) };
}

describe('shoal start: log lines for what the runtime tells', () => {
  // Rule: every drop point and every supervision decision an operator must know of is a log line.
  it('logs gate rejections, dead letters, restarts and a give-up; a runtime that stops by itself exits 1', async () => {
    const dir = temp.dir();
    fs.writeFileSync(path.join(dir, 'USDJPY_M1.csv'), csv(validLines(100)));
    const requestEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    const resultEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    const service = await startBacktestService({ bind: requestEndpoint, resultEndpoint, engine: failingEngine(NO_DATA) });
    const { lines, log } = await memoryLogger();
    const signals = new EventEmitter() as unknown as SignalSource;
    let shoal: Shoal | undefined;
    const seen = (event: string) => lines.find((l) => l.event === event);
    const running = runService(
      {
        runtime: {
          dbPath: path.join(dir, 'shoal.db'),
          requestEndpoint,
          resultEndpoint,
          dataDir: dir,
          rankEvaluation: false,
          replay: { replayAtStartup: false, scanIntervalMs: 0 },
          // One restart an hour: the second crash makes /shoal give up.
          intensity: 1,
          periodMs: 3_600_000,
        },
        logLevel: 'debug',
        drainTimeoutMs: 1_000,
      },
      { log, env: {}, signals, exit: () => undefined, onStarted: (s) => (shoal = s) },
    );
    try {
      await until(() => shoal !== undefined, 'the runtime to start');
      expect(seen('start')).toMatchObject({ level: 'info', dbPath: path.join(dir, 'shoal.db') });
      await shoal!.upsertStrategies([hostStrategy('Bad'), hostStrategy('NoData')]);

      const rejected = await shoal!.enqueue('Bad', requestInput('Bad', { candlesFile: path.join(dir, 'missing.csv') }));
      expect(rejected.status).toBe('rejected');
      await until(() => seen('gate_rejected') !== undefined, 'the gate rejection line');
      expect(seen('gate_rejected')).toMatchObject({ level: 'warn', severity: 'critical', msg: 'OOS data rejected: missing.csv', detail: expect.stringContaining('blocked by the data gate') });

      await until(() => shoal!.stats.sender.peers > 0, 'the sender to connect to the service');
      const enqueued = await shoal!.enqueue('NoData', requestInput('NoData'));
      expect(enqueued.status).toBe('enqueued');
      await until(() => seen('dead_letter') !== undefined, 'the dead letter line');
      expect(seen('dead_letter')).toMatchObject({ level: 'warn', source: paths.resultHandler, requestId: (enqueued as { requestId: string }).requestId, reason: expect.stringContaining(NO_DATA) });

      shoal!.system.crashActor(shoal!.system.lookup(paths.notifier)!, new Error('injected once'));
      await until(() => seen('restart') !== undefined, 'the restart line');
      expect(seen('restart')).toMatchObject({ level: 'warn', path: paths.notifier, error: expect.stringContaining('injected once') });

      await until(() => shoal!.system.lookup(paths.notifier) !== undefined, 'the notifier to be back');
      shoal!.system.crashActor(shoal!.system.lookup(paths.notifier)!, new Error('injected twice'));
      expect(await running).toBe(EXIT.failed);
      expect(seen('give_up')).toMatchObject({ level: 'error', path: paths.root });
      expect(seen('runtime_stopped')).toMatchObject({ level: 'fatal', reason: expect.stringContaining('gave up') });
      expect(lines.at(-1)?.event).toBe('runtime_stopped');
    } finally {
      if (shoal && !shoal.system.isStopped) await shoal.stop();
      await service.stop();
    }
  }, 60_000);
});
