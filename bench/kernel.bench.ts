/**
 * Kernel benchmark: shoal's kernel against nact 7.6.2 and against a hand-written FIFO mailbox
 * (the raw limit), all measured in this one run on this machine.
 *
 *   npx tsx bench/kernel.bench.ts
 *
 * Method: every measured case runs once as a warm-up, then 3 times. Throughputs run the three
 * implementations in 3 interleaved rounds (so drift of a shared machine touches all alike) and
 * report the best run of each; crash latencies report the run with the median p99; backlog times
 * report the lowest wall and CPU time of 3 runs per size, except that a run slower than
 * REPEAT_UNDER_MS is not repeated. nact runs fewer messages where it is slow (every throughput is
 * normalised to messages per second), and its crash backlog runs once per size, bounded in time.
 */
import os from 'node:os';
import * as nact from 'nact';
import { type ActorRef, InMemoryDeadLetterSink, dispatch, noBackoff, spawn, start } from '../runtime/index.ts';
import { startSupervisor } from '../supervisors/index.ts';
import { type Goal, figure, percentile, printGoals, ratio } from './lib/report.ts';

const RUNS = 3;
const ONE_ACTOR_MSGS = 2_000_000;
const ONE_ACTOR_MSGS_NACT = 150_000;
const PAIRS = 4;
const BALLS_PER_PAIR = 32; // messages in flight per pair
const HOPS = 8_000; // bounces per ball: 4 * 32 * 8,001 = 1.02 M messages
const HOPS_NACT = 1_500;
const CRASH_SAMPLES = 20_000;
const BACKLOG_SIZES = [5_000, 10_000, 20_000] as const;
const NACT_BACKLOG_SIZES = [5_000, 10_000, 20_000] as const;
/** nact's backlog runs are bounded: past this they are stopped and reported as a lower bound. */
const NACT_BACKLOG_BOUND_MS = 12_000;
/** A backlog run slower than this is not repeated (keeps the whole bench near a minute). */
const REPEAT_UNDER_MS = 2_000;
/**
 * Diagnostic only: a 1 ms restart-intensity period keeps the supervisor's restart history to the
 * restarts of the current millisecond, which isolates the cost of that history (see the ADR).
 */
const SHORT_PERIOD_MS = 1;

const benchStarted = performance.now();

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function section(title: string): void {
  console.log(`\n== ${title}`);
}

// ---- the raw limit: a hand-written FIFO mailbox ---------------------------------------------------

/** One actor's worth of the raw limit: a ring buffer drained up to 100 messages per setImmediate. */
class RawActor<S, M> {
  private items: (M | undefined)[] = new Array(16);
  private head = 0;
  private size = 0;
  private mask = 15;
  private scheduled = false;

  constructor(
    private state: S,
    private readonly receive: (state: S, msg: M) => S,
  ) {}

  push(msg: M): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) & this.mask] = msg;
    this.size++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    for (let n = 0; n < 100 && this.size > 0; n++) {
      const msg = this.items[this.head] as M;
      this.items[this.head] = undefined;
      this.head = (this.head + 1) & this.mask;
      this.size--;
      this.state = this.receive(this.state, msg);
    }
    if (this.size > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  };

  private grow(): void {
    const items = new Array<M | undefined>(this.items.length * 2);
    for (let k = 0; k < this.size; k++) items[k] = this.items[(this.head + k) & this.mask];
    this.items = items;
    this.head = 0;
    this.mask = items.length - 1;
  }
}

// ---- 1. one stateful actor --------------------------------------------------------------------------

/** The handler every implementation runs: increment a counter, signal when the last message is in. */
function counter(total: number, done: () => void): (state: number, msg: number) => number {
  return (state, _msg) => {
    const next = state + 1;
    if (next === total) done();
    return next;
  };
}

async function oneActorOurs(n: number): Promise<number> {
  const system = start({ name: 'bench-one' });
  const d = deferred();
  const ref = spawn(system, counter(n, d.resolve), 'counter', { initialState: 0, mailboxCapacity: n });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) dispatch(ref, i);
  await d.promise;
  const ms = performance.now() - t0;
  await system.stop();
  return (n / ms) * 1000;
}

async function oneActorNact(n: number): Promise<number> {
  const system = nact.start();
  const d = deferred();
  const ref = nact.spawn(system, counter(n, d.resolve), 'counter', { initialState: 0 });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) nact.dispatch(ref, i);
  await d.promise;
  const ms = performance.now() - t0;
  nact.stop(system);
  return (n / ms) * 1000;
}

async function oneActorRaw(n: number): Promise<number> {
  const d = deferred();
  const actor = new RawActor(0, counter(n, d.resolve));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) actor.push(i);
  await d.promise;
  return (n / (performance.now() - t0)) * 1000;
}

// ---- 2. ping-pong pairs -----------------------------------------------------------------------------

/**
 * PAIRS pairs of actors; each pair starts BALLS_PER_PAIR balls, each bounced `hops` times (a ball
 * is a number counting down; each bounce is one message, the handler counts it in its state).
 */
function pingPongTotal(hops: number): number {
  return PAIRS * BALLS_PER_PAIR * (hops + 1);
}

async function pingPongOurs(hops: number): Promise<number> {
  const system = start({ name: 'bench-pingpong' });
  const d = deferred();
  let landed = 0;
  const balls = PAIRS * BALLS_PER_PAIR;
  const starters: ActorRef<number>[] = [];
  for (let p = 0; p < PAIRS; p++) {
    let a!: ActorRef<number>;
    let b!: ActorRef<number>;
    const bounce = (partner: () => ActorRef<number>) => (state: number, ball: number) => {
      if (ball > 0) dispatch(partner(), ball - 1);
      else if (++landed === balls) d.resolve();
      return state + 1;
    };
    a = spawn(system, bounce(() => b), `ping-${p}`, { initialState: 0 });
    b = spawn(system, bounce(() => a), `pong-${p}`, { initialState: 0 });
    starters.push(a);
  }
  const t0 = performance.now();
  for (const a of starters) for (let k = 0; k < BALLS_PER_PAIR; k++) dispatch(a, hops);
  await d.promise;
  const ms = performance.now() - t0;
  await system.stop();
  return (pingPongTotal(hops) / ms) * 1000;
}

async function pingPongNact(hops: number): Promise<number> {
  const system = nact.start();
  const d = deferred();
  let landed = 0;
  const balls = PAIRS * BALLS_PER_PAIR;
  const starters: nact.Ref<number>[] = [];
  for (let p = 0; p < PAIRS; p++) {
    let a!: nact.Ref<number>;
    let b!: nact.Ref<number>;
    const bounce = (partner: () => nact.Ref<number>) => (state: number, ball: number) => {
      if (ball > 0) nact.dispatch(partner(), ball - 1);
      else if (++landed === balls) d.resolve();
      return state + 1;
    };
    a = nact.spawn(system, bounce(() => b), `ping-${p}`, { initialState: 0 });
    b = nact.spawn(system, bounce(() => a), `pong-${p}`, { initialState: 0 });
    starters.push(a);
  }
  const t0 = performance.now();
  for (const a of starters) for (let k = 0; k < BALLS_PER_PAIR; k++) nact.dispatch(a, hops);
  await d.promise;
  const ms = performance.now() - t0;
  nact.stop(system);
  return (pingPongTotal(hops) / ms) * 1000;
}

/**
 * The raw equivalent gives each actor its own setImmediate drain (100 messages at most). With many
 * actors and few messages in flight each, that costs one setImmediate per actor per hop batch,
 * whereas the kernel's scheduler visits every ready actor in one turn; so with several actors
 * the kernel can beat this "raw" baseline, which is the limit for one actor only.
 */
async function pingPongRaw(hops: number): Promise<number> {
  const d = deferred();
  let landed = 0;
  const balls = PAIRS * BALLS_PER_PAIR;
  const starters: RawActor<number, number>[] = [];
  for (let p = 0; p < PAIRS; p++) {
    let a!: RawActor<number, number>;
    let b!: RawActor<number, number>;
    const bounce = (partner: () => RawActor<number, number>) => (state: number, ball: number) => {
      if (ball > 0) partner().push(ball - 1);
      else if (++landed === balls) d.resolve();
      return state + 1;
    };
    a = new RawActor(0, bounce(() => b));
    b = new RawActor(0, bounce(() => a));
    starters.push(a);
  }
  const t0 = performance.now();
  for (const a of starters) for (let k = 0; k < BALLS_PER_PAIR; k++) a.push(hops);
  await d.promise;
  return (pingPongTotal(hops) / (performance.now() - t0)) * 1000;
}

// ---- 3. crash -> restart -> next message latency ----------------------------------------------------

type CrashMsg = { kind: 'crash'; id: number } | { kind: 'mark' };

/** Supervision flags for every crash measurement: restart at once, never give up within the run. */
const crashFlags = { strategy: 'one_for_one', intensity: 1_000_000_000, backoff: noBackoff } as const;

/**
 * One worker under a supervisor with `crashFlags` (and `periodMs` when given); returns its ref.
 * Every (re)start gets a fresh handler from `makeReceive`, as a child spec written inline would.
 */
async function crashingWorker<M>(
  system: ReturnType<typeof start>,
  name: string,
  makeReceive: () => (state: number, msg: M) => number,
  periodMs: number | undefined,
  mailboxCapacity?: number,
) {
  const sup = await startSupervisor(
    system,
    {
      ...crashFlags,
      ...(periodMs === undefined ? {} : { periodMs }),
      children: [{ id: 'worker', start: () => ({ initialState: 0, receive: makeReceive(), options: { maxMessageRetries: 1_000_000_000, mailboxCapacity } }) }],
    },
    name,
  );
  return sup.childRef<M>('worker')!;
}

/**
 * One sample: dispatch a message that throws on its first attempt (time taken just before the
 * throw), then a 'mark' message (time taken when it is handled). The interval covers the crash
 * report, the supervisor's decision, the restart (init), the retry of the crashing message and the
 * mark. Samples run one after another, so nothing else is queued.
 */
async function crashLatencyOurs(samples: number, periodMs?: number): Promise<number[]> {
  const system = start({ name: 'bench-crash', deadLetterSink: new InMemoryDeadLetterSink(100) });
  const crashed = new Set<number>();
  const latencies: number[] = [];
  let thrownAt = 0n;
  let marked: () => void = () => undefined;
  const ref = await crashingWorker<CrashMsg>(
    system,
    'crash-latency',
    () => (state, msg) => {
      if (msg.kind === 'crash') {
        if (!crashed.has(msg.id)) {
          crashed.add(msg.id);
          thrownAt = process.hrtime.bigint();
          throw new Error(`crash ${msg.id}`);
        }
        return state;
      }
      latencies.push(Number(process.hrtime.bigint() - thrownAt) / 1000);
      marked();
      return state + 1;
    },
    periodMs,
  );
  for (let i = 0; i < samples; i++) {
    const d = deferred();
    marked = d.resolve;
    dispatch(ref, { kind: 'crash', id: i });
    dispatch(ref, { kind: 'mark' });
    await d.promise;
  }
  await system.stop();
  return latencies;
}

/** The same sample on nact with `onCrash: resume` (nact drops the crashing message and goes on with the next). */
async function crashLatencyNact(samples: number): Promise<number[]> {
  const system = nact.start();
  const latencies: number[] = [];
  let thrownAt = 0n;
  let marked: () => void = () => undefined;
  const ref = nact.spawn(
    system,
    (state: number, msg: CrashMsg) => {
      if (msg.kind === 'crash') {
        thrownAt = process.hrtime.bigint();
        throw new Error(`crash ${msg.id}`);
      }
      latencies.push(Number(process.hrtime.bigint() - thrownAt) / 1000);
      marked();
      return state + 1;
    },
    'crash-latency',
    { initialState: 0, onCrash: (_msg, _err, ctx) => ctx.resume },
  );
  for (let i = 0; i < samples; i++) {
    const d = deferred();
    marked = d.resolve;
    nact.dispatch(ref, { kind: 'crash', id: i });
    nact.dispatch(ref, { kind: 'mark' });
    await d.promise;
  }
  nact.stop(system);
  return latencies;
}

interface LatencyRun {
  p50: number;
  p99: number;
  max: number;
}

function summarise(latencies: number[]): LatencyRun {
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100) };
}

/** Runs 3 times after a warm-up and keeps the run whose p99 is the median. */
async function medianRun(run: () => Promise<number[]>, warmup: () => Promise<number[]>): Promise<LatencyRun> {
  await warmup();
  const runs: LatencyRun[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(summarise(await run()));
  runs.sort((x, y) => x.p99 - y.p99);
  return runs[Math.floor(runs.length / 2)];
}

// ---- 4. a backlog of messages that each crash once --------------------------------------------------

/**
 * `n` messages are queued at once; each throws on its first attempt (tracked by a Set) and succeeds
 * when retried. Ours: one crash, one restart and one retry per message, under the same supervisor
 * flags as above. Returns the wall time until the last message is handled, and the CPU time
 * (user + system) this process spent meanwhile: the run is CPU-bound, so on an idle machine the
 * two agree, and when other processes share the CPUs the CPU time is the steadier figure.
 */
async function backlogOurs(n: number, periodMs?: number): Promise<Timing> {
  const system = start({ name: 'bench-backlog', deadLetterSink: new InMemoryDeadLetterSink(100) });
  const crashed = new Set<number>();
  const d = deferred();
  let handled = 0;
  const ref = await crashingWorker<number>(
    system,
    'crash-backlog',
    () => (state, msg) => {
      if (!crashed.has(msg)) {
        crashed.add(msg);
        throw new Error(`crash ${msg}`);
      }
      if (++handled === n) d.resolve();
      return state + 1;
    },
    periodMs,
    n,
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) dispatch(ref, i);
  await d.promise;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (handled !== n || crashed.size !== n) throw new Error(`backlog ${n}: handled ${handled}, crashed ${crashed.size}`);
  await system.stop();
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

interface Timing {
  ms: number;
  cpuMs: number;
}

interface NactBacklog {
  ms: number;
  faults: number;
  handled: number;
  bounded: boolean;
}

/**
 * The same backlog on nact with `onCrash: resume`, the policy that keeps processing the rest.
 * nact never retries, so every message is lost after its one crash (handled stays 0). Each fault
 * builds a supervision context holding a copy of the whole mailbox (lib/actor.js, handleFault ->
 * createSupervisionContext -> createContextWithMailbox -> this.mailbox.toArray()), so the run is
 * quadratic in the backlog. Runs past `boundMs` are stopped and reported as a lower bound.
 */
async function backlogNact(n: number, boundMs: number): Promise<NactBacklog> {
  const system = nact.start();
  const crashed = new Set<number>();
  const d = deferred();
  let faults = 0;
  let handled = 0;
  const ref = nact.spawn(
    system,
    (state: number, msg: number) => {
      if (!crashed.has(msg)) {
        crashed.add(msg);
        throw new Error(`crash ${msg}`);
      }
      handled++;
      return state + 1;
    },
    'crash-backlog',
    {
      initialState: 0,
      onCrash: (_msg, _err, ctx) => {
        if (++faults === n) d.resolve();
        return ctx.resume;
      },
    },
  );
  let bounded = false;
  const guard = setTimeout(() => {
    bounded = true;
    d.resolve();
  }, boundMs);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) nact.dispatch(ref, i);
  await d.promise;
  const ms = performance.now() - t0;
  clearTimeout(guard);
  nact.stop(system);
  await turn();
  return { ms, faults, handled, bounded };
}

// ---- run -----------------------------------------------------------------------------------------

/**
 * Warms up every case, then runs RUNS rounds, each running every case once, in turn, so that
 * drift of a shared machine touches all cases alike. Returns the best (highest) result per case.
 */
async function bestOfInterleaved<K extends string>(cases: Record<K, () => Promise<number>>): Promise<Record<K, number>> {
  const keys = Object.keys(cases) as K[];
  const best = {} as Record<K, number>;
  for (const k of keys) {
    await cases[k]();
    best[k] = 0;
  }
  for (let round = 0; round < RUNS; round++) {
    for (const k of keys) {
      best[k] = Math.max(best[k], await cases[k]());
    }
  }
  return best;
}

/** Lowest wall and CPU time of up to RUNS runs (the caller warms up once); a run slower than REPEAT_UNDER_MS is not repeated. */
async function minOf(run: () => Promise<Timing>): Promise<Timing & { runs: number }> {
  let ms = Infinity;
  let cpuMs = Infinity;
  let runs = 0;
  while (runs < RUNS) {
    const t = await run();
    ms = Math.min(ms, t.ms);
    cpuMs = Math.min(cpuMs, t.cpuMs);
    runs++;
    if (t.ms > REPEAT_UNDER_MS) break;
  }
  return { ms, cpuMs, runs };
}

console.log(`shoal kernel bench — ${new Date().toISOString()} — Node ${process.version}, ${process.platform}/${process.arch}, ${os.availableParallelism()} CPUs, load average ${os.loadavg()[0].toFixed(2)}`);
console.log(`throughput: best of 3 interleaved rounds after a warm-up; latency: run with the median p99 of 3 after a warm-up; backlog: best of 3 after a warm-up (runs over ${REPEAT_UNDER_MS} ms not repeated)`);

section(`one stateful actor, counter increment (ours/raw ${ONE_ACTOR_MSGS.toLocaleString('en-US')} msgs, nact ${ONE_ACTOR_MSGS_NACT.toLocaleString('en-US')})`);
const one = await bestOfInterleaved({
  ours: () => oneActorOurs(ONE_ACTOR_MSGS),
  nact: () => oneActorNact(ONE_ACTOR_MSGS_NACT),
  raw: () => oneActorRaw(ONE_ACTOR_MSGS),
});
const [oneOurs, oneNact, oneRaw] = [one.ours, one.nact, one.raw];
figure('ours: messages/s', oneOurs, 'msg/s');
figure('nact 7.6.2: messages/s', oneNact, 'msg/s');
figure('raw FIFO mailbox (100 per setImmediate): messages/s', oneRaw, 'msg/s');
const oneVsNact = ratio('ours / nact', oneOurs, oneNact);
const oneVsRaw = ratio('ours / raw', oneOurs, oneRaw);

section(`ping-pong, ${PAIRS} pairs x ${BALLS_PER_PAIR} balls in flight (ours/raw ${pingPongTotal(HOPS).toLocaleString('en-US')} msgs, nact ${pingPongTotal(HOPS_NACT).toLocaleString('en-US')})`);
const pp = await bestOfInterleaved({
  ours: () => pingPongOurs(HOPS),
  nact: () => pingPongNact(HOPS_NACT),
  raw: () => pingPongRaw(HOPS),
});
const [ppOurs, ppNact, ppRaw] = [pp.ours, pp.nact, pp.raw];
figure('ours: messages/s', ppOurs, 'msg/s');
figure('nact 7.6.2: messages/s', ppNact, 'msg/s');
figure('raw FIFO mailboxes, one setImmediate per actor: messages/s', ppRaw, 'msg/s');
ratio('ours / nact', ppOurs, ppNact);
ratio('ours / raw', ppOurs, ppRaw);

section(`crash -> restart -> next message, ${CRASH_SAMPLES.toLocaleString('en-US')} samples one at a time (one_for_one, noBackoff)`);
const latOurs = await medianRun(
  () => crashLatencyOurs(CRASH_SAMPLES),
  () => crashLatencyOurs(2_000),
);
figure('ours: p50', latOurs.p50, 'µs', 1);
figure('ours: p99', latOurs.p99, 'µs', 1);
figure('ours: max', latOurs.max, 'µs', 1);
{
  const diag = summarise(await crashLatencyOurs(CRASH_SAMPLES, SHORT_PERIOD_MS));
  figure(`diagnostic, periodMs=${SHORT_PERIOD_MS} (one run): p50`, diag.p50, 'µs', 1);
  figure(`diagnostic, periodMs=${SHORT_PERIOD_MS} (one run): p99`, diag.p99, 'µs', 1);
}
const latNact = await medianRun(
  () => crashLatencyNact(CRASH_SAMPLES),
  () => crashLatencyNact(2_000),
);
figure('nact (onCrash: resume, crashing message dropped): p50', latNact.p50, 'µs', 1);
figure('nact (onCrash: resume, crashing message dropped): p99', latNact.p99, 'µs', 1);

section('a backlog of N queued messages, each crashing once then succeeding on retry');
const backlog = new Map<number, Timing>();
await backlogOurs(2_000); // warm-up
for (const n of BACKLOG_SIZES) {
  const t = await minOf(() => backlogOurs(n));
  backlog.set(n, t);
  const label = `ours: N=${n.toLocaleString('en-US')}`;
  figure(`${label} total wall (best of ${t.runs})`, t.ms, 'ms', 1);
  figure(`${label} per crash, wall (crash+restart+retry)`, (t.ms * 1000) / n, 'µs', 2);
  figure(`${label} per crash, CPU`, (t.cpuMs * 1000) / n, 'µs', 2);
}
const b5 = backlog.get(5_000)!;
const b20 = backlog.get(20_000)!;
const linearWall = b20.ms / 20_000 / (b5.ms / 5_000);
const linear = b20.cpuMs / 20_000 / (b5.cpuMs / 5_000);
figure('ours: per-crash ratio N=20k / N=5k, wall', linearWall, 'x', 2);
figure('ours: per-crash ratio N=20k / N=5k, CPU', linear, 'x', 2);
{
  const short5 = await backlogOurs(5_000, SHORT_PERIOD_MS);
  const short20 = await backlogOurs(20_000, SHORT_PERIOD_MS);
  figure(`diagnostic, periodMs=${SHORT_PERIOD_MS}: N=5,000 per crash, CPU`, (short5.cpuMs * 1000) / 5_000, 'µs', 2);
  figure(`diagnostic, periodMs=${SHORT_PERIOD_MS}: N=20,000 per crash, CPU`, (short20.cpuMs * 1000) / 20_000, 'µs', 2);
  figure(`diagnostic, periodMs=${SHORT_PERIOD_MS}: per-crash ratio N=20k / N=5k, CPU`, short20.cpuMs / 20_000 / (short5.cpuMs / 5_000), 'x', 2);
}

const nactBacklog = new Map<number, NactBacklog>();
for (const n of NACT_BACKLOG_SIZES) {
  // One run each (after a small warm-up): nact's runs take seconds and grow quadratically.
  if (n === NACT_BACKLOG_SIZES[0]) await backlogNact(1_000, NACT_BACKLOG_BOUND_MS);
  const r = await backlogNact(n, NACT_BACKLOG_BOUND_MS);
  nactBacklog.set(n, r);
  const label = `nact (resume): N=${n.toLocaleString('en-US')}`;
  if (r.bounded) {
    figure(`${label} total (STOPPED at bound, ${r.faults.toLocaleString('en-US')} faults)`, r.ms, 'ms', 1);
  } else {
    figure(`${label} total`, r.ms, 'ms', 1);
    figure(`${label} per crash`, (r.ms * 1000) / n, 'µs', 2);
  }
  figure(`${label} messages handled after their crash (lost: N - this)`, r.handled, 'msgs');
}
const n5 = nactBacklog.get(5_000)!;
const n20 = nactBacklog.get(20_000)!;
if (!n5.bounded && !n20.bounded) figure('nact: per-crash time ratio N=20k / N=5k', n20.ms / 20_000 / (n5.ms / 5_000), 'x', 2);
figure(`ours vs nact at N=20k (nact wall time / ours wall time${n20.bounded ? ', nact stopped early: a lower bound' : ''})`, n20.ms / b20.ms, 'x', 1);

section('done');
figure('whole bench wall time', (performance.now() - benchStarted) / 1000, 's', 1);
figure('load average (1 min) at the end', os.loadavg()[0], '', 2);

const goals: Goal[] = [
  { name: 'kernel_vs_nact', measured: oneVsNact, unit: 'x', target: '>= 10 x', pass: oneVsNact >= 10 },
  { name: 'kernel_vs_raw', measured: oneVsRaw, unit: 'x', target: '>= 0.3 x', pass: oneVsRaw >= 0.3 },
  { name: 'crash_restart_p99', measured: latOurs.p99, unit: 'µs', target: '< 50', pass: latOurs.p99 < 50, digits: 1 },
  // Linearity bar: if each crash costs a constant amount, per-crash time is flat and the ratio is
  // 1; if each crash cost grew with the backlog (a copy of the queue, as in nact), a 4x larger
  // backlog would make the per-crash time ~4x (quadratic total). 2 sits between the two with room
  // for noise, cache and GC effects of a 4x larger heap, so passing it rules out O(backlog) work
  // per crash while tolerating measurement noise.
  // Measured on CPU time (wall time is printed above) because other processes may share the 2 vCPUs.
  { name: 'crash_backlog_linear', measured: linear, unit: 'x', target: '<= 2 x', pass: linear <= 2 },
];
console.log('');
printGoals(goals);
