/**
 * A stand-in backtest service that misbehaves on purpose: it answers late (after the lease),
 * twice, with garbage, or not at all (hangs); it fails every attempt of a poison request; and it
 * crashes: its process is SIGKILLed and a new one started on the same endpoints. It speaks the
 * host's protocol (protocol/), answering like the bundled echo engine.
 *
 * Two halves. The sockets live in a process of their own (fixtures/chaos-service.ts), so that a
 * crash is a real SIGKILL of a process, as when the host's service dies. This class, in the
 * driver's process, starts and kills that process, chooses every answer from the run's seed and
 * keeps the history: the service process tells it of each request it takes off its socket, asks
 * it what to answer, and before it hands each answer frame to its socket waits until the driver
 * has recorded that answer (IPC can lose a message sent just before a SIGKILL: never a record of
 * a frame that reached shoal). A SIGKILL can still lose the record of a request the process took
 * off its socket and had not yet reported; the checkers tolerate a send the history misses (they
 * judge only sends the service saw against the outbox's count), and such a request was never
 * answered by that process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { History, ServiceAnswer } from './history.ts';

export interface FaultRates {
  readonly hang: number;
  readonly late: number;
  readonly twice: number;
  readonly garbage: number;
}

export const NO_FAULTS: FaultRates = { hang: 0, late: 0, twice: 0, garbage: 0 };

export interface PlannedAnswer {
  readonly answer: 'ok' | 'error';
  readonly delayMs: number;
}

export const POISON_ERROR = 'Guardian process failure';

/** One frame the service process sends for a request: after how long (from the request), what it is recorded as, and what it carries. */
export interface PlannedSend {
  readonly afterMs: number;
  readonly what: ServiceAnswer;
  readonly body: 'result' | 'error' | 'garbage';
}

/** From the service process to the driver (fixtures/chaos-service.ts). */
export type ServiceMessage =
  | { t: 'ready' }
  | { t: 'unreadable' }
  | { t: 'request'; seq: number; id: string; traceparent?: string; at: number }
  | { t: 'sending'; n: number; id: string; what: ServiceAnswer }
  | { t: 'sent'; id: string; what: ServiceAnswer }
  | { t: 'lost'; id: string };

/** From the driver to the service process. */
export type DriverMessage = { t: 'answer'; seq: number; sends: readonly PlannedSend[] } | { t: 'ack'; n: number };

const SERVICE = path.join(import.meta.dirname, 'fixtures/chaos-service.ts');
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export class ChaosService {
  private child?: ChildProcess;
  rates: FaultRates;
  /** Frames the service could not read as a request (nothing shoal sends should land here). */
  unreadable = 0;
  /** SIGKILLs of the service's process by crash(). */
  kills = 0;
  /** Told after every answer is handed to the socket (the driver kills at chosen points). */
  onAnswer?: (requestId: string, answer: ServiceAnswer) => void;
  /**
   * A fault's own script for some requests (send number from 1): what to answer and after how
   * long, instead of a draw from `rates`. Poison requests stay poison.
   */
  plan?: (requestId: string, send: number) => PlannedAnswer | undefined;

  constructor(
    private readonly bind: string,
    private readonly results: string,
    private readonly history: History,
    private readonly random: () => number,
    rates: FaultRates,
    /** How late a late answer is: past the runtime's lease, so the request was sent again. */
    private readonly lateMs: number,
  ) {
    this.rates = rates;
  }

  /** Starts the service's process and resolves once it is bound (it waits out a port a killed incarnation is still releasing). */
  async start(): Promise<void> {
    const child = fork(SERVICE, [JSON.stringify({ bind: this.bind, results: this.results })], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => reject(new Error(`the stand-in service exited before it was bound (${code ?? signal}): ${stderr}`));
      child.once('exit', onExit);
      child.on('message', (m: ServiceMessage) => {
        if (m.t === 'ready') {
          child.off('exit', onExit);
          resolve();
        } else this.receive(child, m);
      });
    });
  }

  /** The service process's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The process dies: SIGKILL, answers not yet sent are gone, the runtime's connections drop. */
  async crash(): Promise<void> {
    if (await this.stop()) this.kills++;
  }

  /** SIGKILLs the service's process if it runs, and waits until it has exited; whether it ran. */
  async stop(): Promise<boolean> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return false;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    return true;
  }

  private receive(child: ChildProcess, m: ServiceMessage): void {
    const tell = (d: DriverMessage) => {
      // A message of a killed incarnation read after its death: nobody to answer.
      if (child === this.child && child.connected) child.send(d);
    };
    switch (m.t) {
      case 'unreadable':
        this.unreadable++;
        return;
      case 'request':
        tell({ t: 'answer', seq: m.seq, sends: this.decide(m.id, m.at, m.traceparent) });
        return;
      case 'sending':
        // Recorded before the frame can leave: then the process may hand it to its socket.
        this.history.answered(m.id, Date.now(), m.what);
        tell({ t: 'ack', n: m.n });
        return;
      case 'sent':
        this.onAnswer?.(m.id, m.what);
        return;
      case 'lost':
        this.history.answered(m.id, Date.now(), 'lost');
        return;
    }
  }

  /** Records the request as sent to the service and chooses what the service does with it. */
  private decide(requestId: string, at: number, traceparent: string | undefined): PlannedSend[] {
    this.history.sent(requestId, at, traceparent);
    const seen = this.history.requests.get(requestId);
    const poison = seen?.item.poison ?? false;
    const planned = poison ? undefined : this.plan?.(requestId, seen?.sends.length ?? 0);
    const answer: ServiceAnswer = poison ? 'error' : (planned?.answer ?? this.pick());
    switch (answer) {
      case 'hang':
        this.history.answered(requestId, Date.now(), 'hang');
        return [];
      case 'garbage':
        return [{ afterMs: 0, what: 'garbage', body: 'garbage' }];
      case 'late':
        return [{ afterMs: this.lateMs, what: 'late', body: 'result' }];
      case 'twice':
        return [
          { afterMs: 0, what: 'twice', body: 'result' },
          { afterMs: 5, what: 'twice', body: 'result' },
        ];
      default:
        return [{ afterMs: planned?.delayMs ?? Math.floor(this.random() * 20), what: answer, body: answer === 'error' ? 'error' : 'result' }];
    }
  }

  private pick(): ServiceAnswer {
    let x = this.random();
    for (const [name, rate] of Object.entries(this.rates) as [keyof FaultRates, number][]) {
      if (x < rate) return name;
      x -= rate;
    }
    return 'ok';
  }
}
