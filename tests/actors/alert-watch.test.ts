import { describe, expect, it } from 'vitest';
import { actorPath, ManualClock } from '../../runtime/index.ts';
import { alertWatch, lookAtStore, type AlertWatchConfig } from '../../actors/alert-watch.ts';
import type { Notification, NotifierMessage } from '../../actors/notifier.ts';
import { applyOk, seedRequests, T0, useTempStores } from '../persistence/helpers.ts';
import { until } from '../wait.ts';
import { NOTIFIER, writerTree } from './writer-tree.ts';

const temp = useTempStores();
const MIN = 60_000;

function config(dbPath: string, over: Partial<AlertWatchConfig> = {}): AlertWatchConfig {
  return { dbPath, notifierPath: actorPath<NotifierMessage>(NOTIFIER), deadLetterThreshold: 2, serviceSilentMs: 15 * MIN, endpoint: 'tcp://svc:5580', lastResultAt: () => undefined, intervalMs: MIN, ...over };
}

const letter = (i: number) => ({ type: 'insertDeadLetter' as const, source: '/t/x', message: { i }, error: 'boom', attempts: 1 });

describe('alert watch', () => {
  it('dead letters over the threshold and a silent service are alerts; under the threshold and with recent results they are not', () => {
    const store = temp.open();
    seedRequests(store, ['S1'], T0);
    applyOk(store, [letter(1), letter(2)], T0);
    const c = config(store.path);
    expect(lookAtStore(store, c, T0 + 5 * MIN, T0)).toEqual([]);
    applyOk(store, [letter(3)], T0);
    expect(lookAtStore(store, c, T0 + 20 * MIN, T0).map((a) => [a.kind, a.key])).toEqual([
      ['dead_letters', 'over 2'],
      ['service_silent', 'tcp://svc:5580'],
    ]);
    // A result a minute ago: the service is alive, whatever waits.
    expect(lookAtStore(store, config(store.path, { lastResultAt: () => T0 + 19 * MIN }), T0 + 20 * MIN, T0).map((a) => a.kind)).toEqual(['dead_letters']);
  });

  it('looks on its period (injected clock) and raises what it finds through the notifier', async () => {
    const clock = new ManualClock(T0);
    const dir = temp.dir();
    const got: Notification[] = [];
    const t = await writerTree(dir, {
      clock,
      extra: [
        { id: 'notifier', start: () => ({ initialState: undefined, receive: (s: undefined, m: NotifierMessage) => (m.kind === 'notify' && got.push(m), s) }) },
        { id: 'alert-watch', start: () => alertWatch(config(`${dir}/shoal.db`)) },
      ],
    });
    const store = temp.open({ path: `${dir}/shoal.db` });
    applyOk(store, [letter(1), letter(2), letter(3)], T0);
    expect(got).toEqual([]);
    clock.advance(MIN);
    await until(() => got.length === 1, 'the alert');
    expect(got[0]).toMatchObject({ topic: 'dead_letters', key: 'over 2', severity: 'warning', title: '3 dead letters wait for a decision' });
    await t.system.stop();
  });
});
