/**
 * The bundled backtest service (`shoal-backtester`, the built dist/backtester/main.js) as the
 * chaos driver's service (`--service bundled`): a real child process on the run's endpoints,
 * answering with its echo engine, which the service-crash fault SIGKILLs and starts again on the
 * same endpoints. Unlike the stand-in (chaos-service.ts) it neither misbehaves on purpose nor tells
 * the driver what it received and answered: the checker then judges from the driver's own history
 * and the store only. Poison requests are its `--fail-for` strategies, fixed when the run starts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { until } from '../wait.ts';
import { POISON_ERROR } from './chaos-service.ts';
import { waitFor } from './wait-for.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const BACKTESTER_MAIN = path.join(REPO_ROOT, 'dist/backtester/main.js');
/** Each answer takes this long, so that requests are in the service's hands when a SIGKILL comes (the echo engine alone answers at once). */
const ANSWER_DELAY_MS = 150;

/**
 * The faults that need the stand-in's control of answers, in either mode: the clock step holds
 * and scripts the answers of its requests. A run against the bundled service leaves them out (and
 * the stand-in's late, duplicate, garbage and missing answers: it answers each request once).
 */
export const STAND_IN_ONLY_FAULTS = ['clock-jump'] as const;
export const needsStandIn = (fault: string) => (STAND_IN_ONLY_FAULTS as readonly string[]).includes(fault);

/**
 * The kill-after-result point with the bundled service, which tells nothing of its answers: the
 * runtime is SIGKILLed once `k` of the cycle's results are stored, with others on their way.
 */
export async function killAfterStoredResults(k: number, done: () => number, kill: () => Promise<void>): Promise<string> {
  const reached = await waitFor(() => done() >= k);
  await kill();
  return `right after result ${k} was stored${reached ? '' : ' (not reached)'}`;
}

/** What the driver needs of either service: a process it can start, SIGKILL and stop. */
export interface ServiceProcess {
  /** SIGKILLs of the service's process by crash(). */
  readonly kills: number;
  readonly pid: number | undefined;
  start(): Promise<void>;
  crash(): Promise<void>;
  stop(): Promise<boolean>;
}

export class BundledService implements ServiceProcess {
  private child?: ChildProcessWithoutNullStreams;
  kills = 0;

  constructor(
    private readonly bind: string,
    private readonly results: string,
    /** Strategy names (as sent, `<name>-OOS`) the service answers with an error every time. */
    private readonly poison: readonly string[],
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and resolves once it says it listens; a bind refused while a killed incarnation's port is being released is tried again. */
  async start(): Promise<void> {
    if (!existsSync(BACKTESTER_MAIN)) throw new Error(`${BACKTESTER_MAIN} is missing: npm run build first`);
    await until(async () => {
      const outcome = await this.spawnOnce();
      if (outcome !== 'listening' && !outcome.includes('cannot bind')) throw new Error(`the bundled backtester exited before listening: ${outcome}`);
      return outcome === 'listening';
    }, `the bundled backtester to bind ${this.bind}`, 60_000);
  }

  private spawnOnce(): Promise<string> {
    const args = [BACKTESTER_MAIN, '--engine', 'echo', '--bind', this.bind, '--results', this.results, '--concurrency', '4', '--delay-ms', String(ANSWER_DELAY_MS), ...this.poison.flatMap((name) => ['--fail-for', `${name}=${POISON_ERROR}`])];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
    return new Promise((resolve) => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => resolve(`exit ${code ?? signal}: ${stderr.trim()}`);
      child.once('exit', onExit);
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!line.startsWith('backtester listening on')) return;
        child.off('exit', onExit);
        this.child = child;
        resolve('listening');
      });
    });
  }

  /** SIGKILL of the running process (answers under way are gone, the runtime's connections drop), counted once it has exited on it. */
  async crash(): Promise<void> {
    const exit = await this.kill();
    if (exit?.signal === 'SIGKILL') this.kills++;
  }

  async stop(): Promise<boolean> {
    return (await this.kill()) !== undefined;
  }

  private async kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return undefined;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    child.kill('SIGKILL');
    return exited;
  }
}
