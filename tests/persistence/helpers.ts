/** Shared test fixtures: stores on real files in temp dirs, small strategy and result builders. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { applyBatch } from '../../persistence/batch.ts';
import type { OosMetrics } from '../../persistence/results.ts';
import type { StrategyInput } from '../../persistence/strategies.ts';
import type { WriteCommand } from '../../persistence/commands.ts';
import { openStore, type Store, type StoreOptions } from '../../persistence/connection.ts';

export const T0 = 1_700_000_000_000;
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Temp dirs and stores made during a test, removed after it. */
export function useTempStores() {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return {
    dir(): string {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-'));
      dirs.push(d);
      return d;
    },
    open(options: Partial<StoreOptions> = {}): Store {
      const store = openStore({ path: options.path ?? path.join(this.dir(), 'shoal.db'), ...options });
      stores.push(store);
      return store;
    },
  };
}

export function strategy(name: string, overrides: Partial<StrategyInput> = {}): StrategyInput {
  return {
    name,
    symbol: 'USDJPY',
    timeframe: 60,
    direction: 'BOTH',
    indicatorType: 'sma',
    params: { sma_short: 5, sma_long: 20 },
    sl: 0.3,
    tp: 0.6,
    volume: 0.01,
    sharpe: 0.5,
    profitFactor: 1.4,
    winRate: 0.45,
    trades: 250,
    maxDd: 0.12,
    ...overrides,
  };
}

export function metrics(overrides: Partial<OosMetrics> = {}): OosMetrics {
  return {
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
    tradeList: [
      { timestamp: 1_700_003_600_000, pnl: 0.012 },
      { timestamp: 1_700_007_200_000, pnl: -0.004 },
    ],
    ...overrides,
  };
}

/** Applies a batch and fails the test on any per-command error. */
export function applyOk(store: Store, commands: WriteCommand[], now: number) {
  const outcomes = applyBatch(store, commands, now);
  const errors = outcomes.filter((o) => o.status === 'error');
  if (errors.length > 0) throw new Error(`unexpected command errors: ${JSON.stringify(errors)}`);
  return outcomes;
}

/** Creates strategies and one enqueued request each; returns the request ids in order. */
export function seedRequests(store: Store, names: string[], now: number): string[] {
  const outcomes = applyOk(
    store,
    names.flatMap((name): WriteCommand[] => [
      { type: 'upsertStrategy', strategy: strategy(name) },
      { type: 'enqueueRequest', strategyName: name, payload: { action: 'BACKTEST', strategy: { name: `${name}-OOS` } } },
    ]),
    now,
  );
  return outcomes.flatMap((o) => (o.type === 'enqueueRequest' && o.status === 'enqueued' ? [o.requestId] : []));
}

export function count(store: Store, table: string, where = '1 = 1'): number {
  return (store.sqlite.prepare(`select count(*) as n from ${table} where ${where}`).get() as { n: number }).n;
}

/** Runs a fixture script under tsx in a child process (`script` is relative to tests/persistence/fixtures). */
export function spawnFixture(script: string, args: string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tests/persistence/fixtures', script), ...args], {
    cwd: REPO_ROOT,
    stdio: 'pipe',
    env: { ...process.env, ...env },
  });
}

/** Resolves when the child prints `line` on stdout; rejects if it exits first. */
export function waitForLine(child: ChildProcessWithoutNullStreams, line: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => done(new Error(`timed out waiting for "${line}"; stdout: ${out}; stderr: ${err}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.split('\n').includes(line)) done();
    };
    const onErr = (chunk: Buffer) => {
      err += chunk.toString();
    };
    const onExit = (code: number | null) => done(new Error(`child exited (${code}) before "${line}"; stdout: ${out}; stderr: ${err}`));
    function done(error?: Error) {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onErr);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    }
    child.stdout.on('data', onData);
    child.stderr.on('data', onErr);
    child.on('exit', onExit);
  });
}

export function exited(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}
