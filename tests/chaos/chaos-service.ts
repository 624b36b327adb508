/**
 * A stand-in backtest service that misbehaves on purpose, in the driver's process so every fault
 * is chosen from the run's seed and recorded in the history: it answers late (after the lease),
 * twice, with garbage, or not at all (hangs); it fails every attempt of a poison request; and it
 * crashes (its sockets close without lingering, so queued answers are lost and the runtime's
 * connection drops) and comes back. It speaks the host's protocol (protocol/), answering like the
 * bundled echo engine.
 */
import { Push } from 'zeromq';
import { PullChannel } from '../../transport/pull-channel.ts';
import { decodeBacktestRequest, encodeBacktestResult, type BacktestResultInput } from '../../protocol/index.ts';
import { echoEngine, errorResult } from '../../backtester/engines.ts';
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

export class ChaosService {
  private pull?: PullChannel;
  private push?: Push;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** zeromq.js allows one send in progress per socket: answers queue behind each other. */
  private sending: Promise<unknown> = Promise.resolve();
  rates: FaultRates;
  /** Frames the service could not read as a request (nothing shoal sends should land here). */
  unreadable = 0;
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

  async start(): Promise<void> {
    // The product's own bind, which waits out a port a crashed incarnation is still releasing.
    const pull = await PullChannel.bind(this.bind);
    const push = new Push({ linger: 0, sendHighWaterMark: 100_000 });
    push.connect(this.results);
    this.pull = pull;
    this.push = push;
    void this.serve(pull, push);
  }

  /** The process dies: sockets closed at once, answers not yet sent are gone. */
  crash(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pull?.close();
    this.push?.close();
    this.pull = this.push = undefined;
    this.sending = Promise.resolve();
  }

  private async serve(pull: PullChannel, push: Push): Promise<void> {
    for (;;) {
      let frame: Buffer;
      try {
        frame = await pull.receive();
      } catch {
        return; // closed by crash()
      }
      const decoded = decodeBacktestRequest(frame);
      if (!decoded.ok) {
        this.unreadable++;
        continue;
      }
      const req = decoded.value;
      this.history.sent(req.requestId, Date.now(), req.traceparent);
      const seen = this.history.requests.get(req.requestId);
      const poison = seen?.item.poison ?? false;
      const planned = poison ? undefined : this.plan?.(req.requestId, seen?.sends.length ?? 0);
      const answer: ServiceAnswer = poison ? 'error' : (planned?.answer ?? this.pick());
      const result = answer === 'error' ? errorResult(req, POISON_ERROR) : (echoEngine(req) as BacktestResultInput);
      const frameOut = encodeBacktestResult(result);
      const send = (text: string | Buffer, what: ServiceAnswer) => {
        if (this.push !== push) return; // crashed meanwhile: the answer is lost with the process
        const sent = this.sending.then(() => push.send(text));
        this.sending = sent.catch(() => undefined);
        void sent.then(
          () => {
            this.history.answered(req.requestId, Date.now(), what);
            this.onAnswer?.(req.requestId, what);
          },
          () => this.history.answered(req.requestId, Date.now(), 'lost'),
        );
      };
      switch (answer) {
        case 'hang':
          this.history.answered(req.requestId, Date.now(), 'hang');
          break;
        case 'garbage':
          send(Buffer.from([0x28, 0x28, 0xff, 0x00, 0x29]), 'garbage');
          break;
        case 'late':
          this.later(this.lateMs, () => send(frameOut, 'late'));
          break;
        case 'twice':
          send(frameOut, 'twice');
          this.later(5, () => send(frameOut, 'twice'));
          break;
        default:
          this.later(planned?.delayMs ?? Math.floor(this.random() * 20), () => send(frameOut, answer));
      }
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

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}
