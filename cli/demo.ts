/**
 * `shoal demo`: the OOS flow end to end on embedded defaults. It writes synthetic candle files
 * (one with a defect), starts the bundled backtest service as a separate process, starts the
 * runtime on a fresh database, registers strategies, and lets the rank evaluator ask for OOS
 * backtests through the data gate. One strategy is poison to the service: its request uses up
 * its attempts and lands in the persisted dead-letter mailbox. Then faults (a crashed
 * result-handler, the service killed), the service comes back repaired, the letter is replayed
 * and its request completes; a final check from the store shows nothing lost or applied twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticCandles } from '../backtester/synthetic-candles.ts';
import { Shoal } from '../app/shoal.ts';
import { paths } from '../app/tree.ts';
import { openStore } from '../persistence/connection.ts';
import { countByState, getRequest } from '../persistence/outbox.ts';
import { auditStore, formatAudit } from '../persistence/audit.ts';
import { listDeadLetters } from '../persistence/dead-letters.ts';
import type { Strategy } from '../app/api.ts';
import { type CommandOutput, type FlagSpec, formatTime, parseFlags, runCommand } from './args.ts';
import { renderTree } from './tree.ts';
import { reportCommand } from './report.ts';
import { freePort } from '../transport/free-port.ts';

export const DEMO_USAGE = `Usage: shoal demo [--dir DIR] [--strategies N] [--keep] [--quick] [--trace FILE]

Runs the OOS validation flow end to end on embedded defaults, in about half a minute:
synthetic USDJPY and EURUSD M1 candles (EURUSD with a defect the data gate catches), the
bundled backtest service in its own process (SMA crossover, honouring the OOS window), the
runtime on a fresh SQLite database, strategies ranked and sent for OOS. One strategy is poison
to the service (it fails every time): its request lands in the persisted dead-letter mailbox.
Faults are injected (a crashed result-handler, the service killed), the service comes back
repaired, the dead letter is replayed and completes, and a final check from the store shows
that nothing was lost or applied twice.

  --dir DIR         work directory, kept afterwards (default: a new temporary directory,
                    removed at the end); a shoal.db already in it is replaced
  --strategies N    strategies to register, N >= 4 (default 12)
  --keep            keep the temporary work directory, to inspect it with the other commands
  --quick           shorter service delays and pauses (a smoke test of the same steps)
  --trace FILE      write the demo's traces to FILE as OTLP JSON (one trace per OOS request)
  -h, --help        show this help

Examples:
  shoal demo
  shoal demo --strategies 6 --keep

Exit codes: 0 the final check holds, 1 it does not, 2 bad usage.
`;

export const DEMO_OPTIONS = {
  dir: { type: 'string' },
  strategies: { type: 'number', integer: true, min: 4 },
  keep: { type: 'boolean' },
  quick: { type: 'boolean' },
  trace: { type: 'string' },
} as const satisfies FlagSpec;

const HERE = fileURLToPath(import.meta.url);
/** The tree this module runs from: dist/ when built, the repository when run from sources. */
const ROOT = path.resolve(path.dirname(HERE), '..');

/**
 * How to start the bundled backtest service beside this module: the built one on plain node
 * (dist/backtester/main.js, the package's `shoal-backtester`), or from sources under tsx when
 * the demo itself runs from sources.
 */
function serviceEntry(): string[] {
  return HERE.endsWith('.ts') ? ['--import', 'tsx', path.join(ROOT, 'backtester/main.ts')] : [path.join(ROOT, 'backtester/main.js')];
}

function startService(requestPort: number, resultPort: number, dataDir: string, log: (s: string) => void, options: { delayMs: number; failFor?: string }): Promise<ChildProcess> {
  const args = [...serviceEntry(), '--engine', 'sma', '--delay-ms', String(options.delayMs), '--bind', `tcp://127.0.0.1:${requestPort}`, '--results', `tcp://127.0.0.1:${resultPort}`, '--data-dir', dataDir];
  if (options.failFor) args.push('--fail-for', options.failFor);
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const text = d.toString().trim();
      if (text.includes('listening')) {
        log(`  service (pid ${child.pid}): ${text}`);
        resolve(child);
      }
    });
    child.stderr!.on('data', () => undefined);
    child.once('exit', (code, signal) => reject(new Error(`backtest service exited before it was ready (${code ?? signal})`)));
  });
}

/** Strategies with in-sample metrics spread around the rank thresholds; two of them trade EURUSD. */
function demoStrategies(n: number): Strategy[] {
  const out: Strategy[] = [];
  for (let i = 0; i < n; i++) {
    const strong = i % 3 !== 2; // two in three meet A's in-sample criteria
    const symbol = i === 1 || i === 7 ? 'EURUSD' : 'USDJPY';
    out.push({
      name: `Demo-${symbol}-${String(i).padStart(2, '0')}`,
      symbol,
      timeframe: [15, 30, 60][i % 3],
      direction: 'BOTH',
      indicatorType: i % 4 === 0 ? 'ema' : 'sma',
      params: { smaShort: 5 + (i % 5) * 2, smaLong: 20 + (i % 4) * 10 },
      sl: 0.2 + (i % 3) * 0.1,
      tp: 0.4 + (i % 4) * 0.1,
      volume: 0.01,
      sharpe: strong ? 0.5 + i * 0.01 : 0.2,
      profitFactor: strong ? 1.35 : 1.1,
      winRate: strong ? 0.46 : 0.38,
      trades: strong ? 240 : 120,
      maxDrawdown: strong ? 0.12 : 0.2,
      rank: 'B',
    });
  }
  return out;
}

export async function demoCommand(argv: string[], out: CommandOutput): Promise<number> {
  return runCommand('demo', DEMO_USAGE, out, async () => {
    const { flags, help } = parseFlags(argv, DEMO_OPTIONS);
    if (help) {
      out.stdout(DEMO_USAGE);
      return 0;
    }
    const log = (s: string) => out.stdout(`${s}\n`);
    const n = flags.strategies ?? 12;
    // Each backtest takes at least this long, so requests are in flight when the service is killed.
    const delayMs = flags.quick ? 150 : 400;
    const serviceDownMs = flags.quick ? 1_000 : 5_000;
    const dir = flags.dir ? path.resolve(flags.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-demo-'));
    fs.mkdirSync(dir, { recursive: true });
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    const dbPath = path.join(dir, 'shoal.db');
    for (const f of fs.readdirSync(dir)) if (f.startsWith('shoal.db')) fs.rmSync(path.join(dir, f));
    log(`shoal demo in ${dir}`);

    // 1. Data: 200 days of M1 bars; EURUSD gets a row out of order, which the gate must catch.
    const start = Math.floor(Date.UTC(2026, 0, 5) / 1000);
    const usd = await writeSyntheticCandles(path.join(dataDir, 'USDJPY_M1.csv'), { start, days: 200 });
    const eur = path.join(dataDir, 'EURUSD_M1.csv');
    await writeSyntheticCandles(eur, { start, days: 200, seed: 7, startPrice: 1_085, anchorPrice: 1_100 });
    const lines = fs.readFileSync(eur, 'utf8').split('\n');
    [lines[5000], lines[5001]] = [lines[5001], lines[5000]];
    fs.writeFileSync(eur, lines.join('\n'));
    log(`1. candles: USDJPY ${usd.rows.toLocaleString('en-US')} M1 bars (last ${formatTime(usd.last * 1000)}); EURUSD the same length with two rows swapped at line 5001`);

    // 2. The backtest service, in its own process, and the runtime. The service is broken for one
    //    strategy: every backtest of it fails (the host's "Guardian process failure").
    const strategies = demoStrategies(n);
    const poison = strategies[0].name;
    const [reqPort, resPort] = [await freePort(), await freePort()];
    let service = await startService(reqPort, resPort, dataDir, log, { delayMs, failFor: `${poison}-OOS=Guardian process failure` });
    const traceFile = flags.trace ? path.resolve(flags.trace) : undefined;
    // The SDK is loaded only when asked for: without --trace the demo records no spans.
    const sdk = traceFile ? await (await import('../app/telemetry-sdk.ts')).startTelemetrySdk({}, { traceFile, register: false }) : undefined;
    const shoal = await Shoal.start({
      dbPath,
      dataDir,
      requestEndpoint: `tcp://127.0.0.1:${reqPort}`,
      resultEndpoint: `tcp://127.0.0.1:${resPort}`,
      leaseMs: 4_000,
      tickMs: 250,
      rankIntervalMs: 1_000,
      retry: { maxAttempts: 4, backoff: { minMs: 300, maxMs: 3_000, factor: 2, jitter: 0.2, resetAfterMs: 0, firstImmediate: false } },
      replay: { quietMs: 2_000, scanIntervalMs: 1_000 },
      intensity: 20,
    }, { telemetry: { tracerProvider: sdk?.tracerProvider } });
    const notifications: string[] = [];
    shoal.notifications.events.subscribe((note) => notifications.push(`[${note.severity}] ${note.title}`));
    log(`2. runtime started: requests to tcp://127.0.0.1:${reqPort}, results on tcp://127.0.0.1:${resPort}, database ${dbPath}`);

    const reader = openStore({ path: dbPath, readonly: true });
    const status = () => {
      const c = countByState(reader);
      return `outbox pending ${c.pending}, in flight ${c.in_flight}, done ${c.done}, dead ${c.dead}; sent ${shoal.stats.sender.sent}, results ${shoal.stats.results.applied}, timeouts ${shoal.stats.sender.timeouts}`;
    };
    const waitUntil = async (check: () => boolean, what: string, ms: number) => {
      const deadline = Date.now() + ms;
      let last = 0;
      while (!check()) {
        if (Date.now() > deadline) {
          log(`   (gave up waiting for ${what} after ${ms / 1000} s)`);
          return false;
        }
        if (Date.now() - last > 2_000) {
          log(`   ${status()}`);
          last = Date.now();
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return true;
    };
    const poisonLetter = () => listDeadLetters(reader, { state: undefined, limit: 1_000 }).find((l) => (l.message as { strategyName?: string } | null)?.strategyName === poison);
    let healthy = true;

    try {
      // 3. Strategies; the rank evaluator (every second) asks for OOS through the gate.
      await shoal.upsertStrategies(strategies);
      log(`3. ${n} B strategies registered; the rank evaluator asks for OOS for those meeting A's in-sample criteria`);
      await waitUntil(() => countByState(reader).done >= 1 || poisonLetter() !== undefined, 'the first result', 60_000);

      // 4. The poison request: every attempt fails at the service, then it is dead-lettered, durably.
      log(`4. poison: the service fails every backtest of ${poison}; its request is retried with backoff, then dead-lettered`);
      healthy = (await waitUntil(() => poisonLetter()?.state === 'dead', 'the poison request to be dead-lettered', 60_000)) && healthy;
      const letter = poisonLetter();
      if (letter) {
        log(`   dead letter #${letter.id} (persisted in ${path.basename(dbPath)}): ${letter.attempts} attempts, ${letter.error.slice(0, 100)}`);
      }

      // 5. Faults: the result-handler crashes (rest_for_one restarts it and the sender), then the service is killed.
      log('5. fault: the result-handler crashes on a socket error');
      shoal.system.crashActor(shoal.system.lookup(paths.resultHandler)!, new Error('demo: injected socket fault'));
      await new Promise((r) => setTimeout(r, 300));
      log(`   fault: the backtest service is killed with SIGKILL (${countByState(reader).in_flight} requests in flight), and comes back repaired ${serviceDownMs / 1000} s later`);
      service.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, serviceDownMs));
      service = await startService(reqPort, resPort, dataDir, log, { delayMs });

      // 6. Recovery: the dead letter is replayed; its request goes back to the outbox and completes.
      if (letter) {
        log(`6. replay of dead letter #${letter.id} now that the service is repaired (what \`shoal dead-letters replay ${letter.id}\` does)`);
        await shoal.replay({ ids: [letter.id] });
        healthy = (await waitUntil(() => poisonLetter()?.state === 'replayed', 'the replayed request to complete', 90_000)) && healthy;
        const after = poisonLetter();
        log(`   dead letter #${letter.id}: ${after?.state}${after?.note ? ` (${after.note})` : ''}; request ${after?.requestId} ${after?.requestId ? getRequest(reader, after.requestId)?.state : '?'}`);
      }

      // 7. Everything asked for ends done or dead; a second evaluation promotes what passed.
      const settled = () => {
        const c = countByState(reader);
        return c.pending === 0 && c.in_flight === 0 && c.done + c.dead > 0;
      };
      healthy = (await waitUntil(settled, 'the outbox to drain', 90_000)) && healthy;
      await shoal.evaluateRanks();
      log(`7. settled: ${status()}`);

      // 8. What an operator sees.
      log('\n== supervision tree');
      log(renderTree(shoal.snapshot(), Date.now()).join('\n'));
      log('\n== rank changes');
      const history = await reader.db.selectFrom('rank_history').selectAll().orderBy('id').execute();
      for (const h of history) log(`  ${h.strategy_name.padEnd(22)} ${h.from_rank} -> ${h.to_rank}  ${h.reason}`);
      if (history.length === 0) log('  none');
      log('\n== dead letters');
      const letters = listDeadLetters(reader, { state: undefined, limit: 20 });
      for (const l of letters) log(`  #${l.id} ${l.state} ${l.source}: ${l.error.slice(0, 110)}`);
      if (letters.length === 0) log('  none');
      log('\n== notifications');
      for (const note of notifications) log(`  ${note}`);
      log('\n== failure events by kind');
      const kinds = await reader.db.selectFrom('failure_events').select(['kind']).select((eb) => eb.fn.countAll<number>().as('n')).groupBy('kind').execute();
      for (const k of kinds) log(`  ${k.kind.padEnd(18)} ${k.n}`);
      log('\n== daily summary (today so far)');
      await reportCommand(['daily', '--db', dbPath], out);
    } finally {
      await shoal.stop('demo finished');
      service.kill('SIGTERM');
      if (sdk && traceFile) {
        await sdk.shutdown();
        log(`\n== traces written to ${traceFile} (OTLP JSON: load it into any OTLP trace viewer)`);
      }
    }
    // 9. The final check, from the store alone.
    const audit = auditStore(reader);
    reader.close();
    const holds = audit.lost === 0 && audit.appliedTwice === 0 && audit.live === 0 && healthy;
    log(`\n== final check from the store\n  ${formatAudit(audit)}\n  ${holds ? 'nothing lost, nothing applied twice' : 'CHECK FAILED'}`);
    if (flags.dir || flags.keep) {
      const shoalCmd = cliInvocation();
      log(`\nThe database stays inspectable:\n  ${shoalCmd} tree --db ${dbPath}\n  ${shoalCmd} queue --db ${dbPath} --state done\n  ${shoalCmd} dead-letters list --state replayed --db ${dbPath}\n  ${shoalCmd} report daily --db ${dbPath}`);
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
      log('(temporary directory removed; run with --keep or --dir to keep it)');
    }
    return holds ? 0 : 1;
  });
}

/** How to run this CLI again from the current directory: `shoal` when that is on PATH and is us, else node with our entry point. */
function cliInvocation(): string {
  const fromSources = HERE.endsWith('.ts');
  const entry = path.join(ROOT, fromSources ? 'cli/shoal.ts' : 'cli/shoal.js');
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'shoal');
    try {
      if (fs.realpathSync(candidate) === fs.realpathSync(entry)) return 'shoal';
    } catch {
      // not there
    }
  }
  const rel = path.relative(process.cwd(), entry);
  return `node ${fromSources ? '--import tsx ' : ''}${rel.startsWith('..') ? entry : rel}`;
}

