/**
 * The chaos driver's bridge mode (`runChaos({ mode: 'bridge' })`, `npm run chaos -- --mode
 * bridge`): three processes as deployed: the built `shoal start --bridge`, a stand-in host
 * (fixtures/bridge-host.ts: PUSHes OOS requests under its own ids, asks a strategy again under a
 * new id when no result came, keeps a journal across its restarts) and the misbehaving stand-in
 * service (chaos-service.ts: its sockets in a process of their own). Each cycle gives the host new
 * strategies and ends in a fault: SIGKILL of shoal after a request was stored, after a send, right
 * after a result was sent, at a random moment, during a dead-letter replay, inside a commit held
 * open by a test-only trap (commit-kill.ts) or on its "checkpoint started" line
 * (checkpoint-kill.ts); the service's process SIGKILLed and restarted; SIGKILL and restart of the
 * host; a graceful stop of shoal; a second process holding the write lock (lock-holder.ts) or the
 * database's file system filling up (small-fs.ts) while the host sends the cycle's frames; shoal's
 * wall clock stepping by up to an hour (clock-jump.ts; shoal runs under libfaketime, the fault is
 * skipped and named without it). With `service: 'bundled'` the built bundled backtester is the
 * service instead (bundled-service.ts), without the faults that need the stand-in. Then one recovery with the faults off, and bridge-checker.ts
 * judges the host's and the service's history and the store, with what the aimed and blocking
 * faults judged as they happened (aims.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createTraceparent } from '../../protocol/index.ts';
import { freePort } from '../../transport/free-port.ts';
import { csv, validLines } from '../domain/candles/fixtures.ts';
import { exited, REPO_ROOT } from '../persistence/helpers.ts';
import { startService, type RunningService } from '../cli/service-process.ts';
import { BUILT_CLI } from '../cli/cli-process.ts';
import { until } from '../wait.ts';
import { checkBridge, type BridgeSummary, type HostAsk } from './bridge-checker.ts';
import { countReplaying, countStored, readBridgeStoreView, type BridgeStoreView } from './bridge-store-view.ts';
import type { StoreAudit } from '../../persistence/audit.ts';
import { NO_FAULTS, type ChaosService } from './chaos-service.ts';
import { describeRequest } from './checker.ts';
import type { BridgeHostItem, BridgeHostSettings } from './fixtures/bridge-host.ts';
import { History } from './history.ts';
import { chaosService, LEASE_MS, MAX_REPLAYS, seededRandom, type ChaosOptions, type ChaosReport } from './run.ts';
import { killAfterStoredResults, needsStandIn } from './bundled-service.ts';
import { sendCounter, storeProgress } from './store-view.ts';
import { SHARED_FAULTS } from './faults.ts';
import { waitFor } from './wait-for.ts';
import { Aims } from './aims.ts';
import { integrityCheck, readAudit } from './store-view.ts';
import { fillFor, mountSmallFs, unmountSmallFs, type SmallFs } from './small-fs.ts';
import { holdWriteLock } from './lock-holder.ts';
import type { Violation } from './checker.ts';
import type { OosConfigInput } from '../../app/config.ts';
import { checkpointKillConfig, killDuringCheckpoint } from './checkpoint-kill.ts';
import { clockJumpConfig, jumpClock } from './clock-jump.ts';
import { COMMIT_TRAP_IMPORT, commitTrapEnv, killInsideCommit, trapSkip } from './commit-kill.ts';
import { WallClockControl, type ClockAnswer } from './wall-clock-control.ts';
import type { LogLine } from '../cli/service-process.ts';

export const BRIDGE_FAULTS = [
  ...SHARED_FAULTS,
  'host-kill',
  'graceful-stop',
  'lock-holder',
  'disk-full',
  'kill-during-checkpoint',
  'clock-jump',
] as const;
export type BridgeFault = (typeof BRIDGE_FAULTS)[number];
/** Bridge mode's faults against the bundled service. */
export const BRIDGE_BUNDLED_FAULTS: readonly BridgeFault[] = BRIDGE_FAULTS.filter((f) => !needsStandIn(f));

/** Faults whose cycle's frames the host gets only once the store is blocked, so they arrive while it is. */
const BLOCKING: ReadonlySet<BridgeFault> = new Set(['lock-holder', 'disk-full']);

/** shoal's own settings in the cycles of the aimed faults (their modules say why); they log at debug level, where the checkpoint lines are. */
const AIMED_CONFIG: Partial<Record<BridgeFault, Partial<OosConfigInput>>> = { 'kill-during-checkpoint': checkpointKillConfig, 'clock-jump': clockJumpConfig };

/** The options of bridge mode (ChaosOptions.bridge). */
export interface BridgeOptions {
  /** How long the host waits for a result before it asks again under a new id (the host's 600 s, scaled down). */
  readonly resendAfterMs?: number;
  /** Asks per strategy at most, the first included (the host asks for ever; a run must end). */
  readonly maxAsks?: number;
}

export interface BridgeReport extends ChaosReport {
  readonly summary: BridgeSummary;
  readonly bridge: BridgeSummary;
  readonly shoalKills: number;
  readonly hostKills: number;
  /** The store's own account at the end (persistence/audit.ts). */
  readonly audit: StoreAudit;
}

/** A strategy of the workload: poison ones fail at the service every time, refused ones name a candle file that is not there. */
interface PlannedStrategy extends BridgeHostItem {
  readonly poison: boolean;
  readonly refused: boolean;
}

const HOST = path.join(REPO_ROOT, 'tests/chaos/fixtures/bridge-host.ts');
const CANDLES = 'USDJPY_M1.csv';

interface HostProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<unknown>;
  stderr: string;
}

/** Evaluates `check` at most every `everyMs` (a store read per 5 ms turn of tests/wait.ts would load the machine); false while it throws (no database yet). */
function throttled(check: () => boolean, everyMs = 100): () => boolean {
  let last = 0;
  let value = false;
  return () => {
    if (Date.now() - last < everyMs) return value;
    last = Date.now();
    try {
      value = check();
    } catch {
      value = false;
    }
    return value;
  };
}

export function isBridgeReport(r: ChaosReport): r is BridgeReport {
  return 'bridge' in r;
}

export async function runBridgeChaos(options: ChaosOptions): Promise<BridgeReport> {
  if (!existsSync(BUILT_CLI)) throw new Error(`bridge mode runs the built command ${BUILT_CLI}: run npm run build first`);
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed);
  const bundled = options.service === 'bundled';
  const faults = bundled ? BRIDGE_BUNDLED_FAULTS : BRIDGE_FAULTS;
  const perCycle = options.perCycle ?? 16;
  const maxAsks = options.bridge?.maxAsks ?? 3;
  const resendAfterMs = options.bridge?.resendAfterMs ?? 15_000;
  const deadline = options.minutes === undefined ? undefined : Date.now() + options.minutes * 60_000;
  const cycles = options.cycles ?? (deadline === undefined ? faults.length : Number.POSITIVE_INFINITY);
  const dir = mkdtempSync(path.join(tmpdir(), 'shoal-bridge-chaos-'));
  // The database in a folder of its own, on a small tmpfs where the machine lets us mount one: the disk-full fault fills it (the host's journal and the candles stay outside).
  const storeDir = path.join(dir, 'store');
  mkdirSync(storeDir);
  const smallFs = mountSmallFs(storeDir);
  const dbPath = path.join(storeDir, 'shoal.db');
  writeFileSync(path.join(dir, CANDLES), csv(validLines(200)));
  const [intake, hostResults, requestEndpoint, resultEndpoint] = (await Promise.all([freePort(), freePort(), freePort(), freePort()])).map((p) => `tcp://127.0.0.1:${p}`);
  // Short leases and quick retries as in the direct mode, so a run takes minutes.
  const baseConfig = {
    leaseMs: LEASE_MS,
    tickMs: 100,
    drainTimeoutMs: 5_000,
    retry: { maxAttempts: 3, backoff: { minMs: 50, maxMs: 400, factor: 2, jitter: 0.2, resetAfterMs: 0, firstImmediate: false } },
    replay: { quietMs: 300, maxReplays: MAX_REPLAYS, scanIntervalMs: 300, replayAtStartup: true },
    forward: { tickMs: 200 },
  };
  /** The config file of a cycle: the base, or the base with an aimed fault's settings over it. */
  const configOf = (fault: BridgeFault | undefined) => {
    const file = path.join(dir, `shoal${fault && AIMED_CONFIG[fault] ? `-${fault}` : ''}.json`);
    if (!existsSync(file)) writeFileSync(file, JSON.stringify({ ...baseConfig, ...(fault ? AIMED_CONFIG[fault] : {}) }));
    return file;
  };
  // shoal runs under libfaketime where it is installed: the clock-jump fault steps its wall clock, and the step stays across restarts.
  const clock = new WallClockControl(dir);
  const history = new History();
  const asks = new Map<string, HostAsk>();
  const strategies: PlannedStrategy[] = [];
  const byStrategy = new Map<string, PlannedStrategy>();
  const stops: number[] = [];
  const hostDeaths: number[] = [];
  let strayResults = 0;
  const { service, standIn, poisonAt } = chaosService(options, { request: requestEndpoint, result: resultEndpoint }, history, random, cycles, perCycle, (n) => `CB${n}-OOS`);
  const faultsRun: Record<string, number> = {};
  await service.start();
  const t0 = Date.now();
  let shoalKills = 0;
  let hostKills = 0;
  const aims = new Aims();

  // ---- shoal ----
  let shoal: RunningService | undefined;
  let shoalConfig = '';
  const shoalUp = () => shoal !== undefined && shoal.child.exitCode === null && shoal.child.signalCode === null;
  const trapFile = path.join(dir, 'commit-trap.json');
  /** `trapSkipped`: in a kill-inside-commit cycle, shoal carries the commit trap (preloaded through NODE_OPTIONS), which lets that many write transactions commit once armed. */
  const startShoal = async (config = configOf(undefined), trapSkipped?: number) => {
    shoalConfig = config;
    const trap =
      trapSkipped === undefined ? {} : { ...commitTrapEnv(trapFile, trapSkipped), NODE_OPTIONS: [process.env.NODE_OPTIONS, ...COMMIT_TRAP_IMPORT].filter(Boolean).join(' ') };
    const s = startService(
      ['--bridge', '--config', config, '--db', dbPath, '--data-dir', dir, '--intake', intake, '--host-results', hostResults, '--service', requestEndpoint, '--service-results', resultEndpoint, '--window', '8'],
      { ...clock.preload(), SHOAL_LOG_LEVEL: config === configOf(undefined) ? 'info' : 'debug', ...trap },
    );
    shoal = s;
    await s.line('intake_bound', 120_000);
  };
  const killShoal = async () => {
    const s = shoal!;
    s.child.kill('SIGKILL');
    await s.exited;
    stops.push(Date.now());
    shoalKills++;
  };
  const stopShoal = async (): Promise<string> => {
    const s = shoal!;
    s.child.kill('SIGTERM');
    const exit = await s.exited;
    stops.push(Date.now());
    return exit.code === 0 ? 'exit 0' : `exit ${exit.code ?? exit.signal}: ${s.stderr().trim().split('\n').slice(-3).join(' / ')}`;
  };

  // ---- the host ----
  let host: HostProcess | undefined;
  const journal = path.join(dir, 'host-journal.jsonl');
  const give = (h: HostProcess, items: readonly PlannedStrategy[]) => {
    const plain: BridgeHostItem[] = items.map(({ strategy, candlesFile, asks: a }) => ({ strategy, candlesFile, asks: a }));
    h.child.stdin.write(`${JSON.stringify({ items: plain })}\n`);
  };
  const startHost = async (workload: readonly PlannedStrategy[] = strategies) => {
    const settings: BridgeHostSettings = { intake, results: hostResults, journal, intervalMs: 25, resendAfterMs };
    const child = spawn(process.execPath, ['--import', 'tsx', HOST, JSON.stringify(settings)], { cwd: REPO_ROOT, stdio: 'pipe' });
    const h: HostProcess = { child, exited: exited(child), stderr: '' };
    child.stderr.on('data', (d: Buffer) => (h.stderr = (h.stderr + d.toString()).slice(-4_000)));
    let started = false;
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: { t?: string; id?: string | null; at?: number };
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg.t === 'started') started = true;
      else if (msg.t === 'ask' && msg.id) {
        const a = asks.get(msg.id);
        if (a && a.askedAt === undefined) a.askedAt = msg.at ?? Date.now();
      } else if (msg.t === 'got') {
        const a = msg.id ? asks.get(msg.id) : undefined;
        if (a) a.got.push(Date.now());
        else strayResults++;
      }
    });
    host = h;
    await until(
      () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the stand-in host exited before starting: ${h.stderr}`);
        return started;
      },
      'the stand-in host to start',
      120_000,
    );
    // Its whole workload: it asks what its journal says it never asked, and keeps the times of the rest.
    give(h, workload);
  };
  const killHost = async () => {
    const h = host!;
    h.child.kill('SIGKILL');
    await h.exited;
    stops.push(Date.now());
    hostDeaths.push(Date.now());
    hostKills++;
  };

  const plan = (n: number): PlannedStrategy => {
    const poison = poisonAt(n);
    const refused = !poison && random() < 0.03;
    const strategy = `CB${n}-OOS`;
    const s: PlannedStrategy = {
      strategy,
      candlesFile: refused ? 'MISSING_M1.csv' : CANDLES,
      asks: Array.from({ length: maxAsks }, (_, k) => ({ id: `chaos-bridge-${options.seed}-${n}.${k + 1}`, traceparent: createTraceparent() })),
      poison,
      refused,
    };
    for (const a of s.asks) {
      asks.set(a.id, { requestId: a.id, strategy, traceparent: a.traceparent, got: [] });
      history.plan({ requestId: a.id, strategy, traceparent: a.traceparent, poison });
    }
    return s;
  };

  const view = () => readBridgeStoreView(dbPath);
  try {
    let cycle = 0;
    while (cycle < cycles && (deadline === undefined || Date.now() < deadline || cycle < faults.length)) {
      cycle++;
      const items: PlannedStrategy[] = [];
      for (let i = 0; i < perCycle; i++) {
        const s = plan(strategies.length);
        strategies.push(s);
        byStrategy.set(s.strategy, s);
        items.push(s);
      }
      const startedAt = Date.now();
      const fault = cycle <= faults.length ? faults[(cycle - 1 + Math.floor(options.seed % faults.length)) % faults.length] : faults[Math.floor(random() * faults.length)];
      const config = configOf(fault);
      // The commit trap goes into a shoal started for its cycle (and is armed at once).
      const skip = fault === 'kill-inside-commit' ? trapSkip(random) : undefined;
      const restart = shoalUp() && (shoalConfig !== config || skip !== undefined) ? `shoal restarted for its ${skip === undefined ? 'settings' : 'commit trap'} (SIGTERM: ${await stopShoal()}); ` : '';
      if (!shoalUp()) await startShoal(config, skip);
      const deferred = BLOCKING.has(fault);
      if (!host) await startHost(deferred ? strategies.slice(0, -items.length) : strategies);
      else if (!deferred) give(host, items);
      faultsRun[fault] = (faultsRun[fault] ?? 0) + 1;
      const cycleIds = items.flatMap((it) => it.asks.map((a) => a.id));
      const detail = restart + await inflict(fault, {
        items,
        // Without the stand-in's record of what it received, the outbox's claims stand for the sends.
        progress: bundled ? storeProgress(dbPath, cycleIds) : undefined,
        standIn,
        giveItems: () => give(host!, items),
        shoal: () => shoal!,
        clock,
        cycle,
        smallFs,
        aims,
        shoalUp,
        random,
        history,
        asks,
        dbPath,
        killShoal,
        signalShoal: () => shoal?.child.kill('SIGKILL'),
        stopShoal,
        restartHost: async () => {
          await killHost();
          await startHost();
        },
        trap: { file: trapFile, skip: skip ?? 0 },
        crashService: async () => {
          await service.crash();
          await service.start();
        },
      });
      history.fault(cycle, Date.now(), fault, detail);
      const v = view();
      const states = [...v.requests.values()];
      log(
        `cycle ${cycle}${Number.isFinite(cycles) ? `/${cycles}` : ''} ${fault}: ${detail} (${Date.now() - startedAt} ms) | asks sent ${[...asks.values()].filter((a) => a.askedAt !== undefined).length}, stored ${v.requests.size}, refused ${v.refused.size}, done ${states.filter((r) => r.state === 'done').length}, dead ${states.filter((r) => r.state === 'dead').length}, superseded ${states.filter((r) => r.state === 'superseded').length}, live ${v.live}`,
      );
    }

    // Recovery: the faults stop (poison stays poison), every process up, until the host asks no more and shoal is idle.
    if (standIn) standIn.rates = NO_FAULTS;
    // A fresh start, as in the direct mode: letters are replayed at start-up (after the quiet period).
    if (shoalUp()) log(`recovery: shoal stopped on SIGTERM before the recovery start (${await stopShoal()})`);
    const owed = [...view().letters].filter(([, l]) => l.state === 'dead' && l.replayCount < MAX_REPLAYS);
    await startShoal();
    if (!host || host.child.exitCode !== null || host.child.signalCode !== null) await startHost();
    const unreplayedOf = (v: BridgeStoreView) => owed.filter(([id, l]) => v.letters.get(id)?.state === 'dead' && v.letters.get(id)?.replayCount === l.replayCount);
    const lastStop = () => stops.at(-1) ?? 0;
    const settled = (v: BridgeStoreView) => {
      const hostDone = strategies.every((s) => {
        const sent = s.asks.map((a) => asks.get(a.id)!).filter((a) => a.askedAt !== undefined);
        const latest = sent.at(-1);
        return latest !== undefined && (latest.got.length > 0 || sent.length === s.asks.length);
      });
      // Every ask since the last stop is stored or refused (an earlier one may have died in a socket buffer).
      const intakeDone = [...asks.values()].every((a) => a.askedAt === undefined || a.askedAt <= lastStop() || v.requests.has(a.requestId) || v.refused.has(a.requestId));
      const delivered = [...v.forwards].every(([id, f]) => f.state !== 'forwarded' || (asks.get(id)?.got.length ?? 0) > 0);
      return hostDone && intakeDone && delivered && v.live === 0 && v.replaying === 0 && v.pendingForwards === 0 && unreplayedOf(v).length === 0;
    };
    try {
      await until(throttled(() => settled(view()), 250), 'the recovery to settle', 300_000);
      log('recovery: settled (the host asks no more, nothing live, no forward pending, owed replays done)');
    } catch {
      const v = view();
      log(`recovery did not settle in 300 s: live ${v.live}, letters replaying ${v.replaying}, forwards pending ${v.pendingForwards}, letters owed a replay ${unreplayedOf(v).length}`);
    }
    // The run's end, not faults: a frame sent before these stops must have been stored by then.
    const faultStops = [...stops];
    const faultHostDeaths = [...hostDeaths];
    log(`recovery: shoal stopped on SIGTERM (${await stopShoal()})`);
    host!.child.kill('SIGKILL');
    await host!.exited;

    const v = view();
    const audit = readAudit(dbPath);
    const judged = checkBridge(
      { asks, service: history.requests, store: v, stops: faultStops, hostDeaths: faultHostDeaths, maxReplays: MAX_REPLAYS, unreplayedLetters: unreplayedOf(v).map(([id]) => id), strayResults, audit, serviceRecords: !bundled },
      (s) => byStrategy.get(s)?.poison ?? false,
      (s) => byStrategy.get(s)?.refused ?? false,
    );
    // The database after kills at any moment (a commit, a checkpoint) must still be sound.
    const integrity = integrityCheck(dbPath);
    const own: Violation[] = [...(integrity === 'ok' ? [] : [{ requestId: 'the database', rule: 'integrity' as const, detail: integrity }]), ...aims.violations];
    const summary: BridgeSummary = { ...judged, violations: [...own, ...judged.violations] };
    const first = summary.violations[0];
    const firstAsk = first ? asks.get(first.requestId) : undefined;
    // The host is told nothing (no acknowledgement): acceptance is the store line, so the direct mode's "accepted" line is left out.
    const describe = (id: string) => describeRequest(history.requests.get(id), v.requests.get(id), t0).replace(/\n {2}accepted: [^\n]*/, '');
    return {
      seed: options.seed,
      cycles: cycle,
      kills: shoalKills + hostKills,
      shoalKills,
      hostKills,
      serviceKills: service.kills,
      service: bundled ? 'bundled' : 'stand-in',
      faultsRun,
      audit,
      summary,
      bridge: summary,
      aims,
      integrity,
      firstViolation: first
        ? `${first.rule}: ${first.detail}\n${describe(first.requestId)}\n  host: ${firstAsk ? `asked ${firstAsk.askedAt === undefined ? 'never' : `+${firstAsk.askedAt - t0} ms`}, got ${firstAsk.got.map((t) => `+${t - t0} ms`).join(', ') || 'nothing'}` : '-'}; shoal/host stops at ${stops.map((t) => `+${t - t0}`).join(', ')} ms`
        : undefined,
      dir,
    };
  } finally {
    if (shoal && shoalUp()) shoal.child.kill('SIGKILL');
    if (host) host.child.kill('SIGKILL');
    await service.stop();
    if (!options.keep) {
      unmountSmallFs(smallFs);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

interface BridgeFaultContext {
  readonly items: readonly PlannedStrategy[];
  /** Hands the cycle's strategies to the host (the blocking faults do it once the store is blocked). */
  readonly giveItems: () => void;
  readonly shoal: () => RunningService;
  readonly clock: WallClockControl;
  readonly cycle: number;
  readonly smallFs: SmallFs;
  readonly aims: Aims;
  readonly shoalUp: () => boolean;
  readonly random: () => number;
  readonly history: History;
  readonly asks: ReadonlyMap<string, HostAsk>;
  /** The stand-in, when it is the service: the faults that script or watch its answers need it. */
  readonly standIn?: ChaosService;
  /** With the bundled service: the outbox's sends and the done requests among the cycle's asks (the store's record). */
  readonly progress?: () => { sends: number; done: number };
  readonly dbPath: string;
  readonly killShoal: () => Promise<void>;
  /** SIGKILL now, from a callback; killShoal then waits for the exit. */
  readonly signalShoal: () => void;
  readonly stopShoal: () => Promise<string>;
  readonly restartHost: () => Promise<void>;
  readonly crashService: () => Promise<void>;
  /** The commit trap shoal carries in a kill-inside-commit cycle: its file and the write transactions it lets commit once armed. */
  readonly trap: { readonly file: string; readonly skip: number };
}

async function inflict(fault: BridgeFault, c: BridgeFaultContext): Promise<string> {
  const ids = c.items.flatMap((s) => s.asks.map((a) => a.id));
  const idSet = new Set(ids);
  const progress = c.progress;
  const sends = sendCounter(c.history, ids, progress);
  const k = 1 + Math.floor(c.random() * Math.max(1, c.items.length - 1));
  switch (fault) {
    case 'kill-after-enqueue': {
      // Stored: the bridge's durable point (there is no acknowledgement to the host).
      const seen = await waitFor(throttled(() => countStored(c.dbPath, ids) >= k, 50));
      await c.killShoal();
      return `SIGKILL of shoal after ${k} stored${seen ? '' : ' (not reached)'}`;
    }
    case 'kill-after-send': {
      const seen = await waitFor(() => sends() >= k);
      await c.killShoal();
      return `SIGKILL of shoal after ${k} sends${seen ? '' : ' (not reached)'}`;
    }
    case 'kill-after-result': {
      const standIn = c.standIn;
      if (!standIn) return `SIGKILL of shoal ${await killAfterStoredResults(k, () => progress?.().done ?? 0, c.killShoal)}`;
      let answered = 0;
      let reached = false;
      standIn.onAnswer = (id, answer) => {
        if (!idSet.has(id) || (answer !== 'ok' && answer !== 'twice' && answer !== 'late')) return;
        // Killed the moment the answer is handed over: it is in flight to a shoal that dies.
        if (++answered === k) {
          reached = true;
          c.signalShoal();
        }
      };
      await waitFor(() => reached);
      standIn.onAnswer = undefined;
      await c.killShoal();
      return `SIGKILL of shoal right after result ${k} was sent${reached ? '' : ' (not reached)'}`;
    }
    case 'kill-anytime': {
      // A moment drawn from the seed, not a state: the clock is the condition.
      const ms = Math.floor(c.random() * 2_000);
      const at = Date.now() + ms;
      await waitFor(() => Date.now() >= at, ms + 1_000);
      await c.killShoal();
      return `SIGKILL of shoal ${ms} ms into the cycle`;
    }
    case 'kill-during-replay': {
      const replaying = await waitFor(throttled(() => countReplaying(c.dbPath) > 0, 50), 20_000);
      await c.killShoal();
      return replaying ? 'SIGKILL of shoal while a dead letter was being replayed' : 'SIGKILL of shoal (no replay under way within 20 s)';
    }
    case 'kill-inside-commit':
      return killInsideCommit({ ...c.trap, sends, requests: c.items.length, random: c.random, dbPath: c.dbPath, cycle: c.cycle, aims: c.aims, arm: () => c.shoal().child.kill('SIGUSR2'), kill: c.killShoal });
    case 'service-crash': {
      await waitFor(() => sends() >= k);
      await c.crashService();
      const at = sends();
      const resumed = await waitFor(() => sends() > at, 30_000);
      return `SIGKILL of the service's process after ${k} sends, restarted; ${resumed ? 'sending resumed' : 'no send within 30 s'}`;
    }
    case 'host-kill': {
      // Killed with its frames in flight and results on their way: its journal brings it back.
      const asked = await waitFor(() => ids.filter((id) => c.asks.get(id)?.askedAt !== undefined).length >= k);
      await c.restartHost();
      return `SIGKILL of the host after ${k} asks${asked ? '' : ' (not reached)'}, restarted from its journal`;
    }
    case 'graceful-stop': {
      await waitFor(() => sends() >= k, 30_000);
      return `SIGTERM of shoal after ${k} sends: ${await c.stopShoal()}`;
    }
    case 'lock-holder': {
      // The cycle's frames reach shoal while the lock is held.
      const from = c.shoal().lines.length;
      const heldMs = await holdWriteLock(c.dbPath, c.random, c.giveItems);
      const judged = await judgeUnblocked(c, ids, from, 'the lock was released');
      await c.killShoal();
      return `a second process held the write lock for ${heldMs} ms while the host sent the cycle's frames; ${judged}; then SIGKILL of shoal`;
    }
    case 'disk-full': {
      if (!c.smallFs.mounted) {
        c.giveItems();
        c.aims.skipped.push(`disk-full in cycle ${c.cycle}: no small file system to fill (${c.smallFs.why})`);
        return `skipped: no small file system to fill here (${c.smallFs.why}); SIGTERM of shoal: ${await c.stopShoal()}`;
      }
      const from = c.shoal().lines.length;
      const bytes = await fillFor(c.smallFs, c.random, c.giveItems);
      const judged = await judgeUnblocked(c, ids, from, 'space was freed');
      await c.killShoal();
      return `the file system of the database was full (${Math.round(bytes / 2 ** 20)} MiB of filler) for 2-4 s while the host sent the cycle's frames, then freed; ${judged}; then SIGKILL of shoal`;
    }
    case 'kill-during-checkpoint': {
      const s = c.shoal();
      return killDuringCheckpoint({
        sends,
        requests: c.items.length,
        random: c.random,
        dbPath: c.dbPath,
        cycle: c.cycle,
        aims: c.aims,
        onCheckpoint: (listener) => {
          const onLine = (line: LogLine) => {
            if (line.event === 'checkpoint_started') listener('started', line as { mode?: string; walBytes?: number });
            else if (line.event === 'checkpoint_finished') listener('finished', {});
          };
          s.listeners.add(onLine);
          return () => s.listeners.delete(onLine);
        },
        signalKill: c.signalShoal,
        // shoal's exit resolves once its output is read to its end.
        reaped: c.killShoal,
      });
    }
    case 'clock-jump': {
      if (!c.clock.library) {
        c.aims.skipped.push(`clock-jump in cycle ${c.cycle}: shoal start is a separate process and only libfaketime can step its wall clock (${c.clock.why})`);
        return `skipped: shoal start is a separate process and only libfaketime can step its wall clock (${c.clock.why}); SIGTERM of shoal: ${await c.stopShoal()}`;
      }
      const s = c.shoal();
      if (!c.standIn) throw new Error('the clock-jump fault scripts the stand-in service\'s answers');
      return jumpClock({
        all: ids,
        // The asks the host sent (an ask again never needed shoal never sees) whose strategy the intake does not refuse by design.
        judged: () => c.items.filter((it) => !it.refused).flatMap((it) => it.asks.map((a) => a.id)).filter((id) => c.asks.get(id)?.askedAt !== undefined),
        ended: ['done', 'dead', 'superseded'],
        service: c.standIn,
        history: c.history,
        dbPath: c.dbPath,
        random: c.random,
        aims: c.aims,
        clock: c.clock,
        step: (offsetMs) => seenInLog(s, offsetMs),
        kill: c.killShoal,
      });
    }
  }
}

/**
 * After a step of shoal's wall clock (the driver rewrote libfaketime's file, reread at every read):
 * waits until a log line stamped with the stepped time shows it (at debug level a result is logged as it comes).
 */
async function seenInLog(s: RunningService, after: number): Promise<ClockAnswer | undefined> {
  let answer: ClockAnswer | undefined;
  const onLine = (line: LogLine) => {
    const seenMs = typeof line.time === 'string' ? Date.parse(line.time) - Date.now() : Number.NaN;
    // Within 5 s of the step: the line was written after it (a step is 5 min at least).
    if (answer === undefined && Math.abs(seenMs - after) < 5_000) answer = { offsetMs: after, via: 'libfaketime', seenMs };
  };
  s.listeners.add(onLine);
  await waitFor(() => answer !== undefined, 15_000);
  s.listeners.delete(onLine);
  return answer;
}

/** What shoal warned of in `lines` (the runtime's account of a blocked store), as `event xN` by event. */
function warnings(lines: readonly LogLine[]): string {
  const counts = new Map<string, number>();
  for (const l of lines) if (l.level === 'warn' || l.level === 'error' || l.level === 'fatal') counts.set(String(l.event ?? l.msg), (counts.get(String(l.event ?? l.msg)) ?? 0) + 1);
  return counts.size === 0 ? 'no warning logged' : `logged ${[...counts].map(([e, n]) => `${e} x${n}`).join(', ')}`;
}

/** How long the intake gets to store (or refuse) what came in while it was blocked, once unblocked: generous, for a loaded machine. */
const UNBLOCKED_MS = 60_000;

/**
 * After a lock or a full disk (docs/operations.md, "When things go wrong"): the db-writer retries
 * its batch until the store takes writes again, so shoal stays up and every frame the host sent
 * this cycle ends stored or refused; none may be lost while shoal was up. Violations go to the aims.
 */
async function judgeUnblocked(c: BridgeFaultContext, ids: readonly string[], from: number, unblocked: string): Promise<string> {
  const sent = ids.filter((id) => c.asks.get(id)?.askedAt !== undefined);
  const pending = () => {
    const v = readBridgeStoreView(c.dbPath);
    return sent.filter((id) => !v.requests.has(id) && !v.refused.has(id));
  };
  const settled = await waitFor(throttled(() => !c.shoalUp() || pending().length === 0, 250), UNBLOCKED_MS);
  const up = c.shoalUp();
  if (!up) c.aims.violations.push({ requestId: `cycle ${c.cycle}`, rule: 'exited-while-blocked', detail: `shoal exited while the store was blocked (${unblocked} after), instead of retrying until it took writes again` });
  const missing = up ? pending() : [];
  for (const id of missing) c.aims.violations.push({ requestId: id, rule: 'not-stored-after-unblock', detail: `sent by the host, neither stored nor refused ${UNBLOCKED_MS / 1_000} s after ${unblocked}` });
  return `${up ? 'shoal stayed up' : 'shoal had exited'} (${warnings(c.shoal().lines.slice(from))}); ${sent.length - missing.length} of the ${sent.length} frames sent so far stored or refused${settled ? '' : ` (waited ${UNBLOCKED_MS / 1_000} s)`} after ${unblocked}`;
}
