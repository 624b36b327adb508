import { describe, expect, it } from 'vitest';
import {
  ActorStoppedError,
  actorPath,
  InMemoryDeadLetterSink,
  ManualClock,
  QueryTimeoutError,
  dispatch,
  query,
  spawn,
  spawnStateless,
  start,
  stop,
  type ActorRef,
  type DeadLetter,
} from '../../runtime/index.ts';

function system(clock = new ManualClock()) {
  const sink = new InMemoryDeadLetterSink();
  return { sys: start({ clock, deadLetterSink: sink }), sink, clock };
}

type CounterMsg = { add: number } | { get: ActorRef<number> };

function counter(parent: Parameters<typeof spawn>[0], name = 'counter') {
  return spawn<number, CounterMsg>(parent, (s, m) => {
    if ('get' in m) {
      m.get.tell(s);
      return s;
    }
    return s + m.add;
  }, name, { initialState: 0 });
}

describe('spawn, dispatch and query', () => {
  it('handles messages in order and threads the state through the handler', async () => {
    const { sys } = system();
    const seen: number[] = [];
    const a = spawn<number[], number>(sys, (s, m) => {
      seen.push(m);
      return [...s, m];
    }, 'a', { initialState: [] });
    for (let i = 0; i < 100; i++) dispatch(a, i);
    await sys.whenIdle();
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('replies to a query through the reply address', async () => {
    const { sys } = system();
    const c = counter(sys);
    dispatch(c, { add: 2 });
    dispatch(c, { add: 3 });
    await expect(query(c, (r: ActorRef<number>) => ({ get: r }), 1_000)).resolves.toBe(5);
  });

  it('waits for an async handler before the next message', async () => {
    const { sys } = system();
    const order: string[] = [];
    const a = spawn<number, number>(sys, async (s, m) => {
      order.push(`start ${m}`);
      await new Promise((r) => setImmediate(r));
      order.push(`end ${m}`);
      return s + m;
    }, 'async', { initialState: 0 });
    dispatch(a, 1);
    dispatch(a, 2);
    await sys.whenIdle();
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('runs stateless actors one message at a time', async () => {
    const { sys } = system();
    const got: string[] = [];
    const a = spawnStateless<string>(sys, (m) => void got.push(m), 'stateless');
    dispatch(a, 'x');
    dispatch(a, 'y');
    await sys.whenIdle();
    expect(got).toEqual(['x', 'y']);
  });

  it('spawns children under the parent path and stops them with it', async () => {
    const { sys } = system();
    const parent = spawnStateless<string>(sys, () => undefined, 'parent');
    const child = spawnStateless<string>(parent, () => undefined, 'child');
    expect(child.path).toBe('/parent/child');
    await stop(parent);
    expect(sys.lookup(actorPath('/parent/child'))).toBeUndefined();
  });

  it('refuses two actors at one path', () => {
    const { sys } = system();
    counter(sys, 'same');
    expect(() => counter(sys, 'same')).toThrow('an actor already exists at /same');
  });
});

describe('query correlation and timeouts', () => {
  it('requires a finite timeout', async () => {
    const { sys } = system();
    const c = counter(sys);
    await expect(query(c, (r: ActorRef<number>) => ({ get: r }), 0)).rejects.toThrow(/needs a finite timeout/);
    await expect(query(c, (r: ActorRef<number>) => ({ get: r }), Number.POSITIVE_INFINITY)).rejects.toThrow(/needs a finite timeout/);
  });

  it('matches each of many concurrent replies to its own caller by correlation id', async () => {
    const { sys } = system();
    const echo = spawnStateless<{ n: number; replyTo: ActorRef<number> }>(sys, (m) => void m.replyTo.tell(m.n), 'echo');
    const answers = await Promise.all(Array.from({ length: 500 }, (_, n) => query(echo, (replyTo: ActorRef<number>) => ({ n, replyTo }), 1_000)));
    expect(answers).toEqual(Array.from({ length: 500 }, (_, n) => n));
  });

  it('rejects a query that gets no reply in time, then drops and counts the late reply as a dead letter', async () => {
    const { sys, sink, clock } = system();
    const held: ActorRef<string>[] = [];
    const slow = spawnStateless<ActorRef<string>>(sys, (replyTo) => void held.push(replyTo), 'slow');
    const q = query(slow, (replyTo: ActorRef<string>) => replyTo, 100);
    await sys.whenIdle();
    clock.advance(100);
    const err = await q.catch((e) => e);
    expect(err).toBeInstanceOf(QueryTimeoutError);
    expect(err.message).toMatch(/query \d+ to \/slow timed out after 100 ms/);
    held[0].tell('too late');
    expect(sys.stats.lateReplies).toBe(1);
    expect(sink.counts.late_reply).toBe(1);
    expect(sink.letters.at(-1)).toMatchObject({ reason: 'late_reply', message: 'too late' });
  });

  it('times every query out at its own deadline, whatever the order of deadlines and of answers', async () => {
    const { sys, clock } = system();
    const held = new Map<string, ActorRef<string>>();
    const slow = spawnStateless<{ key: string; replyTo: ActorRef<string> }>(sys, (m) => void held.set(m.key, m.replyTo), 'slow');
    const settled: string[] = [];
    const ask = (key: string, timeoutMs: number) =>
      query(slow, (replyTo: ActorRef<string>) => ({ key, replyTo }), timeoutMs).then(
        (v) => void settled.push(`${key}:${v}@${clock.now() - T}`),
        (e: Error) => void settled.push(`${key}:${e.name}@${clock.now() - T}`),
      );
    const T = clock.now();
    const all = [ask('long', 300), ask('short', 100), ask('answered', 50), ask('middle', 200)];
    await sys.whenIdle();
    held.get('answered')!.tell('ok');
    await sys.whenIdle();
    for (let t = 0; t < 300; t += 50) {
      clock.advance(50);
      await sys.whenIdle();
    }
    await Promise.all(all);
    expect(settled).toEqual(['answered:ok@0', 'short:QueryTimeoutError@100', 'middle:QueryTimeoutError@200', 'long:QueryTimeoutError@300']);
    expect(sys.pendingQueryCount).toBe(0);
  });

  it('rejects a query to a stopped actor at once and dead-letters the message', async () => {
    const { sys, sink } = system();
    const c = counter(sys);
    await stop(c);
    await expect(query(c, (r: ActorRef<number>) => ({ get: r }), 1_000)).rejects.toBeInstanceOf(ActorStoppedError);
    expect(sink.counts.stopped).toBe(1);
  });
});

describe('dead letters', () => {
  it('turns a message to a stopped actor into a dead letter with sender, target and message', async () => {
    const { sys, sink } = system();
    const c = counter(sys, 'gone');
    const other = counter(sys, 'other');
    await stop(c);
    dispatch(c, { add: 1 }, other);
    expect(sink.letters).toHaveLength(1);
    expect(sink.letters[0]).toMatchObject({ reason: 'stopped', target: '/gone', sender: '/other', message: { add: 1 } });
  });

  it('turns a message to an unknown path into a dead letter', () => {
    const { sys, sink } = system();
    expect(sys.dispatchPath('/nobody', 'hello')).toBe(false);
    expect(sink.letters[0]).toMatchObject({ reason: 'unknown', target: '/nobody', message: 'hello' });
  });

  it('dead-letters messages still queued when an actor is stopped', async () => {
    const { sys, sink } = system();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = spawn<number, number>(sys, async (s) => {
      await gate;
      return s;
    }, 'blocked', { initialState: 0 });
    for (let i = 0; i < 5; i++) dispatch(a, i);
    await new Promise((r) => setImmediate(r));
    const stopping = sys.stopActor(a, 'shutdown', 'infinity');
    release();
    await stopping;
    expect(sink.letters.map((l: DeadLetter) => l.message)).toEqual([1, 2, 3, 4]);
  });

  it('bounds the mailbox: overflow is a dead letter, never silent', async () => {
    const { sys, sink } = system();
    const got: number[] = [];
    const a = spawn<number, number>(sys, (s, m) => (got.push(m), s), 'small', { initialState: 0, mailboxCapacity: 3 });
    for (let i = 0; i < 5; i++) dispatch(a, i);
    await sys.whenIdle();
    expect(got).toEqual([0, 1, 2]);
    expect(sink.counts.mailbox_full).toBe(2);
    expect(sink.letters.map((l) => l.message)).toEqual([3, 4]);
  });
});

describe('crash, restart and poison messages', () => {
  it('keeps the mailbox across a restart: no message of a sequence-numbered sender is lost', async () => {
    const { sys } = system();
    const handled: number[] = [];
    let crashes = 0;
    const a = spawn<number, number>(sys, (s, m) => {
      if (m % 10 === 3 && crashes < 50 && (crashes++, true) && crashes % 2 === 1) throw new Error(`boom at ${m}`);
      handled.push(m);
      return s + 1;
    }, 'seq', { initialState: 0, maxMessageRetries: 3 });
    for (let i = 0; i < 200; i++) dispatch(a, i);
    await sys.whenIdle();
    expect(handled).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('resets the state at restart but resumes with the message that crashed', async () => {
    const { sys } = system();
    const states: number[] = [];
    let thrown = false;
    const a = spawn<number, string>(sys, (s, m) => {
      if (m === 'crash' && !thrown) {
        thrown = true;
        throw new Error('once');
      }
      states.push(s);
      return s + 1;
    }, 'reset', { initialState: 100 });
    dispatch(a, 'x');
    dispatch(a, 'crash');
    dispatch(a, 'y');
    await sys.whenIdle();
    expect(states).toEqual([100, 100, 101]);
  });

  it('retries a poison message K times, then dead-letters it with error, stack, attempts and path while the rest flow', async () => {
    const { sys, sink } = system();
    const handled: string[] = [];
    let attempts = 0;
    const a = spawn<number, string>(sys, (s, m) => {
      if (m === 'poison') {
        attempts++;
        throw new Error('cannot digest');
      }
      handled.push(m);
      return s;
    }, 'eater', { initialState: 0, maxMessageRetries: 2 });
    dispatch(a, 'a');
    dispatch(a, 'poison');
    dispatch(a, 'b');
    await sys.whenIdle();
    expect(attempts).toBe(3);
    expect(handled).toEqual(['a', 'b']);
    expect(sink.counts.poison).toBe(1);
    expect(sink.letters[0]).toMatchObject({ reason: 'poison', target: '/eater', message: 'poison', attempts: 3, error: 'Error: cannot digest' });
    expect(sink.letters[0].stack).toContain('cannot digest');
  });

  it('keeps a poison message queued until an async dead-letter sink has made it durable', async () => {
    const clock = new ManualClock();
    let resolveWrite!: () => void;
    const recorded: DeadLetter[] = [];
    const sys = start({
      clock,
      deadLetterSink: {
        record: (l) =>
          new Promise<void>((r) => {
            recorded.push(l);
            resolveWrite = r;
          }),
      },
    });
    const handled: string[] = [];
    const a = spawn<number, string>(sys, (s, m) => {
      if (m === 'poison') throw new Error('bad');
      handled.push(m);
      return s;
    }, 'durable', { initialState: 0, maxMessageRetries: 0 });
    dispatch(a, 'poison');
    dispatch(a, 'next');
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(recorded).toHaveLength(1);
    expect(handled).toEqual([]);
    expect(sys.lookup(actorPath('/durable'))).toBeDefined();
    resolveWrite();
    await sys.whenIdle();
    expect(handled).toEqual(['next']);
  });

  it('retries a failing durable sink later instead of dropping the poison message', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const sys = start({
      clock,
      deadLetterRetryMs: 500,
      deadLetterSink: { record: () => (++calls === 1 ? Promise.reject(new Error('disk')) : Promise.resolve()) },
    });
    const a = spawn<number, string>(sys, () => {
      throw new Error('always');
    }, 'p', { initialState: 0, maxMessageRetries: 0 });
    dispatch(a, 'm');
    await sys.whenIdle();
    expect(calls).toBe(1);
    expect(sys.stats.deadLetterSinkFailures).toBe(1);
    clock.advance(500);
    await sys.whenIdle();
    expect(calls).toBe(2);
    expect(sys.stats.deadLetters).toBe(1);
  });

  it('isolates the poison message of a crashed batch by retrying one message at a time', async () => {
    const { sys, sink } = system();
    const batches: number[][] = [];
    const cell = sys.spawnCell(undefined, {
      initialState: 0,
      receiveBatch: (s: number, msgs: readonly number[]) => {
        if (msgs.includes(7)) throw new Error('seven');
        batches.push([...msgs]);
        return s + msgs.length;
      },
    }, 'batcher', { maxMessageRetries: 1, batchSize: 100 });
    for (let i = 0; i < 10; i++) cell.enqueue(i, undefined);
    await sys.whenIdle();
    expect(batches.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 8, 9]);
    expect(sink.letters).toHaveLength(1);
    expect(sink.letters[0]).toMatchObject({ reason: 'poison', message: 7, attempts: 2 });
  });

  it('fails spawn with ActorStartError naming the path when init throws, leaving the path free', () => {
    const { sys } = system();
    const init = () => {
      throw new Error('no config');
    };
    expect(() => spawn<number, string>(sys, (s) => s, 'broken', { initialStateFunc: init })).toThrow('actor /broken failed to start: no config');
    expect(sys.lookup(actorPath('/broken'))).toBeUndefined();
    expect(() => spawn<number, string>(sys, (s) => s, 'broken', { initialState: 1 })).not.toThrow();
  });

  it('stops an unsupervised actor whose async init fails, and dead-letters what was sent to it', async () => {
    const { sys, sink } = system();
    const a = spawn<number, string>(sys, (s) => s, 'broken', { initialStateFunc: async () => Promise.reject(new Error('no config')) });
    await sys.whenIdle();
    dispatch(a, 'hello');
    expect(sink.counts.stopped).toBe(1);
  });
});

describe('scheduling', () => {
  it('yields to I/O: a timer set before a long backlog fires before the backlog is done', async () => {
    const sys = start();
    let handled = 0;
    let handledWhenTimerFired = -1;
    const a = spawn<number, number>(sys, (s) => (handled++, s), 'busy', { initialState: 0, mailboxCapacity: 1_000_000 });
    for (let i = 0; i < 200_000; i++) dispatch(a, i);
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        handledWhenTimerFired = handled;
        resolve();
      }, 0),
    );
    await sys.whenIdle();
    expect(handled).toBe(200_000);
    expect(handledWhenTimerFired).toBeLessThan(200_000);
  });

  it('visits ready actors round-robin, at most `throughput` messages each per visit', async () => {
    const sys = start();
    const order: string[] = [];
    const a = spawn<number, number>(sys, (s) => (order.push('a'), s), 'a', { initialState: 0, throughput: 2 });
    const b = spawn<number, number>(sys, (s) => (order.push('b'), s), 'b', { initialState: 0, throughput: 2 });
    for (let i = 0; i < 4; i++) {
      dispatch(a, i);
      dispatch(b, i);
    }
    await sys.whenIdle();
    expect(order.join('')).toBe('aabbaabb');
  });
});

describe('resources across restarts', () => {
  it('runs the crashed incarnation onStop with reason restart before the next init', async () => {
    const { sys } = system();
    const log: string[] = [];
    let n = 0;
    const a = spawn<string, string>(sys, (s, m) => {
      if (m === 'crash') throw new Error('socket error');
      return s;
    }, 'owner', {
      initialStateFunc: () => {
        const res = `socket${++n}`;
        log.push(`open ${res}`);
        return res;
      },
      onStop: (s, reason) => void log.push(`close ${s} (${reason})`),
      maxMessageRetries: 5,
    });
    dispatch(a, 'crash');
    await sys.whenIdle();
    await stop(a);
    expect(log.slice(0, 3)).toEqual(['open socket1', 'close socket1 (restart)', 'open socket2']);
  });
});

describe('the handle observer', () => {
  // Rule: a handle observer is told every handling (one message, or one batch) and how it ended, sync or async, crash included.
  it('is told each handling with its messages, and its end with the error when the handler crashed', async () => {
    const told: string[] = [];
    const sys = start({
      clock: new ManualClock(),
      deadLetterSink: new InMemoryDeadLetterSink(),
      handleObserver: (path, messages) => {
        told.push(`start ${path} ${JSON.stringify(messages)}`);
        return (error) => told.push(`end ${path}${error ? ` ${(error as Error).message}` : ''}`);
      },
    });
    const sync = spawn<number, number>(sys, (s, m) => {
      if (m === 2) throw new Error('two');
      return s + m;
    }, 'sync', { initialState: 0, maxMessageRetries: 0 });
    const later = spawn<number, number>(sys, async (s, m) => s + m, 'async', { initialState: 0 });
    dispatch(sync, 1);
    dispatch(sync, 2);
    dispatch(later, 3);
    const batch = sys.spawnCell(undefined, { initialState: 0, receiveBatch: (s: number, msgs: readonly number[]) => s + msgs.length }, 'batch', { batchSize: 10 });
    batch.enqueue(4, undefined);
    batch.enqueue(5, undefined);
    await sys.whenIdle();
    expect(told).toEqual(expect.arrayContaining(['start /sync [1]', 'end /sync', 'start /sync [2]', 'end /sync two', 'start /async [3]', 'end /async', 'start /batch [4,5]', 'end /batch']));
    expect(told.indexOf('end /sync')).toBeGreaterThan(told.indexOf('start /sync [1]'));
  });
});
