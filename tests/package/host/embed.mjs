// A host embedding the installed package, in plain JavaScript on plain Node (no tsx, no
// TypeScript): copied into the temp project by pack.test.ts and run there. Prints one line per
// step; exits non-zero with the cause on any failure. Inputs come from the environment:
// DB_PATH, DATA_DIR, REQUEST_ENDPOINT (the bundled service's bind), RESULT_ENDPOINT.
import { Shoal } from 'shoal';
import { query, start } from 'shoal/runtime';
import { startSupervisor } from 'shoal/supervisors';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

console.log(`imports: ${[typeof Shoal.start, typeof start, typeof startSupervisor].join(' ')}`);

// Internals are not part of the package's surface: only the `exports` map resolves.
try {
  await import('shoal/dist/app/shoal.js');
  console.log('internal import: allowed');
} catch (e) {
  console.log(`internal import: ${e.code}`);
}

// The kernel alone (shoal/runtime + shoal/supervisors), nothing of the OOS flow: a supervised
// counter crashes on 'crash' and is restarted with a fresh state.
{
  const system = start();
  const restarted = new Promise((resolve) => system.events.subscribe((e) => e.type === 'actor_restarted' && resolve(e.path)));
  await startSupervisor(system, {
    strategy: 'one_for_one',
    children: [{
      id: 'counter',
      start: () => ({
        init: () => 0,
        receive: (n, m) => {
          if (m.kind === 'crash') throw new Error('crash on demand');
          m.replyTo.tell(n + 1);
          return n + 1;
        },
        options: { maxMessageRetries: 0 },
      }),
    }],
  }, 'root');
  const counter = system.lookup('/root/counter');
  await query(counter, (replyTo) => ({ kind: 'count', replyTo }), 30_000);
  counter.tell({ kind: 'crash' });
  const path = await restarted;
  const count = await query(counter, (replyTo) => ({ kind: 'count', replyTo }), 30_000);
  await system.stop('done');
  console.log(`kernel: ${path} restarted, count ${count}`);
}

// The facade on a temp database, against the bundled service started from its bin.
const dbPath = env('DB_PATH');
const shoal = await Shoal.start({
  dbPath,
  dataDir: env('DATA_DIR'),
  requestEndpoint: env('REQUEST_ENDPOINT'),
  resultEndpoint: env('RESULT_ENDPOINT'),
  rankEvaluation: false,
  replay: { replayAtStartup: false },
});
try {
  await shoal.upsertStrategies([{ name: 'Host-SMA', symbol: 'USDJPY', timeframe: 60, direction: 'BOTH', indicatorType: 'sma',
    params: { smaShort: 5, smaLong: 20 }, sl: 0.3, tp: 0.6, volume: 0.01, sharpe: 0.5, profitFactor: 1.4, winRate: 0.45,
    trades: 250, maxDrawdown: 0.12, rank: 'B' }]);
  const enqueued = await shoal.enqueue('Host-SMA', { strategy: { name: 'Host-SMA-OOS', smaShort: 5, smaLong: 20, sl: 0.3, tp: 0.6,
    volume: 0.01, indicatorType: 'sma', timeframe: 60 }, symbol: 'USDJPY', includeTrades: false }, { oosWindowDays: 30 });
  if (enqueued.status !== 'enqueued') throw new Error(`enqueue answered ${JSON.stringify(enqueued)}`);
  console.log(`enqueued: ${enqueued.requestId}`);
  // The facade tells how the request ended (no polling of the database); the deadline only
  // turns a hang into a failure that names what never happened.
  const outcome = await shoal.outcome(enqueued.requestId, { timeoutMs: 120_000 });
  const detail = outcome.status === 'done' ? `trades ${outcome.result.trades}` : outcome.reason;
  console.log(`request: ${outcome.status} (${detail})`);
} finally {
  await shoal.stop('host done');
}
console.log('stopped');
