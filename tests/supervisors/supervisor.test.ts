import { describe, expect, it } from 'vitest';
import { actorPath, InMemoryDeadLetterSink, ManualClock, dispatch, noBackoff, start, type ActorContext } from '../../runtime/index.ts';
import { type ActorDefinition, type ChildSpec, SpecError, SupervisorStartError, startSupervisor, type SupervisorSpec } from '../../supervisors/index.ts';
import { recordEvents, settle, trace } from '../kernel-helpers.ts';

type Cmd = 'ok' | 'crash' | 'exit';

/** A tiny scriptable child: 'crash' throws, 'exit' stops normally, anything else is counted. */
function scripted(log: string[] = [], name = ''): () => ActorDefinition<number, Cmd> {
  return () => ({
    init: () => {
      log.push(`init ${name}`);
      return 0;
    },
    receive: (s: number, m: Cmd, ctx: ActorContext<Cmd>) => {
      if (m === 'crash') throw new Error(`crash of ${name}`);
      if (m === 'exit') ctx.stop();
      return s + 1;
    },
    options: { maxMessageRetries: 0 },
  });
}

function world() {
  const clock = new ManualClock(1_000_000);
  const sink = new InMemoryDeadLetterSink();
  const system = start({ clock, deadLetterSink: sink, random: () => 0.5 });
  return { clock, sink, system };
}

const workers = (ids: string[], log: string[] = [], extra: Partial<ChildSpec> = {}): ChildSpec[] =>
  ids.map((id) => ({ id, start: scripted(log, id), ...extra }) as ChildSpec);

describe('restart type x exit reason', () => {
  const cases: [string, Cmd, boolean][] = [
    ['permanent', 'exit', true],
    ['permanent', 'crash', true],
    ['transient', 'exit', false],
    ['transient', 'crash', true],
    ['temporary', 'exit', false],
    ['temporary', 'crash', false],
  ];
  for (const [restart, cmd, restarted] of cases) {
    it(`a ${restart} child ${restarted ? 'is' : 'is not'} restarted after a ${cmd === 'exit' ? 'normal exit' : 'crash'}`, async () => {
      const { system } = world();
      const sup = await startSupervisor(system, { strategy: 'one_for_one', intensity: 10, backoff: noBackoff, children: workers(['w'], [], { restart: restart as 'permanent' }) }, 'root');
      dispatch(sup.childRef<Cmd>('w')!, cmd);
      await settle(system, sup);
      const child = sup.whichChildren().find((c) => c.id === 'w');
      if (restarted) {
        expect(child).toMatchObject({ status: 'running', restartCount: 1 });
      } else if (restart === 'temporary') {
        expect(child).toBeUndefined();
      } else {
        expect(child).toMatchObject({ status: 'stopped', restartCount: 0 });
      }
    });
  }
});

describe('restart intensity', () => {
  it('defaults to OTP: 1 restart in 5 s', async () => {
    const { system, clock } = world();
    const sup = await startSupervisor(system, { strategy: 'one_for_one', backoff: noBackoff, children: workers(['w']) }, 'root');
    dispatch(sup.childRef<Cmd>('w')!, 'crash');
    await settle(system, sup);
    expect(system.isStopped).toBe(false);
    clock.advance(4_999);
    dispatch(sup.childRef<Cmd>('w')!, 'crash');
    await settle(system, sup);
    expect(system.isStopped).toBe(true);
  });

  it('tolerates crashes spaced wider than the period, however many', async () => {
    const { system, clock } = world();
    const sup = await startSupervisor(system, { strategy: 'one_for_one', intensity: 2, periodMs: 1_000, backoff: noBackoff, children: workers(['w']) }, 'root');
    for (let i = 0; i < 10; i++) {
      dispatch(sup.childRef<Cmd>('w')!, 'crash');
      await settle(system, sup);
      clock.advance(600);
    }
    expect(system.isStopped).toBe(false);
    expect(sup.whichChildren()[0]).toMatchObject({ status: 'running', restartCount: 10 });
  });

  it('gives up on the N+1th restart inside the window: stops children in reverse order and stops the system with a clear reason', async () => {
    const { system, clock } = world();
    const events = recordEvents(system);
    const sup = await startSupervisor(system, { strategy: 'one_for_one', intensity: 2, periodMs: 1_000, backoff: noBackoff, children: workers(['a', 'b', 'c']) }, 'root');
    const b = sup.childRef<Cmd>('b')!;
    for (let i = 0; i < 3; i++) {
      dispatch(b, 'crash');
      await settle(system, sup);
      clock.advance(100);
    }
    expect(system.isStopped).toBe(true);
    expect(await system.terminated).toMatch(/^supervisor \/root gave up: restart intensity exceeded \(more than 2 restarts in 1000 ms\); last failure: child 'b' crash: Error: crash of b$/);
    expect(trace(events, ['actor_stopped']).slice(-3)).toEqual(['actor_stopped /root/c', 'actor_stopped /root/b', 'actor_stopped /root/a']);
    expect(events.some((e) => e.type === 'give_up' && e.path === '/root')).toBe(true);
  });

  it('escalates to the parent, which restarts the whole subtree', async () => {
    const { system } = world();
    const log: string[] = [];
    const inner = (): SupervisorSpec => ({ strategy: 'one_for_one', intensity: 0, backoff: noBackoff, children: workers(['x', 'y'], log) });
    const root = await startSupervisor(system, { strategy: 'one_for_one', intensity: 5, backoff: noBackoff, children: [{ id: 'inner', type: 'supervisor', start: inner }] }, 'root');
    const events = recordEvents(system);
    const innerSup = root.childSupervisor('inner')!;
    dispatch(innerSup.childRef<Cmd>('x')!, 'crash');
    await settle(system, root, innerSup);
    expect(trace(events, ['give_up', 'escalated'])).toEqual(['give_up /root/inner', 'escalated /root/inner']);
    expect(system.isStopped).toBe(false);
    expect(root.whichChildren()[0]).toMatchObject({ id: 'inner', status: 'running', restartCount: 1 });
    expect(innerSup.whichChildren().map((c) => c.status)).toEqual(['running', 'running']);
    expect(log).toEqual(['init x', 'init y', 'init x', 'init y']);
  });
});

describe('a nested supervisor that gives up stops with reason shutdown (OTP), it does not crash', () => {
  /** A root over one nested supervisor (intensity 0: its first child crash makes it give up) and a bystander worker. */
  async function nested(restart: 'permanent' | 'transient' | 'temporary') {
    const { system, sink } = world();
    const log: string[] = [];
    const inner = (): SupervisorSpec => ({ strategy: 'one_for_one', intensity: 0, backoff: noBackoff, children: workers(['x'], log) });
    const root = await startSupervisor(
      system,
      { strategy: 'one_for_one', intensity: 5, backoff: noBackoff, children: [{ id: 'inner', type: 'supervisor', restart, start: inner }, ...workers(['w'])] },
      'root',
    );
    const events = recordEvents(system);
    const innerSup = root.childSupervisor('inner')!;
    const x = innerSup.childRef<Cmd>('x')!;
    dispatch(x, 'crash');
    await settle(system, root, innerSup);
    return { system, sink, root, innerSup, events, log, x };
  }

  it('its parent records it as stopped with reason shutdown and the give-up as the error, not as a crash', async () => {
    const { events } = await nested('transient');
    const exit = events.filter((e) => e.path === '/root/inner' && (e.type === 'actor_stopped' || e.type === 'actor_crashed'));
    expect(exit).toEqual([expect.objectContaining({ type: 'actor_stopped', reason: 'shutdown', error: expect.stringMatching(/^Error: supervisor \/root\/inner gave up: restart intensity exceeded/) })]);
  });

  it('a permanent one is restarted by its parent', async () => {
    const { system, root, innerSup, log } = await nested('permanent');
    expect(root.whichChildren()[0]).toMatchObject({ id: 'inner', status: 'running', restartCount: 1 });
    expect(innerSup.whichChildren()).toMatchObject([{ id: 'x', status: 'running' }]);
    expect(log).toEqual(['init x', 'init x']);
    expect(system.isStopped).toBe(false);
  });

  it('a transient one stays stopped, its spec kept, and its siblings and the system run on', async () => {
    const { system, sink, root, innerSup, log, x } = await nested('transient');
    expect(root.whichChildren()).toMatchObject([
      { id: 'inner', status: 'stopped', restartCount: 0 },
      { id: 'w', status: 'running', restartCount: 0 },
    ]);
    expect(innerSup.status).toBe('stopped');
    expect(log).toEqual(['init x']);
    expect(system.isStopped).toBe(false);
    // Its actors are gone: a message to one is a dead letter, not a message kept for a restart.
    dispatch(x, 'ok');
    await settle(system, root);
    expect(sink.letters.at(-1)).toMatchObject({ reason: 'stopped', target: '/root/inner/x' });
  });

  it('a temporary one is removed from its parent', async () => {
    const { system, root, log } = await nested('temporary');
    expect(root.whichChildren().map((c) => c.id)).toEqual(['w']);
    expect(root.childSupervisor('inner')).toBeUndefined();
    expect(log).toEqual(['init x']);
    expect(system.isStopped).toBe(false);
  });

  it('a root whose permanent nested supervisor keeps giving up stops the system with the reason', async () => {
    const { system } = world();
    const inner = (): SupervisorSpec => ({ strategy: 'one_for_one', intensity: 0, backoff: noBackoff, children: workers(['x']) });
    const root = await startSupervisor(system, { strategy: 'one_for_one', intensity: 1, backoff: noBackoff, children: [{ id: 'inner', type: 'supervisor', start: inner }] }, 'root');
    for (let i = 0; i < 2; i++) {
      const innerSup = root.childSupervisor('inner')!;
      dispatch(innerSup.childRef<Cmd>('x')!, 'crash');
      await settle(system, root, innerSup);
    }
    expect(system.isStopped).toBe(true);
    expect(await system.terminated).toMatch(
      /^supervisor \/root gave up: restart intensity exceeded \(more than 1 restarts in 5000 ms\); last failure: child 'inner' shutdown: Error: supervisor \/root\/inner gave up: restart intensity exceeded/,
    );
  });
});

describe('strategies', () => {
  async function crashMiddle(strategy: 'one_for_one' | 'one_for_all' | 'rest_for_one') {
    const { system } = world();
    const log: string[] = [];
    const sup = await startSupervisor(system, { strategy, intensity: 5, backoff: noBackoff, children: workers(['a', 'b', 'c'], log) }, 'root');
    const events = recordEvents(system);
    log.length = 0;
    dispatch(sup.childRef<Cmd>('b')!, 'crash');
    await settle(system, sup);
    return { log, events, restarts: sup.whichChildren().map((c) => `${c.id}:${c.restartCount}`) };
  }

  it('one_for_one restarts only the failed child', async () => {
    const { log, restarts } = await crashMiddle('one_for_one');
    expect(log).toEqual(['init b']);
    expect(restarts).toEqual(['a:0', 'b:1', 'c:0']);
  });

  it('one_for_all stops the others in reverse order, then restarts all in start order', async () => {
    const { log, events, restarts } = await crashMiddle('one_for_all');
    expect(trace(events, ['actor_stopped'])).toEqual(['actor_stopped /root/c', 'actor_stopped /root/a']);
    expect(log).toEqual(['init a', 'init b', 'init c']);
    expect(restarts).toEqual(['a:1', 'b:1', 'c:1']);
  });

  it('rest_for_one restarts the failed child and those started after it', async () => {
    const { log, restarts } = await crashMiddle('rest_for_one');
    expect(log).toEqual(['init b', 'init c']);
    expect(restarts).toEqual(['a:0', 'b:1', 'c:1']);
  });

  it('a sibling that fails to start during a group restart counts as a failure and is retried', async () => {
    const { system } = world();
    let failNextInit = false;
    const flaky: ChildSpec = {
      id: 'flaky',
      start: () => ({
        init: () => {
          if (failNextInit) {
            failNextInit = false;
            throw new Error('port busy');
          }
          return 0;
        },
        receive: (s: number) => s,
      }),
    };
    const sup = await startSupervisor(system, { strategy: 'one_for_all', intensity: 5, backoff: noBackoff, children: [...workers(['a']), flaky] }, 'root');
    const events = recordEvents(system);
    failNextInit = true;
    dispatch(sup.childRef<Cmd>('a')!, 'crash');
    await settle(system, sup);
    expect(trace(events, ['start_failed'])).toEqual(['start_failed /root/flaky']);
    expect(sup.whichChildren().map((c) => `${c.id}:${c.status}:${c.restartCount}`)).toEqual(['a:running:2', 'flaky:running:2']);
  });

  it('gives up when a sibling keeps failing to start during group restarts', async () => {
    const { system } = world();
    let broken = false;
    const fragile: ChildSpec = {
      id: 'fragile',
      start: () => ({
        init: () => {
          if (broken) throw new Error('gone for good');
          return 0;
        },
        receive: (s: number) => s,
      }),
    };
    const sup = await startSupervisor(system, { strategy: 'one_for_all', intensity: 3, backoff: noBackoff, children: [...workers(['a']), fragile] }, 'root');
    broken = true;
    dispatch(sup.childRef<Cmd>('a')!, 'crash');
    await settle(system, sup);
    expect(system.isStopped).toBe(true);
    expect(await system.terminated).toContain(`child 'fragile' start_failed: Error: gone for good`);
  });

  it('does not restart a temporary child killed as a bystander of a group restart', async () => {
    const { system } = world();
    const sup = await startSupervisor(
      system,
      { strategy: 'one_for_all', intensity: 5, backoff: noBackoff, children: [...workers(['a']), { id: 'temp', start: scripted([], 'temp'), restart: 'temporary' }] },
      'root',
    );
    dispatch(sup.childRef<Cmd>('a')!, 'crash');
    await settle(system, sup);
    expect(sup.whichChildren().map((c) => c.id)).toEqual(['a']);
    expect(system.lookup(actorPath('/root/temp'))).toBeUndefined();
  });
});

describe('ordered start and shutdown', () => {
  it('a child that fails to start stops the started ones in reverse order and fails the start with a clear error', async () => {
    const { system } = world();
    const events = recordEvents(system);
    const bad: ChildSpec = {
      id: 'bad',
      start: () => ({
        init: () => {
          throw new Error('missing config');
        },
        receive: (s: number) => s,
      }),
    };
    const err = await startSupervisor(system, { strategy: 'one_for_one', children: [...workers(['a', 'b']), bad, ...workers(['c'])] }, 'root').catch((e) => e);
    expect(err).toBeInstanceOf(SupervisorStartError);
    expect(err.message).toBe(`missing config (while starting /root/bad)`);
    expect(trace(events, ['actor_started', 'actor_stopped', 'start_failed'])).toEqual([
      'actor_started /root/a',
      'actor_started /root/b',
      'start_failed /root/bad',
      'actor_stopped /root/b',
      'actor_stopped /root/a',
    ]);
    expect(system.livePaths()).toEqual([]);
  });

  it('a start failure deep in the tree names the cause first, the path as context, and keeps the original error as cause', async () => {
    const { system } = world();
    const original = new Error('cannot open database /x/y.db: read-only file');
    const failing: ChildSpec = {
      id: 'db-writer',
      start: () => ({
        init: () => {
          throw original;
        },
        receive: (s: number) => s,
      }),
    };
    const pipeline: ChildSpec = { id: 'pipeline', type: 'supervisor', start: () => ({ strategy: 'rest_for_one', children: [...workers(['a']), failing] }) };
    const err = await startSupervisor(system, { strategy: 'one_for_one', children: [pipeline] }, 'shoal').catch((e) => e);
    expect(err).toBeInstanceOf(SupervisorStartError);
    expect(err.message).toBe('cannot open database /x/y.db: read-only file (while starting /shoal/pipeline/db-writer)');
    expect(err.cause).toBe(original);
    expect(err).toMatchObject({ childPath: '/shoal/pipeline/db-writer', supervisorPath: '/shoal/pipeline', childId: 'db-writer' });
  });

  it('shuts down in reverse start order, killing a child whose stop outlasts its shutdown timeout', async () => {
    const { system, clock } = world();
    const events = recordEvents(system);
    const stuck: ChildSpec = {
      id: 'stuck',
      shutdown: 100,
      start: () => ({ initialState: 0, receive: (s: number) => s, onStop: () => new Promise<void>(() => undefined) }),
    };
    const sup = await startSupervisor(system, { strategy: 'one_for_one', children: [...workers(['a']), stuck, ...workers(['c'])] }, 'root');
    const done = sup.shutdown();
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(trace(events, ['actor_stopped', 'child_killed'])).toEqual(['actor_stopped /root/c']);
    clock.advance(100);
    await done;
    expect(trace(events, ['actor_stopped', 'child_killed'])).toEqual(['actor_stopped /root/c', 'child_killed /root/stuck', 'actor_stopped /root/stuck', 'actor_stopped /root/a']);
  });

  it('runs each child onStop with reason shutdown during an ordered shutdown', async () => {
    const { system } = world();
    const stopped: string[] = [];
    const child = (id: string): ChildSpec => ({ id, start: () => ({ initialState: id, receive: (s: string) => s, onStop: (s: string, reason) => void stopped.push(`${s}:${reason}`) }) });
    const sup = await startSupervisor(system, { strategy: 'one_for_one', children: [child('a'), child('b')] }, 'root');
    await system.stop();
    expect(stopped).toEqual(['b:shutdown', 'a:shutdown']);
    expect(sup.status).toBe('stopped');
  });
});

describe('backoff between restarts', () => {
  it('restarts at once after a quiet period, then waits min * factor^n up to the cap, and resets after the quiet period', async () => {
    const { system, clock } = world();
    const events = recordEvents(system);
    const backoff = { minMs: 100, maxMs: 400, factor: 2, jitter: 0, resetAfterMs: 10_000, firstImmediate: true };
    const sup = await startSupervisor(system, { strategy: 'one_for_one', intensity: 100, periodMs: 1_000, backoff, children: workers(['w']) }, 'root');
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      dispatch(sup.childRef<Cmd>('w')!, 'crash');
      await settle(system, sup);
      const scheduled = events.filter((e) => e.type === 'restart_scheduled');
      delays.push(scheduled.length > delays.filter((d) => d > 0).length ? scheduled.at(-1)!.delayMs! : 0);
      clock.advance(400);
      await settle(system, sup);
    }
    expect(delays).toEqual([0, 100, 200, 400, 400]);
    clock.advance(10_000);
    dispatch(sup.childRef<Cmd>('w')!, 'crash');
    await settle(system, sup);
    expect(sup.whichChildren()[0]).toMatchObject({ status: 'running', restartCount: 6 });
  });

  it('keeps messages that arrive while a child waits to restart, and handles them after', async () => {
    const { system, clock } = world();
    const seen: string[] = [];
    const backoff = { minMs: 1_000, maxMs: 1_000, factor: 1, jitter: 0, resetAfterMs: 60_000, firstImmediate: false };
    const child: ChildSpec = {
      id: 'w',
      start: () => ({
        initialState: 0,
        receive: (s: number, m: string) => {
          if (m === 'crash' && s === 0) throw new Error('first');
          seen.push(m);
          return s + 1;
        },
        options: { maxMessageRetries: 0 },
      }),
    };
    const sup = await startSupervisor(system, { strategy: 'one_for_one', intensity: 5, backoff, children: [child] }, 'root');
    const w = sup.childRef<string>('w')!;
    dispatch(w, 'crash');
    await settle(system, sup);
    expect(sup.whichChildren()[0].status).toBe('restarting');
    for (const m of ['m1', 'm2', 'm3']) dispatch(w, m);
    await settle(system, sup);
    expect(seen).toEqual([]);
    expect(system.snapshot()[0].children[0].mailboxLength).toBe(3);
    clock.advance(1_000);
    await settle(system, sup);
    expect(seen).toEqual(['m1', 'm2', 'm3']);
  });
});

describe('dynamic supervisor (simple_one_for_one)', () => {
  it('starts many children of one template with arguments and restarts only the one that crashed', async () => {
    const { system } = world();
    const sup = await startSupervisor(
      system,
      {
        strategy: 'simple_one_for_one',
        intensity: 5,
        backoff: noBackoff,
        template: {
          idPrefix: 'worker',
          start: (label: string) => ({
            initialState: label,
            receive: (s: string, m: Cmd) => {
              if (m === 'crash') throw new Error(s);
              return s;
            },
            options: { maxMessageRetries: 0 },
          }),
        },
      },
      'pool',
    );
    const paths = await Promise.all(['x', 'y', 'z'].map((l) => sup.startChild([l])));
    expect(paths).toEqual(['/pool/worker-1', '/pool/worker-2', '/pool/worker-3']);
    dispatch(system.lookup(actorPath<Cmd>('/pool/worker-2'))!, 'crash');
    await settle(system, sup);
    expect(sup.whichChildren().map((c) => c.restartCount)).toEqual([0, 1, 0]);
    await sup.terminateChild('worker-1');
    expect(sup.countChildren()).toEqual({ specs: 2, active: 2, supervisors: 0, workers: 2 });
  });

  it('refuses children beyond maxChildren', async () => {
    const { system } = world();
    const sup = await startSupervisor(system, { strategy: 'simple_one_for_one', maxChildren: 1, template: { idPrefix: 'w', start: scripted() } }, 'pool');
    await sup.startChild([]);
    await expect(sup.startChild([])).rejects.toThrow('maxChildren 1 reached');
  });
});

describe('addressing children by typed path', () => {
  it('a lookup at use finds the child running now; a ref kept from before its terminate and restart is stale', async () => {
    const { system, sink } = world();
    const sup = await startSupervisor(system, { strategy: 'one_for_one', intensity: 5, backoff: noBackoff, children: workers(['a']) }, 'root');
    const a = actorPath<Cmd>('/root/a');
    const before = system.lookup(a)!;
    await sup.terminateChild('a');
    await sup.restartChild('a');
    const now = system.lookup(a)!;
    expect(now).not.toBe(before);
    expect(before.tell('ok')).toBe(false);
    expect(sink.letters.map((l) => l.reason)).toEqual(['stopped']);
    expect(now.tell('ok')).toBe(true);
  });
});

describe('introspection and specs', () => {
  it('reports which children, counts and a tree snapshot with status, restarts, window, mailbox and last error', async () => {
    const { system } = world();
    const sup = await startSupervisor(
      system,
      {
        strategy: 'rest_for_one',
        intensity: 5,
        backoff: noBackoff,
        children: [...workers(['a']), { id: 'sub', type: 'supervisor', start: () => ({ strategy: 'one_for_one', children: workers(['s1']) }) }],
      },
      'root',
    );
    dispatch(sup.childRef<Cmd>('a')!, 'crash');
    await settle(system, sup);
    expect(sup.whichChildren()).toEqual([
      { id: 'a', path: '/root/a', type: 'worker', restart: 'permanent', status: 'running', restartCount: 1 },
      { id: 'sub', path: '/root/sub', type: 'supervisor', restart: 'permanent', status: 'running', restartCount: 1 },
    ]);
    expect(sup.countChildren()).toEqual({ specs: 2, active: 2, supervisors: 1, workers: 1 });
    const [root] = system.snapshot();
    expect(root).toMatchObject({ path: '/root', kind: 'supervisor', status: 'running', strategy: 'rest_for_one', restartWindow: [1_000_000] });
    expect(root.children[0]).toMatchObject({ path: '/root/a', kind: 'worker', status: 'running', restartCount: 1, mailboxLength: 0, lastError: 'Error: crash of a', lastErrorAt: 1_000_000 });
    expect(root.children[1]).toMatchObject({ path: '/root/sub', kind: 'supervisor', children: [{ path: '/root/sub/s1', kind: 'worker' }] });
  });

  it('rejects a bad child spec with an error naming the supervisor, child and field', async () => {
    const { system } = world();
    const bad = (c: object) => startSupervisor(system, { strategy: 'one_for_one', children: [c as ChildSpec] }, `r${Math.random().toString(36).slice(2)}`).catch((e) => e);
    expect((await bad({ id: 'w', start: scripted(), restart: 'always' })).message).toMatch(/child 'w': restart must be 'permanent', 'transient' or 'temporary', got "always"/);
    expect((await bad({ id: 'w', start: scripted(), shutdown: -1 })).message).toMatch(/child 'w': shutdown must be a number of ms >= 0, 'brutal' or 'infinity', got -1/);
    expect((await bad({ id: 'w', start: 'nope' })).message).toMatch(/child 'w': start must be a function, got string/);
    expect((await bad({ id: '', start: scripted() })).message).toMatch(/child spec id must be a non-empty string/);
    expect(await bad({ id: 'w', start: scripted(), type: 'daemon' })).toBeInstanceOf(SpecError);
    const flags = await startSupervisor(system, { strategy: 'one_for_some' as 'one_for_one', children: [] }, 'flags').catch((e) => e);
    expect(flags.message).toMatch(/supervisor \/flags: strategy must be one of/);
    const dup = await startSupervisor(system, { strategy: 'one_for_one', children: workers(['a', 'a']) }, 'dup').catch((e) => e);
    expect(dup.message).toBe(`supervisor /dup: duplicate child id 'a'`);
  });
});

describe('poison messages under a supervisor', () => {
  it('retries a poison message K times with restarts in between, dead-letters it, and the rest flow', async () => {
    const { system, sink } = world();
    const handled: number[] = [];
    const child: ChildSpec = {
      id: 'w',
      start: () => ({
        initialState: 0,
        receive: (s: number, m: number) => {
          if (m === 13) throw new Error('unlucky');
          handled.push(m);
          return s;
        },
        options: { maxMessageRetries: 3 },
      }),
    };
    const sup = await startSupervisor(system, { strategy: 'one_for_one', intensity: 10, backoff: noBackoff, children: [child] }, 'root');
    for (let i = 10; i < 17; i++) dispatch(sup.childRef<number>('w')!, i);
    await settle(system, sup);
    expect(handled).toEqual([10, 11, 12, 14, 15, 16]);
    expect(sink.letters).toHaveLength(1);
    expect(sink.letters[0]).toMatchObject({ reason: 'poison', target: '/root/w', message: 13, attempts: 4 });
    expect(sup.whichChildren()[0].restartCount).toBe(4);
  });
});
