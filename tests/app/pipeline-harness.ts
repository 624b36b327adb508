/** Real sockets on 127.0.0.1 (ephemeral ports), a real database in a temp dir, a scriptable backtest service. */
import fs from 'node:fs';
import path from 'node:path';
import { Pull, Push } from 'zeromq';
import { ManualClock, type Clock } from '../../runtime/index.ts';
import { startBacktestService, type BacktestService } from '../../backtester/service.ts';
import { echoEngine, type BacktestEngine } from '../../backtester/engines.ts';
import { Shoal, type OosRequestInput } from '../../app/shoal.ts';
import type { OosConfig } from '../../app/config.ts';
import type { TelemetryOptions } from '../../app/telemetry.ts';
import type { Strategy } from '../../app/api.ts';
import { openStore, type Store } from '../../persistence/connection.ts';
import { csv, validLines } from '../domain/candles/fixtures.ts';
import { freePort } from '../../transport/free-port.ts';
import { until } from '../wait.ts';

export { freePort, until };

export interface Pipeline {
  shoal: Shoal;
  /** A valid candle file the data gate accepts. */
  candles: string;
  reader: Store;
  requestEndpoint: string;
  resultEndpoint: string;
  service?: BacktestService;
  startService(engine: BacktestEngine): Promise<BacktestService>;
  stopService(): Promise<void>;
  /**
   * Waits until `check` holds. With a manual clock, a failed send would pause the sender until the
   * clock moves, which only the test does: the wait then fails at once, naming the cause, instead
   * of moving the clock behind the test's back (that would also run out leases and backoffs).
   */
  waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves once the sender's PUSH socket has a connected peer (so the first send cannot fail for want of one). */
  connected(): Promise<void>;
  close(): Promise<void>;
}

export async function pipeline(dir: string, options: { engine?: BacktestEngine; clock?: Clock; config?: Partial<OosConfig>; telemetry?: TelemetryOptions } = {}): Promise<Pipeline> {
  const requestEndpoint = `tcp://127.0.0.1:${await freePort()}`;
  const resultEndpoint = `tcp://127.0.0.1:${await freePort()}`;
  const dbPath = path.join(dir, 'shoal.db');
  const candles = path.join(dir, 'USDJPY_M1.csv');
  fs.writeFileSync(candles, csv(validLines(100)));
  const shoal = await Shoal.start(
    // Rank evaluation is left to its own tests: here it would only add requests of its own.
    { dbPath, requestEndpoint, resultEndpoint, tickMs: 1_000, dataDir: dir, rankEvaluation: false, replay: { replayAtStartup: false, scanIntervalMs: 0 }, ...options.config },
    { clock: options.clock, random: () => 0.5, telemetry: options.telemetry },
  );
  const p: Pipeline = {
    shoal,
    candles,
    reader: openStore({ path: dbPath, readonly: true }),
    requestEndpoint,
    resultEndpoint,
    async waitFor(check, what, timeoutMs) {
      await until(async () => {
        if (options.clock instanceof ManualClock && shoal.stats.sender.sendFailures > 0) {
          throw new Error(`waiting for ${what}: a send failed under a manual clock (${shoal.stats.sender.sendFailures}); connect the service before sending`);
        }
        return check();
      }, what, timeoutMs);
    },
    connected() {
      return until(() => shoal.stats.sender.peers > 0, 'the sender to connect to the service');
    },
    async startService(engine) {
      // A port just released by a stopped service is free again once ZeroMQ's I/O thread has
      // closed it: wait for that, however long a loaded machine takes.
      await until(async () => {
        try {
          p.service = await startBacktestService({ bind: requestEndpoint, resultEndpoint, engine });
          return true;
        } catch (e) {
          if (!/in use/i.test((e as Error).message)) throw e;
          return false;
        }
      }, `the request port ${requestEndpoint} to be free`);
      await p.connected();
      return p.service!;
    },
    async stopService() {
      if (!p.service) return;
      await p.service.stop();
      p.service = undefined;
      // The sender must have seen the service go before a new one comes: connected() would
      // otherwise pass on the old connection, and the first send could fail.
      await until(() => shoal.stats.sender.peers === 0, 'the sender to see the service go');
    },
    async close() {
      await p.service?.stop();
      p.service = undefined;
      await shoal.stop();
      p.reader.close();
    },
  };
  if (options.engine) await p.startService(options.engine);
  return p;
}

/** A raw PUSH to the runtime's result socket, for frames no well-behaved service would send. */
export async function rawResultPush(endpoint: string): Promise<{ send(frame: string | Buffer): Promise<void>; close(): void }> {
  const push = new Push({ linger: 0 });
  push.connect(endpoint);
  return { send: (f) => push.send(f), close: () => push.close() };
}

/** A raw PULL bound where the service would be, capturing the exact request frames. */
export async function rawService(endpoint: string): Promise<{ frames: string[]; close(): void }> {
  const pull = new Pull({ linger: 0 });
  await pull.bind(endpoint);
  const frames: string[] = [];
  void (async () => {
    try {
      for (;;) frames.push((await pull.receive())[0].toString('utf8'));
    } catch {
      // closed
    }
  })();
  return { frames, close: () => pull.close() };
}

export function requestInput(name: string, overrides: Partial<OosRequestInput> = {}): OosRequestInput {
  return {
    strategy: { name: `${name}-OOS`, smaShort: 5, smaLong: 20, sl: 0.3, tp: 0.6, volume: 0.01, indicatorType: 'sma', timeframe: 60 },
    symbol: 'USDJPY',
    dataId: 'USDJPY_M1',
    timeframe: 60,
    includeTrades: true,
    ...overrides,
  };
}

/** A strategy as a host gives it to the facade: B rank metrics that meet A's in-sample criteria. */
export function hostStrategy(name: string, overrides: Partial<Strategy> = {}): Strategy {
  return {
    name,
    symbol: 'USDJPY',
    timeframe: 60,
    direction: 'BOTH',
    indicatorType: 'sma',
    params: { smaShort: 5, smaLong: 20 },
    sl: 0.3,
    tp: 0.6,
    volume: 0.01,
    sharpe: 0.5,
    profitFactor: 1.4,
    winRate: 0.45,
    trades: 250,
    maxDrawdown: 0.12,
    ...overrides,
  };
}

/** An engine whose answers wait until `release()`. */
export function heldEngine() {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let received = 0;
  const engine: BacktestEngine = async (req) => {
    received++;
    await gate;
    return echoEngine(req);
  };
  return { engine, release, received: () => received };
}
