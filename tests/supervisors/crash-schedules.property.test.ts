import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InMemoryDeadLetterSink, ManualClock, dispatch, noBackoff, start, type TreeNode } from '../../runtime/index.ts';
import { type ActorDefinition, startSupervisor } from '../../supervisors/index.ts';
import { settle } from '../kernel-helpers.ts';

const K = 2; // maxMessageRetries: a message that crashes more than K times is poison

interface Msg {
  id: number;
  /** Crashes this many times before it succeeds; > K means poison. */
  failTimes: number;
}

function walk(node: TreeNode, out: TreeNode[] = []): TreeNode[] {
  out.push(node);
  for (const c of node.children) walk(c, out);
  return out;
}

describe('random crash schedules on a supervision tree', () => {
  it('handles every non-poison message exactly once, dead-letters every poison message once, leaves no orphan and keeps counts consistent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('one_for_one', 'one_for_all', 'rest_for_one'),
        fc.array(fc.record({ target: fc.integer({ min: 0, max: 3 }), failTimes: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: K + 2 })) }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 59 }), { maxLength: 5 }),
        async (subStrategy, plan, settlePoints) => {
          const sink = new InMemoryDeadLetterSink();
          const system = start({ clock: new ManualClock(), deadLetterSink: sink, random: () => 0.5 });
          const attempts = new Map<number, number>();
          const handled = new Map<number, number>();
          const worker = (): (() => ActorDefinition) => () => ({
            initialState: 0,
            receive: (s: number, m: Msg) => {
              const a = attempts.get(m.id) ?? 0;
              if (a < m.failTimes) {
                attempts.set(m.id, a + 1);
                throw new Error(`fail ${m.id}#${a + 1}`);
              }
              handled.set(m.id, (handled.get(m.id) ?? 0) + 1);
              return s + 1;
            },
            options: { maxMessageRetries: K },
          });
          const flags = { intensity: 1_000_000, periodMs: 1_000, backoff: noBackoff };
          const root = await startSupervisor(
            system,
            {
              strategy: 'one_for_one',
              ...flags,
              children: [
                { id: 'w1', start: worker() },
                { id: 'w2', start: worker() },
                { id: 'sub', type: 'supervisor', start: () => ({ strategy: subStrategy, ...flags, children: [{ id: 's1', start: worker() }, { id: 's2', start: worker() }] }) },
              ],
            },
            'root',
          );
          const sub = root.childSupervisor('sub')!;
          const refs = [root.childRef<Msg>('w1')!, root.childRef<Msg>('w2')!, sub.childRef<Msg>('s1')!, sub.childRef<Msg>('s2')!];
          const msgs = plan.map((p, id) => ({ ...p, id }));
          for (const m of msgs) {
            dispatch(refs[m.target], { id: m.id, failTimes: m.failTimes });
            if (settlePoints.includes(m.id)) await settle(system, root, sub);
          }
          await settle(system, root, sub);

          for (const m of msgs) {
            if (m.failTimes <= K) expect(handled.get(m.id), `message ${m.id} handled once`).toBe(1);
            else expect(handled.has(m.id), `poison ${m.id} never handled`).toBe(false);
          }
          const poison = msgs.filter((m) => m.failTimes > K).map((m) => m.id);
          expect(sink.letters.map((l) => (l.message as Msg).id).sort((a, b) => a - b)).toEqual(poison);
          expect(sink.letters.every((l) => l.reason === 'poison' && l.attempts === K + 1)).toBe(true);

          const nodes = walk(system.snapshot()[0]);
          const workerPaths = nodes.filter((n) => n.kind === 'worker').map((n) => n.path).sort();
          expect(system.livePaths().sort()).toEqual(workerPaths);
          expect(nodes.every((n) => n.status === 'running' && n.mailboxLength === 0)).toBe(true);
          expect(root.countChildren()).toEqual({ specs: 3, active: 3, supervisors: 1, workers: 2 });
          expect(sub.countChildren()).toEqual({ specs: 2, active: 2, supervisors: 0, workers: 2 });
          const crashes = [...attempts.values()].reduce((a, b) => a + b, 0);
          const restarts = nodes.filter((n) => n.kind === 'worker').reduce((a, n) => a + n.restartCount, 0);
          // one_for_one: every crash restarts exactly its worker; group strategies restart more.
          if (subStrategy === 'one_for_one') expect(restarts).toBe(crashes);
          else expect(restarts).toBeGreaterThanOrEqual(crashes);
          await system.stop();
          expect(system.livePaths()).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
  });
});
