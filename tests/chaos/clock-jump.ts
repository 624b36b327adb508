/**
 * The clock-jump fault: the host's wall clock steps forward or back by up to an hour while a
 * request waits out its retry backoff and another waits for its result within its lease; the
 * step stays across the restart that ends the cycle. The service answers this cycle's requests
 * on a script, so that every answer comes well within the lease: the first attempt fails at once
 * (a retry is scheduled), the next is answered after ANSWER_DELAY_MS. A timeout is then spurious
 * (the step expired a lease), and a request not done or dead within SETTLE_MS is stuck (the step
 * held a retry or a lease). See docs/adr/0014. Shared by the direct mode (the host embeds the
 * runtime) and the bridge mode (`shoal start` under libfaketime).
 */
import type { OosConfigInput } from '../../app/config.ts';
import type { Violation } from './checker.ts';
import type { FaultContext, HostProcess } from './run.ts';
import type { ClockAnswer, WallClockControl } from './wall-clock-control.ts';
import type { Aims } from './aims.ts';
import type { ChaosService } from './chaos-service.ts';
import type { History } from './history.ts';
import { readAttempts, readStoreView } from './store-view.ts';
import { waitFor } from './wait-for.ts';

/** The host's settings in this cycle: a lease far longer than an answer takes, and a backoff long enough to step the clock inside it. */
const LEASE_MS = 8_000;
const BACKOFF_MS = 1_500;
const ANSWER_DELAY_MS = 2_000;
/** How long the cycle's requests get to end after the step: a few rounds of backoff and answer, with room for a loaded machine. */
const SETTLE_MS = 60_000;

export const clockJumpConfig: Partial<OosConfigInput> = {
  leaseMs: LEASE_MS,
  retry: { maxAttempts: 3, backoff: { minMs: BACKOFF_MS, maxMs: BACKOFF_MS, factor: 1, jitter: 0, resetAfterMs: 0, firstImmediate: false } },
};

/** One request of the cycle after it: its state and the outcome of each finished attempt. */
export interface JumpedRequest {
  readonly requestId: string;
  readonly state: string;
  readonly outcomes: readonly string[];
  /** Every answer it got came from the script (not a draw made before the script was in place). */
  readonly scripted: boolean;
}

/** The states a request may end in (bridge mode adds superseded: the host asked again under a new id). */
const ENDED = ['done', 'dead'];

/** Every scripted answer came within the lease, so any timeout is the step's doing; anything not ended is stuck. */
export function judgeClockJump(requests: readonly JumpedRequest[], settleMs: number, ended: readonly string[] = ENDED): Violation[] {
  const violations: Violation[] = [];
  for (const r of requests) {
    const timeouts = r.scripted ? r.outcomes.filter((o) => o === 'timeout').length : 0;
    if (timeouts > 0) violations.push({ requestId: r.requestId, rule: 'spurious-timeout', detail: `${timeouts} attempt(s) timed out after a clock jump although every answer came within the lease` });
    if (!ended.includes(r.state)) violations.push({ requestId: r.requestId, rule: 'stuck', detail: `still ${r.state} ${settleMs / 1_000} s after a clock jump` });
  }
  return violations;
}

/** What the fault needs of a runtime, whichever process holds it. */
export interface ClockJumpTarget {
  /** All the cycle's request ids (the service's script covers them). */
  readonly all: readonly string[];
  /** The ones the runtime must have stored and ended (read again as the cycle goes on). */
  readonly judged: () => readonly string[];
  readonly ended?: readonly string[];
  readonly service: ChaosService;
  readonly history: History;
  readonly dbPath: string;
  readonly random: () => number;
  readonly aims: Aims;
  readonly clock: WallClockControl;
  /** Makes the runtime's wall clock `offsetMs` off and waits until it shows (undefined if it never does). */
  readonly step: (offsetMs: number) => Promise<ClockAnswer | undefined>;
  readonly kill: () => Promise<void>;
}

/** The direct mode's host: it embeds the runtime and answers a step on its stdout. */
export function inflictClockJump(c: FaultContext): Promise<string> {
  const ids = c.cycleItems.map((w) => w.requestId);
  if (!c.standIn) throw new Error('the clock-jump fault scripts the stand-in service\'s answers');
  return jumpClock({ all: ids, judged: () => ids, service: c.standIn, history: c.history, dbPath: c.dbPath, random: c.random, aims: c.aims, clock: c.clock, step: (offsetMs) => stepHostClock(c.host, offsetMs), kill: () => c.kill(c.host) });
}

export async function jumpClock(c: ClockJumpTarget): Promise<string> {
  const ids = c.all;
  const ended = c.ended ?? ENDED;
  const mine = new Set(ids);
  c.service.plan = (id, send) => (mine.has(id) ? (send <= 1 ? { answer: 'error', delayMs: 0 } : { answer: 'ok', delayMs: ANSWER_DELAY_MS }) : undefined);
  try {
    // Aim: a request waiting out its backoff (pending after a failed attempt) and one waiting for its answer.
    const waitingForAnswer = () => ids.some((id) => {
      const h = c.history.requests.get(id);
      return h !== undefined && h.sends.length >= 2 && h.answers.length < h.sends.length;
    });
    const inBackoff = () => {
      try {
        const view = readStoreView(c.dbPath);
        return ids.some((id) => {
          const r = view.requests.get(id);
          return r !== undefined && r.state === 'pending' && r.sends >= 1;
        });
      } catch {
        return false;
      }
    };
    const aimed = await waitFor(() => waitingForAnswer() && inBackoff(), 30_000);
    const minutes = 5 + Math.floor(c.random() * 56);
    const direction = c.random() < 0.5 ? -1 : 1;
    const before = c.clock.offsetMs;
    // Within an hour of the real time: a step that would leave it goes the other way.
    const ahead = before + direction * minutes * 60_000;
    const after = c.clock.step(Math.abs(ahead) <= 3_600_000 ? ahead : before - direction * minutes * 60_000);
    const answer = await c.step(after);
    c.aims.clockJumps++;
    c.aims.clockVia = c.clock.via;
    const settled = await waitFor(() => {
      try {
        const view = readStoreView(c.dbPath);
        return c.judged().every((id) => ended.includes(view.requests.get(id)?.state ?? ''));
      } catch {
        return false;
      }
    }, SETTLE_MS);
    const judged = c.judged();
    const rows = readAttempts(c.dbPath, judged);
    const found = judgeClockJump(
      judged.flatMap((id) => {
        const r = rows.get(id);
        const answers = c.history.requests.get(id)?.answers ?? [];
        return r ? [{ requestId: id, ...r, scripted: answers.every((a) => a.answer === 'ok' || a.answer === 'error') }] : [];
      }),
      SETTLE_MS,
      ended,
    );
    const spurious = found.filter((v) => v.rule === 'spurious-timeout').length;
    const stuck = found.filter((v) => v.rule === 'stuck').length;
    c.aims.spuriousTimeouts += spurious;
    c.aims.stuck += stuck;
    c.aims.violations.push(...found);
    await c.kill();
    const step = after - before;
    return (
      `wall clock stepped ${step >= 0 ? 'forward' : 'back'} ${Math.abs(step / 60_000).toFixed(0)} min (now ${after >= 0 ? '+' : ''}${after / 60_000} min, via ${answer ? answer.via : c.clock.via}${answer ? '' : ', not confirmed by the host'})` +
      `${aimed ? ' with a retry in backoff and an answer awaited' : ' (no retry in backoff with an answer awaited within 30 s)'}; ` +
      `${settled ? 'all ended' : `not all ended in ${SETTLE_MS / 1_000} s`}: spurious timeouts ${spurious}, stuck ${stuck}; then SIGKILL`
    );
  } finally {
    c.service.plan = undefined;
  }
}

/** Tells the host its wall clock is now `offsetMs` off and waits until it sees the step (undefined if it never says so). */
async function stepHostClock(host: HostProcess, offsetMs: number): Promise<ClockAnswer | undefined> {
  let answer: ClockAnswer | undefined;
  const listener = (msg: Record<string, unknown>) => {
    if (msg.t === 'clock' && msg.offsetMs === offsetMs) answer = msg as unknown as ClockAnswer;
  };
  host.lines.add(listener);
  host.child.stdin.write(`${JSON.stringify({ t: 'clock', offsetMs })}\n`);
  await waitFor(() => answer !== undefined, 10_000);
  host.lines.delete(listener);
  return answer;
}
