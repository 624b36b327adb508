#!/usr/bin/env node
/**
 * The backtest service as a process: `shoal-backtester --help` (the package's second bin, built to
 * dist/backtester/main.js; from sources `npx tsx backtester/main.ts --help`).
 * Exit codes: 0 after SIGTERM/SIGINT, 1 when the service cannot start, 2 on bad arguments.
 */
import { echoEngine, errorResult, failingEngine, smaCrossoverEngine, withDelay, type BacktestEngine } from './engines.ts';
import { parseBacktesterArgs, USAGE, UsageError, type BacktesterConfig } from './config.ts';
import { startBacktestService } from './service.ts';
import { readKeyPair } from '../transport/curve-keys.ts';

function engineFor(config: BacktesterConfig): BacktestEngine {
  const e = config.engine;
  const base = e.kind === 'echo' ? echoEngine : e.kind === 'fail' ? failingEngine(e.text) : smaCrossoverEngine(config.dataDir === undefined ? {} : { dataDir: config.dataDir });
  const failFor = config.failFor;
  const engine: BacktestEngine = failFor.size === 0 ? base : (req) => {
    const text = failFor.get(req.strategy.name);
    return text === undefined ? base(req) : errorResult(req, text);
  };
  return withDelay(engine, config.delayMs);
}

async function main(): Promise<number> {
  let config: BacktesterConfig | 'help';
  try {
    config = parseBacktesterArgs(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof UsageError || e instanceof RangeError) {
      process.stderr.write(`backtester: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (config === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  let service;
  try {
    const c = config.curve;
    service = await startBacktestService({
      ...(c ? { curve: { keys: readKeyPair(c.secretKeyFile), allowedClientKeys: c.clientKeys, serverKey: c.serverKey } } : {}),
      bind: config.bind,
      resultEndpoint: config.results,
      engine: engineFor(config),
      concurrency: config.concurrency,
      log: (line) => process.stderr.write(`backtester: ${line}\n`),
    });
  } catch (e) {
    process.stderr.write(`backtester: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`backtester listening on ${service.requestEndpoint}, results to ${service.resultEndpoint}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  await service.stop();
  const s = service.stats;
  process.stderr.write(`backtester: ${signal}: stopped (received ${s.received}, answered ${s.answered}, ignored ${s.ignored})\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`backtester: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
