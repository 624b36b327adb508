/**
 * The chaos suite's stand-in service: its sockets in a process of their own, which the
 * service-crash fault SIGKILLs, and every answer recorded in the driver's history before its
 * frame can reach shoal (a record lost with the killed process would make the checker call a
 * stored result a phantom).
 */
import { Push } from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBacktestResult, encodeBacktestRequest } from '../../protocol/index.ts';
import { PullChannel } from '../../transport/pull-channel.ts';
import { freePort } from '../../transport/free-port.ts';
import { requestInput } from '../app/pipeline-harness.ts';
import { ChaosService, NO_FAULTS } from './chaos-service.ts';
import { History } from './history.ts';
import { seededRandom } from './run.ts';
import { until } from '../wait.ts';
import { expectCrashAndRestart } from './expect-run.ts';

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function request(id: string): string {
  const e = encodeBacktestRequest({ ...requestInput(`S-${id}`), candlesFile: '/data/USDJPY_M1.csv', requestId: id });
  if (!e.ok) throw new Error(e.error.message);
  return e.value;
}

async function running() {
  const requests = `tcp://127.0.0.1:${await freePort()}`;
  const results = await PullChannel.bind('tcp://127.0.0.1:0');
  const history = new History();
  const service = new ChaosService(requests, results.endpoint, history, seededRandom(1), { ...NO_FAULTS, twice: 0.5 }, 100);
  await service.start();
  const push = new Push({ linger: 0 });
  push.connect(requests);
  cleanup.push(() => results.close(), () => push.close(), () => service.stop());
  /** Every result frame that arrives, with how many answers the history held for its request at that moment. */
  const arrived: { id: string; recorded: number }[] = [];
  void (async () => {
    for (;;) {
      const frame = await results.receive().catch(() => undefined);
      if (!frame) return;
      const d = decodeBacktestResult(frame);
      const id = d.ok ? d.value.requestId : undefined;
      if (id) arrived.push({ id, recorded: history.requests.get(id)?.answers.length ?? 0 });
    }
  })();
  const ask = async (id: string) => {
    history.plan({ requestId: id, strategy: `S-${id}`, traceparent: '', poison: false });
    await push.send(request(id));
  };
  return { service, history, arrived, ask };
}

describe('the chaos stand-in service', () => {
  it('records every answer in the history before its frame reaches the peer', async () => {
    const { history, arrived, ask } = await running();
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    for (const id of ids) await ask(id);
    await until(() => ids.every((id) => arrived.some((a) => a.id === id)), 'an answer to every request', 20_000);
    for (const id of ids) {
      const copies = arrived.filter((a) => a.id === id);
      // The k-th copy to arrive found at least k answers recorded.
      copies.forEach((c, k) => expect(c.recorded, id).toBeGreaterThanOrEqual(k + 1));
      expect(history.requests.get(id)!.sends.length).toBe(1);
    }
  }, 30_000);

  it('crashes by a SIGKILL of its process, and a new process on the same endpoints answers', async () => {
    const { service, arrived, ask } = await running();
    await ask('before');
    await until(() => arrived.some((a) => a.id === 'before'), 'the first answer', 20_000);
    await expectCrashAndRestart(service);
    await ask('after');
    await until(() => arrived.some((a) => a.id === 'after'), 'an answer from the new process', 20_000);
  }, 30_000);
});
