/**
 * The chaos driver: runs shoal in a child process beside a misbehaving stand-in service (or, with
 * `service: 'bundled'`, the built bundled backtester: bundled-service.ts), cycle
 * after cycle, each cycle ending in a fault from a schedule drawn from the seed (a SIGKILL at a
 * chosen point or inside a commit (commit-kill.ts), the service's process SIGKILLed, a second
 * process holding the write lock, a graceful stop), then recovers once with the faults off and lets
 * the checker judge the history and the store. Used by the suite's short form (chaos.test.ts) and
 * by `npm run chaos` (main.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createTraceparent } from '../../protocol/index.ts';
import { csv, validLines } from '../domain/candles/fixtures.ts';
import { freePort } from '../../transport/free-port.ts';
import { ChaosService, NO_FAULTS, type FaultRates } from './chaos-service.ts';
import { check, describeRequest, type CheckSummary } from './checker.ts';
import { History, type WorkItem } from './history.ts';
import { integrityCheck, readAudit, readFlow, readStoreView, sendCounter, storeProgress } from './store-view.ts';
import { BundledService, killAfterStoredResults, needsStandIn, type ServiceProcess } from './bundled-service.ts';
import type { OosConfigInput } from '../../app/config.ts';
import { Aims } from './aims.ts';
import { clockJumpConfig, inflictClockJump } from './clock-jump.ts';
import { checkpointKillConfig, inflictKillDuringCheckpoint } from './checkpoint-kill.ts';
import { COMMIT_TRAP_IMPORT, commitTrapEnv, killInsideCommit, trapSkip } from './commit-kill.ts';
import { WallClockControl } from './wall-clock-control.ts';
import { until } from '../wait.ts';
import { waitFor } from './wait-for.ts';
import { SHARED_FAULTS } from './faults.ts';
import { runBridgeChaos, type BridgeOptions } from './bridge.ts';
import { fillFor, mountSmallFs, unmountSmallFs, type SmallFs } from './small-fs.ts';
import { holdWriteLock } from './lock-holder.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** The faults a cycle can end with. */
export const FAULTS = [
  ...SHARED_FAULTS,
  'lock-holder',
  'disk-full',
  'graceful-stop',
  'clock-jump',
  'kill-during-checkpoint',
] as const;
export type Fault = (typeof FAULTS)[number];

/** The faults of a run against the bundled service (bundled-service.ts says which are left out). */
export const BUNDLED_FAULTS: readonly Fault[] = FAULTS.filter((f) => !needsStandIn(f));
export type ServiceKind = 'stand-in' | 'bundled';

export interface ChaosOptions {
  readonly seed: number;
  /** Cycles to run; or, with `minutes`, as many as fit (at least one per fault kind). */
  readonly cycles?: number;
  readonly minutes?: number;
  /** New requests per cycle. */
  readonly perCycle?: number;
  readonly faults?: readonly Fault[];
  readonly rates?: FaultRates;
  readonly log?: (line: string) => void;
  /** Keep the run's folder (database, logs) for a look afterwards. */
  readonly keep?: boolean;
  /** direct (default): shoal embedded in a host process; bridge: `shoal start --bridge` between a host process and the service (bridge.ts). */
  readonly mode?: 'direct' | 'bridge';
  readonly bridge?: BridgeOptions;
  /** stand-in (default): the misbehaving stand-in (chaos-service.ts); bundled: dist/backtester/main.js (bundled-service.ts). */
  readonly service?: ServiceKind;
}

export interface ChaosReport {
  readonly seed: number;
  readonly cycles: number;
  readonly kills: number;
  /** SIGKILLs of the service's process (the service-crash fault). */
  readonly serviceKills: number;
  /** Which service ran. */
  readonly service?: ServiceKind;
  /** The faults the cycles ended with, and how often each. */
  readonly faultsRun?: Readonly<Record<string, number>>;
  readonly summary: CheckSummary;
  /** The history of the first violating request, for the report. */
  readonly firstViolation?: string;
  /** Where the aimed faults landed (kills inside a checkpoint, clock steps). */
  readonly aims: Aims;
  /** PRAGMA integrity_check of the database after the recovery. */
  readonly integrity: string;
  readonly dir: string;
}

/** The runtime's settings in the child: short leases and quick retries so a run takes minutes. */
export const LEASE_MS = 1_500;
export const MAX_REPLAYS = 2;
export const DEFAULT_RATES: FaultRates = { hang: 0.04, late: 0.04, twice: 0.05, garbage: 0.03 };

/** xorshift32: the run's only source of randomness, so a seed replays the same schedule. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

export interface HostProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Told every JSON line the host prints (the aimed faults listen for theirs). */
  readonly lines: Set<(msg: Record<string, unknown>) => void>;
  /** The host's stdout has been read to its end. */
  readonly stdoutClosed: Promise<void>;
  readonly started: Promise<void>;
  readonly allEnqueued: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: string;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const bundled = options.service === 'bundled';
  if (options.mode === 'bridge') return runBridgeChaos(options);
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed);
  const faults = options.faults ?? (bundled ? BUNDLED_FAULTS : FAULTS);
  const standInOnly = bundled ? faults.filter(needsStandIn) : [];
  if (standInOnly.length > 0) throw new Error(`${standInOnly.join(', ')} needs the stand-in service's control of answers`);
  const perCycle = options.perCycle ?? 24;
  const deadline = options.minutes === undefined ? undefined : Date.now() + options.minutes * 60_000;
  const cycles = options.cycles ?? (deadline === undefined ? faults.length : Number.POSITIVE_INFINITY);
  const dir = mkdtempSync(path.join(tmpdir(), 'shoal-chaos-'));
  // The disk-full fault needs a file system it can fill: a small tmpfs where the machine lets us mount one.
  const smallFs = mountSmallFs(dir);
  const dbPath = path.join(dir, 'shoal.db');
  writeFileSync(path.join(dir, 'USDJPY_M1.csv'), csv(validLines(200)));
  const requestEndpoint = `tcp://127.0.0.1:${await freePort()}`;
  const resultEndpoint = `tcp://127.0.0.1:${await freePort()}`;
  const history = new History();
  const { service, standIn, poisonAt } = chaosService(options, { request: requestEndpoint, result: resultEndpoint }, history, random, cycles, perCycle, (n) => `C${n}-OOS`);
  const faultsRun: Partial<Record<Fault, number>> = {};
  await service.start();
  const t0 = Date.now();
  const work: WorkItem[] = [];
  let kills = 0;
  const aims = new Aims();
  const clock = new WallClockControl(dir);

  /** The commit trap's file (fixtures/commit-trap.ts), in the cycles of kill-inside-commit. */
  const trapFile = path.join(dir, 'commit-trap.json');
  const spawnHost = (config?: Partial<OosConfigInput>, trapSkipped?: number): HostProcess => {
    const workloadFile = path.join(dir, 'workload.json');
    writeFileSync(workloadFile, JSON.stringify(work));
    const settings = { dbPath, dataDir: dir, requestEndpoint, resultEndpoint, workloadFile, window: 8, leaseMs: LEASE_MS, maxReplays: MAX_REPLAYS, clockOffsetMs: clock.offsetMs, config };
    const trap = trapSkipped !== undefined;
    const child = spawn(process.execPath, [...(trap ? COMMIT_TRAP_IMPORT : ['--import', 'tsx']), path.join(REPO_ROOT, 'tests/chaos/fixtures/host.ts'), JSON.stringify(settings)], {
      cwd: REPO_ROOT,
      stdio: 'pipe',
      env: { ...clock.env(), ...(trap ? commitTrapEnv(trapFile, trapSkipped) : {}) },
    });
    let resolveStarted!: () => void;
    let resolveAll!: () => void;
    const started = new Promise<void>((r) => (resolveStarted = r));
    const allEnqueued = new Promise<void>((r) => (resolveAll = r));
    const lines = createInterface({ input: child.stdout });
    const stdoutClosed = new Promise<void>((r) => lines.once('close', r));
    const host: HostProcess = { child, lines: new Set(), stdoutClosed, started, allEnqueued, exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal }))), stderr: '' };
    child.stderr.on('data', (d: Buffer) => (host.stderr = (host.stderr + d.toString()).slice(-4_000)));
    // A host killed with a step request unread: the write fails, the fault says the step was not confirmed.
    child.stdin.on('error', () => undefined);
    lines.on('line', (line) => {
      let msg: { t?: string; id?: string; status?: string };
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      for (const listener of host.lines) listener(msg);
      if (msg.t === 'started') resolveStarted();
      else if (msg.t === 'all-enqueued') resolveAll();
      else if (msg.t === 'enqueue' && msg.id && (msg.status === 'enqueued' || msg.status === 'exists')) history.accepted(msg.id, Date.now());
    });
    return host;
  };

  const kill = async (host: HostProcess) => {
    host.child.kill('SIGKILL');
    await host.exited;
    kills++;
  };

  try {
    let cycle = 0;
    while (cycle < cycles && (deadline === undefined || Date.now() < deadline || cycle < faults.length)) {
      cycle++;
      for (let i = 0; i < perCycle; i++) {
        const n = work.length;
        const item: WorkItem = { requestId: `chaos-${options.seed}-${n}`, strategy: `C${n}`, traceparent: createTraceparent(), poison: poisonAt(n) };
        work.push(item);
        history.plan(item);
      }
      // Every kind of fault once first (in a seeded order), then any.
      const fault = cycle <= faults.length ? faults[(cycle - 1 + Math.floor(options.seed % faults.length)) % faults.length] : faults[Math.floor(random() * faults.length)];
      const skip = fault === 'kill-inside-commit' ? trapSkip(random) : undefined;
      const host = spawnHost(AIMED_CONFIG[fault], skip);
      const startedAt = Date.now();
      await Promise.race([host.started, host.exited.then((e) => Promise.reject(new Error(`the host exited before starting (${e.code ?? e.signal}): ${host.stderr}`)))]);
      const cycleItems = work.slice(-perCycle);
      const cycleIds = cycleItems.map((w) => w.requestId);
      // Without the stand-in's record of what it received, the outbox's claims stand for the sends.
      const progress = bundled ? storeProgress(dbPath, cycleIds) : undefined;
      const sends = sendCounter(history, cycleIds, progress);
      faultsRun[fault] = (faultsRun[fault] ?? 0) + 1;
      const detail = await inflict(fault, { host, history, service, standIn, sends, done: progress && (() => progress().done), random, dbPath, cycleItems, kill, dir, smallFs, cycle, aims, clock, trap: { file: trapFile, skip: skip ?? 0 } });
      history.fault(cycle, Date.now(), fault, detail);
      const view = readStoreView(dbPath);
      const states = [...view.requests.values()];
      log(
        `cycle ${cycle}${Number.isFinite(cycles) ? `/${cycles}` : ''} ${fault}: ${detail} (${Date.now() - startedAt} ms) | requests ${work.length}, accepted ${[...history.requests.values()].filter((h) => h.acceptedAt !== undefined).length}, done ${states.filter((r) => r.state === 'done').length}, dead ${states.filter((r) => r.state === 'dead').length}, live ${view.live}`,
      );
    }

    // Recovery: the faults stop (a poison request stays poison) and the runtime runs to the end.
    if (standIn) standIn.rates = NO_FAULTS;
    // Letters with replays left when the runtime starts must be replayed by it (after its quiet period).
    const owed = [...readStoreView(dbPath).letters].filter(([, l]) => l.state === 'dead' && l.replayCount < MAX_REPLAYS);
    const host = spawnHost();
    await host.started;
    await host.allEnqueued;
    const unreplayedOf = (view: ReturnType<typeof readStoreView>) => owed.filter(([id, l]) => view.letters.get(id)?.state === 'dead' && view.letters.get(id)?.replayCount === l.replayCount);
    try {
      await until(() => {
        const view = readStoreView(dbPath);
        const allAccepted = work.every((w) => history.requests.get(w.requestId)?.acceptedAt !== undefined);
        return allAccepted && view.live === 0 && view.replaying === 0 && unreplayedOf(view).length === 0;
      }, 'the recovery to settle', 180_000);
    } catch {
      // Not settled: the checker names what is still live or owed a replay.
      const view = readStoreView(dbPath);
      log(`recovery did not settle in 180 s: live ${view.live}, letters replaying ${view.replaying}, letters owed a replay ${unreplayedOf(view).length}`);
    }
    host.child.kill('SIGTERM');
    const exit = await host.exited;
    log(`recovery: all requests settled; the host stopped on SIGTERM (${exit.code ?? exit.signal})`);

    const view = readStoreView(dbPath);
    const unreplayed = unreplayedOf(view).map(([id]) => id);
    const integrity = integrityCheck(dbPath);
    if (integrity !== 'ok') aims.violations.push({ requestId: 'the database', rule: 'integrity', detail: integrity });
    const summary = check({ history: history.requests, store: view.requests, maxReplays: MAX_REPLAYS, unreplayedLetters: unreplayed, faultViolations: aims.violations, audit: readAudit(dbPath), flow: readFlow(dbPath), serviceRecords: !bundled });
    const first = summary.violations[0];
    return {
      seed: options.seed,
      cycles: cycle,
      kills,
      serviceKills: service.kills,
      service: bundled ? 'bundled' : 'stand-in',
      faultsRun,
      summary,
      firstViolation: first ? `${first.rule}: ${first.detail}\n${describeRequest(history.requests.get(first.requestId), view.requests.get(first.requestId), t0)}` : undefined,
      aims,
      integrity,
      dir,
    };
  } finally {
    await service.stop();
    if (!options.keep) unmountSmallFs(smallFs);
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** The share of requests that are poison: every attempt fails. */
const POISON_SHARE = 0.06;

/**
 * The run's service, either mode: the stand-in, or (`service: 'bundled'`) the built backtester;
 * and whether the n-th request is poison. The bundled service's poison requests are its --fail-for
 * strategies (named by `strategyOf`), so they are drawn up front, for the run's cycles (a run by
 * minutes: the first thousand cycles' worth; later ones are healthy), from a stream of
 * their own: the stand-in's schedule for a seed stays as it was, drawn from `random` as it goes.
 */
export function chaosService(
  options: ChaosOptions,
  endpoints: { readonly request: string; readonly result: string },
  history: History,
  random: () => number,
  cycles: number,
  perCycle: number,
  strategyOf: (n: number) => string,
): { service: ServiceProcess; standIn?: ChaosService; poisonAt: (n: number) => boolean } {
  if (options.service !== 'bundled') {
    const standIn = new ChaosService(endpoints.request, endpoints.result, history, random, options.rates ?? DEFAULT_RATES, LEASE_MS * 2);
    return { service: standIn, standIn, poisonAt: () => random() < POISON_SHARE };
  }
  const draw = seededRandom(options.seed ^ 0x5bd1_e995);
  const poisonous = Array.from({ length: (Number.isFinite(cycles) ? cycles : 1_000) * perCycle }, () => draw() < POISON_SHARE);
  const service = new BundledService(endpoints.request, endpoints.result, poisonous.flatMap((p, n) => (p ? [strategyOf(n)] : [])));
  return { service, poisonAt: (n) => poisonous[n] ?? false };
}

export interface FaultContext {
  readonly host: HostProcess;
  readonly history: History;
  readonly service: ServiceProcess;
  /** The stand-in, when it is the service: the faults that script or watch its answers need it. */
  readonly standIn?: ChaosService;
  /** Sends of the cycle's requests so far: the ones the stand-in saw, or the outbox's claims with the bundled service. */
  readonly sends: () => number;
  /** Results of the cycle's requests stored so far, with the bundled service (it says nothing of its answers). */
  readonly done?: () => number;
  readonly random: () => number;
  readonly dbPath: string;
  readonly dir: string;
  readonly cycleItems: readonly WorkItem[];
  readonly kill: (host: HostProcess) => Promise<void>;
  readonly smallFs: SmallFs;
  readonly cycle: number;
  readonly aims: Aims;
  readonly clock: WallClockControl;
  /** The commit trap the host carries in a kill-inside-commit cycle: its file and the write transactions it lets commit once armed. */
  readonly trap: { readonly file: string; readonly skip: number };
}

/** The host's own settings in the cycles of the aimed faults (their modules say why). */
const AIMED_CONFIG: Partial<Record<Fault, Partial<OosConfigInput>>> = { 'clock-jump': clockJumpConfig, 'kill-during-checkpoint': checkpointKillConfig };

async function inflict(fault: Fault, c: FaultContext): Promise<string> {
  const ids = new Set(c.cycleItems.map((w) => w.requestId));
  const count = (pick: (id: string) => number) => [...ids].reduce((n, id) => n + pick(id), 0);
  const k = 1 + Math.floor(c.random() * Math.max(1, c.cycleItems.length - 1));
  switch (fault) {
    case 'kill-after-enqueue': {
      const seen = await waitFor(() => count((id) => (c.history.requests.get(id)?.acceptedAt !== undefined ? 1 : 0)) >= k);
      await c.kill(c.host);
      return `SIGKILL after ${k} accepted${seen ? '' : ' (not reached)'}`;
    }
    case 'kill-after-send': {
      const seen = await waitFor(() => c.sends() >= k);
      await c.kill(c.host);
      return `SIGKILL after ${k} sends${seen ? '' : ' (not reached)'}`;
    }
    case 'kill-after-result': {
      const standIn = c.standIn;
      if (!standIn) return `SIGKILL ${await killAfterStoredResults(k, c.done ?? (() => 0), () => c.kill(c.host))}`;
      // Killed the moment an answer is handed over: it is in flight to a runtime that dies.
      let answered = 0;
      const killed = new Promise<void>((resolve) => {
        standIn.onAnswer = (id, answer) => {
          if (!ids.has(id) || (answer !== 'ok' && answer !== 'twice' && answer !== 'late')) return;
          if (++answered === k) {
            c.host.child.kill('SIGKILL');
            resolve();
          }
        };
      });
      const reached = await Promise.race([killed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 60_000))]);
      standIn.onAnswer = undefined;
      await c.kill(c.host);
      return `SIGKILL right after result ${k} was sent${reached ? '' : ' (not reached)'}`;
    }
    case 'kill-anytime': {
      const ms = Math.floor(c.random() * 2_000);
      await new Promise((r) => setTimeout(r, ms));
      await c.kill(c.host);
      return `SIGKILL ${ms} ms after start`;
    }
    case 'kill-during-replay': {
      // A replay starts once a poison request's letter has been quiet: kill while one is under way.
      const replaying = await waitFor(() => {
        try {
          return readStoreView(c.dbPath).replaying > 0;
        } catch {
          return false;
        }
      }, 20_000);
      await c.kill(c.host);
      return replaying ? 'SIGKILL while a dead letter was being replayed' : 'SIGKILL (no replay under way within 20 s)';
    }
    case 'kill-inside-commit':
      return killInsideCommit({ ...c.trap, sends: c.sends, requests: ids.size, random: c.random, dbPath: c.dbPath, cycle: c.cycle, aims: c.aims, arm: () => c.host.child.kill('SIGUSR2'), kill: () => c.kill(c.host) });
    case 'service-crash': {
      await waitFor(() => c.sends() >= k);
      // Its process SIGKILLed, a new one started at once: the runtime's connections drop.
      await c.service.crash();
      await c.service.start();
      // The requests in flight when it died must come back without a runtime restart.
      const sendsAt = c.sends();
      const resumed = await waitFor(() => c.sends() > sendsAt, 30_000);
      c.host.child.kill('SIGTERM');
      const exit = await c.host.exited;
      return `SIGKILL of the service's process after ${k} sends, restarted; ${resumed ? 'sending resumed' : 'no send within 30 s'}; runtime stopped by SIGTERM (${exitText(exit, c.host)})`;
    }
    case 'lock-holder': {
      const heldMs = await holdWriteLock(c.dbPath, c.random);
      const ms = Math.floor(c.random() * 1_000);
      const at = Date.now() + ms;
      await waitFor(() => Date.now() >= at, ms + 1_000);
      await c.kill(c.host);
      return `a second process held the write lock for ${heldMs} ms, then SIGKILL`;
    }
    case 'disk-full': {
      if (!c.smallFs.mounted) {
        c.host.child.kill('SIGTERM');
        await c.host.exited;
        c.aims.skipped.push(`disk-full in cycle ${c.cycle}: no small file system to fill (${c.smallFs.why})`);
        return `skipped: no small file system to fill here (${c.smallFs.why}); stopped by SIGTERM`;
      }
      await waitFor(() => c.sends() >= Math.min(k, 2), 30_000);
      const sendsAt = c.sends();
      // Full for a while, with requests being enqueued, claimed and answered.
      const bytes = await fillFor(c.smallFs, c.random);
      const resumed = await waitFor(() => c.sends() > sendsAt, 30_000);
      const alive = c.host.child.exitCode === null && c.host.child.signalCode === null;
      await c.kill(c.host);
      return `the file system was full (${Math.round(bytes / 2 ** 20)} MiB of filler) for 2-4 s, then freed; ${alive ? 'the runtime stayed up' : 'the runtime had exited'}${resumed ? ', sending resumed' : ', no send after'}; then SIGKILL`;
    }
    case 'clock-jump':
      return inflictClockJump(c);
    case 'kill-during-checkpoint':
      return inflictKillDuringCheckpoint(c);
    case 'graceful-stop': {
      await waitFor(() => c.sends() >= k, 30_000);
      c.host.child.kill('SIGTERM');
      const exit = await c.host.exited;
      return `SIGTERM after ${k} sends: drained and stopped (${exitText(exit, c.host)})`;
    }
  }
}

function exitText(exit: { code: number | null; signal: NodeJS.Signals | null }, host: HostProcess): string {
  return exit.code === 0 ? 'exit 0' : `exit ${exit.code ?? exit.signal}: ${host.stderr.trim().split('\n').slice(-3).join(' / ')}`;
}
