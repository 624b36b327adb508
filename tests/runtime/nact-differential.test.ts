/**
 * Differential tests: the same scenario on nact 7.6.2 and on shoal's kernel. Each nact assertion
 * pins behaviour observed by running nact (read with node_modules/nact/lib/*.js); each shoal
 * assertion pins the rule that replaces it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as nact from 'nact';
import { type ActorRef, InMemoryDeadLetterSink, ManualClock, QueryTimeoutError, dispatch, noBackoff, query, spawn, start, stop } from '../../runtime/index.ts';
import { startSupervisor } from '../../supervisors/index.ts';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Lets every queued turn run: nact handles one message per event-loop turn. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await turn();
}

async function until(cond: () => boolean, maxTurns = 10_000): Promise<void> {
  for (let i = 0; i < maxTurns && !cond(); i++) await turn();
  if (!cond()) throw new Error('condition not reached');
}

const seq = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('messages sent to a stopped actor', () => {
  it('nact: messages queued at stop and messages sent after it vanish without an error or a record', async () => {
    const system = nact.start();
    const handled: number[] = [];
    const ref = nact.spawn(system, (state: number, msg: number) => {
      handled.push(msg);
      return state + 1;
    }, 'target', { initialState: 0 });
    for (const n of seq(1, 5)) nact.dispatch(ref, n); // queued, not yet handled
    nact.stop(ref);
    expect(() => {
      for (const n of seq(6, 15)) nact.dispatch(ref, n);
    }).not.toThrow();
    await turns(50);
    expect(handled).toEqual([]); // 15 sent, 0 handled, nothing anywhere says so
    nact.stop(system);
  });

  it('shoal: every message queued at stop or sent after it becomes a dead letter with reason stopped', async () => {
    const sink = new InMemoryDeadLetterSink();
    const system = start({ deadLetterSink: sink });
    const handled: number[] = [];
    const ref = spawn(system, (state: number, msg: number) => {
      handled.push(msg);
      return state + 1;
    }, 'target', { initialState: 0 });
    for (const n of seq(1, 5)) dispatch(ref, n);
    await stop(ref);
    for (const n of seq(6, 15)) dispatch(ref, n);
    await turns(5);
    expect(handled).toEqual([]);
    expect(sink.counts.stopped).toBe(15);
    expect(sink.letters.map((l) => l.message)).toEqual(seq(1, 15));
    expect(sink.letters.every((l) => l.target === ref.path)).toBe(true);
    await system.stop();
  });
});

/**
 * One scenario: a sender sends 1..300 in bursts of 25 messages per event-loop turn, so it keeps
 * sending while the actor crashes. Message 50 fails once (a transient fault: it would succeed if
 * retried); message 150 fails every time (poison).
 */
const TOTAL = 300;
const TRANSIENT = 50;
const POISON = 150;

async function sendInBursts(send: (n: number) => void): Promise<void> {
  for (let n = 1; n <= TOTAL; n++) {
    send(n);
    if (n % 25 === 0) await turn();
  }
}

/** `failedOnce` lives outside the handler so that it survives a restart that builds a new handler. */
function faultyHandler(handled: number[], failedOnce = new Set<number>()): (state: number, msg: number) => number {
  return (state, msg) => {
    if (msg === TRANSIENT && !failedOnce.has(msg)) {
      failedOnce.add(msg);
      throw new Error(`transient fault on ${msg}`);
    }
    if (msg === POISON) throw new Error(`poison ${msg}`);
    handled.push(msg);
    return state + 1;
  };
}

describe('an actor that crashes while a sender keeps sending', () => {
  it('nact, default policy: the actor stops at the first crash and every later message is lost silently', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined); // nact's default policy logs the crash
    const system = nact.start();
    const handled: number[] = [];
    let stoppedWithQueued = -1;
    const ref = nact.spawn(system, faultyHandler(handled), 'worker', {
      initialState: 0,
      afterStop: (_state, ctx) => {
        stoppedWithQueued = ctx.mailbox.length;
      },
    });
    await sendInBursts((n) => nact.dispatch(ref, n));
    await turns(TOTAL + 50);
    expect(handled).toEqual(seq(1, TRANSIENT - 1));
    expect(stoppedWithQueued).toBeGreaterThan(0); // messages still queued when it stopped were dropped too
    nact.stop(system);
  });

  it('nact, onCrash resume: the crashing message is skipped, never retried, even when the fault was transient', async () => {
    const system = nact.start();
    const handled: number[] = [];
    const ref = nact.spawn(system, faultyHandler(handled), 'worker', { initialState: 0, onCrash: (_msg, _err, ctx) => ctx.resume });
    await sendInBursts((n) => nact.dispatch(ref, n));
    await until(() => handled.includes(TOTAL), 5 * TOTAL);
    expect(handled).toEqual(seq(1, TOTAL).filter((n) => n !== TRANSIENT && n !== POISON));
    nact.stop(system);
  });

  it('nact, onCrash reset: the state is re-initialised and the crashing message is skipped, never retried', async () => {
    const system = nact.start();
    const handled: number[] = [];
    let finalState = -1;
    const handler = faultyHandler(handled);
    const ref = nact.spawn(system, (state: number, msg: number) => {
      const next = handler(state, msg);
      if (msg === TOTAL) finalState = next;
      return next;
    }, 'worker', { initialState: 0, onCrash: (_msg, _err, ctx) => ctx.reset });
    await sendInBursts((n) => nact.dispatch(ref, n));
    await until(() => finalState >= 0, 5 * TOTAL);
    expect(handled).toEqual(seq(1, TOTAL).filter((n) => n !== TRANSIENT && n !== POISON));
    expect(finalState).toBe(TOTAL - POISON); // the count restarted from 0 after the last crash (message 150)
    nact.stop(system);
  });

  it('shoal: the mailbox is kept, the crashing message is retried, and every non-poison message is handled exactly once, in order', async () => {
    const sink = new InMemoryDeadLetterSink();
    const system = start({ deadLetterSink: sink });
    const handled: number[] = [];
    const failedOnce = new Set<number>();
    const sup = await startSupervisor(
      system,
      {
        strategy: 'one_for_one',
        intensity: 10,
        backoff: noBackoff,
        children: [{ id: 'worker', start: () => ({ initialState: 0, receive: faultyHandler(handled, failedOnce), options: { maxMessageRetries: 2 } }) }],
      },
      'sup',
    );
    const ref = sup.childRef<number>('worker')!;
    await sendInBursts((n) => dispatch(ref, n));
    await until(() => handled.includes(TOTAL));
    expect(handled).toEqual(seq(1, TOTAL).filter((n) => n !== POISON)); // 50 included, once
    expect(sink.counts.poison).toBe(1);
    expect(sink.total()).toBe(1);
    expect(sink.letters[0]).toMatchObject({ reason: 'poison', message: POISON, attempts: 3, target: ref.path });
    await sup.settled();
    expect(sup.whichChildren()[0].restartCount).toBe(4); // 1 for the transient fault, 3 for the poison message
    await system.stop();
  });
});

describe('query correlation', () => {
  /** nact echo actor: replies `msg.value` to `msg.replyTo`, counting what it handled. */
  function nactEcho(system: nact.ActorSystemRef, handled: { count: number }) {
    return nact.spawn(system, (state: number, msg: { value: string; replyTo: nact.Ref<string> }) => {
      nact.dispatch(msg.replyTo, msg.value);
      handled.count++;
      return state + 1;
    }, 'echo', { initialState: 0 });
  }

  /**
   * nact times queries with the global setTimeout and runs actors on setImmediate turns. Faking
   * setTimeout alone lets a query time out exactly when the test says, never because the machine
   * was slow: a real 40 ms timer can fire before the actor's turn on a loaded machine.
   */
  function fakeQueryTimers(): void {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  }

  /** A promise's outcome, readable synchronously once it has settled. */
  function track<T>(p: Promise<T>): { result?: PromiseSettledResult<T> } {
    const t: { result?: PromiseSettledResult<T> } = {};
    p.then((value) => (t.result = { status: 'fulfilled', value }), (reason: unknown) => (t.result = { status: 'rejected', reason }));
    return t;
  }

  it('nact: replies are matched by a random 32-bit id, so two queries whose ids collide get crossed replies', async () => {
    // nact/lib/references.js:12 — TemporaryReference: `this.id = (Math.random() * Number.MAX_SAFE_INTEGER) | 0;`
    // `| 0` keeps the low 32 bits, so ids are random int32s (birthday collisions: ~n^2 / 2^33 for n
    // queries in flight). nact/lib/system.js:32 keys pending queries by that id in a Map
    // (`tempReferences.set(reference.id, deferral)`), so a colliding query overwrites the other.
    // The two draws below are different numbers that truncate to the same id (-1).
    const draws = [0.5, 0.5 + 2 ** -21];
    expect(draws[0]).not.toBe(draws[1]);
    expect((draws[0] * Number.MAX_SAFE_INTEGER) | 0).toBe((draws[1] * Number.MAX_SAFE_INTEGER) | 0);
    fakeQueryTimers();
    try {
      const system = nact.start();
      const handled = { count: 0 };
      const echo = nactEcho(system, handled);
      const random = vi.spyOn(Math, 'random');
      for (const d of draws) random.mockReturnValueOnce(d);
      const a = track(nact.query(echo, (replyTo: nact.Ref<string>) => ({ value: 'reply to a', replyTo }), 40));
      const b = track(nact.query(echo, (replyTo: nact.Ref<string>) => ({ value: 'reply to b', replyTo }), 40));
      random.mockRestore();
      // Both questions answered, and no query timer has run yet.
      await until(() => handled.count === 2 && b.result !== undefined);
      expect(b.result).toEqual({ status: 'fulfilled', value: 'reply to a' }); // b got a's reply
      expect(a.result).toBeUndefined(); // a's reply went to b; b's own reply was dropped
      vi.advanceTimersByTime(40); // so a can only time out
      await until(() => a.result !== undefined);
      expect(a.result).toMatchObject({ status: 'rejected', reason: { message: 'Query Timeout' } });
      nact.stop(system);
    } finally {
      vi.useRealTimers();
    }
  });

  it('nact: a reply that arrives after its query timed out is dropped without a trace', async () => {
    fakeQueryTimers();
    try {
      const system = nact.start();
      let stashed: nact.Ref<string> | undefined;
      const slow = nact.spawn(system, (state: number, msg: { replyTo: nact.Ref<string> }) => {
        stashed = msg.replyTo;
        return state + 1;
      }, 'slow', { initialState: 0 });
      const asked = nact.query(slow, (replyTo: nact.Ref<string>) => ({ replyTo }), 10);
      await until(() => stashed !== undefined); // the question has reached the actor
      vi.advanceTimersByTime(10);
      await expect(asked).rejects.toThrow('Query Timeout');
      expect(() => nact.dispatch(stashed!, 'too late')).not.toThrow(); // goes nowhere; nact has no dead letters
      nact.stop(system);
    } finally {
      vi.useRealTimers();
    }
  });

  it('shoal: concurrent queries each resolve with their own reply, matched by unique increasing correlation ids (no randomness)', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // the draw that collides in nact: ours does not use it
    const system = start();
    type Ask = { value: number; replyTo: ActorRef<number> };
    const N = 2_000;
    const ids: number[] = [];
    // Collects every question, then answers them all in reverse order.
    const answerer = spawn(system, (held: Ask[], msg: Ask) => {
      ids.push(Number(/#query-(\d+)$/.exec(msg.replyTo.path)![1]));
      held.push(msg);
      if (held.length < N) return held;
      for (const q of held.reverse()) dispatch(q.replyTo, q.value * 10);
      return [];
    }, 'answerer', { initialState: [] as Ask[], mailboxCapacity: N });
    const replies = await Promise.all(Array.from({ length: N }, (_, i) => query<Ask, number>(answerer, (replyTo) => ({ value: i, replyTo }), 5_000)));
    expect(replies).toEqual(Array.from({ length: N }, (_, i) => i * 10));
    expect(new Set(ids).size).toBe(N);
    for (let i = 1; i < N; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]);
    expect(system.stats.lateReplies).toBe(0);
    expect(system.pendingQueryCount).toBe(0);
    await system.stop();
  });

  it('shoal: a reply after its query timed out is counted in stats.lateReplies and dead-lettered as late_reply', async () => {
    const clock = new ManualClock();
    const sink = new InMemoryDeadLetterSink();
    const system = start({ clock, deadLetterSink: sink });
    type Msg = { kind: 'ask'; replyTo: ActorRef<string> } | { kind: 'release' };
    const slow = spawn(system, (held: ActorRef<string> | undefined, msg: Msg) => {
      if (msg.kind === 'ask') return msg.replyTo;
      held?.tell('too late');
      return undefined;
    }, 'slow', { initialState: undefined as ActorRef<string> | undefined });
    const asked = query<Msg, string>(slow, (replyTo) => ({ kind: 'ask', replyTo }), 100);
    await turns(2);
    clock.advance(100);
    await expect(asked).rejects.toBeInstanceOf(QueryTimeoutError);
    dispatch(slow, { kind: 'release' });
    await turns(2);
    expect(system.stats.lateReplies).toBe(1);
    expect(sink.counts.late_reply).toBe(1);
    expect(sink.letters[0]).toMatchObject({ reason: 'late_reply', message: 'too late' });
    await system.stop();
  });
});
