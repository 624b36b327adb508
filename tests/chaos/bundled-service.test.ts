/**
 * The chaos driver's bundled service (bundled-service.ts): the built backtester as a child process
 * that answers on the run's endpoints, fails its poison strategies, and crashes by a real SIGKILL
 * of its process, after which a new one on the same endpoints answers.
 */
import { Push } from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBacktestResult, encodeBacktestRequest, type BacktestResult } from '../../protocol/index.ts';
import { PullChannel } from '../../transport/pull-channel.ts';
import { freePort } from '../../transport/free-port.ts';
import { requestInput } from '../app/pipeline-harness.ts';
import { BundledService } from './bundled-service.ts';
import { POISON_ERROR } from './chaos-service.ts';
import { until } from '../wait.ts';
import { expectCrashAndRestart } from './expect-run.ts';

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function running() {
  const requests = `tcp://127.0.0.1:${await freePort()}`;
  const results = await PullChannel.bind('tcp://127.0.0.1:0');
  const service = new BundledService(requests, results.endpoint, ['P-OOS']);
  await service.start();
  const push = new Push({ linger: 0 });
  push.connect(requests);
  cleanup.push(() => results.close(), () => push.close(), () => service.stop());
  const answers = new Map<string, BacktestResult>();
  void (async () => {
    for (;;) {
      const frame = await results.receive().catch(() => undefined);
      if (!frame) return;
      const d = decodeBacktestResult(frame);
      if (d.ok && d.value.requestId) answers.set(d.value.requestId, d.value);
    }
  })();
  const ask = async (id: string, strategy: string) => {
    const e = encodeBacktestRequest({ ...requestInput(strategy), candlesFile: '/data/USDJPY_M1.csv', requestId: id });
    if (!e.ok) throw new Error(e.error.message);
    await push.send(e.value);
  };
  const answered = (id: string) => until(() => answers.has(id), `an answer to ${id}`, 20_000);
  return { service, answers, ask, answered };
}

describe('the chaos driver\'s bundled service', () => {
  it('answers a request, fails a poison strategy with the stand-in\'s error, and after a SIGKILL of its process a new one on the same endpoints answers', async () => {
    const { service, answers, ask, answered } = await running();
    await ask('healthy', 'H');
    await ask('poison', 'P');
    await answered('healthy');
    await answered('poison');
    expect(answers.get('healthy')?.kind).not.toBe('error');
    expect(answers.get('poison')).toMatchObject({ kind: 'error', error: POISON_ERROR });
    await expectCrashAndRestart(service);
    await ask('after', 'H');
    await answered('after');
  }, 60_000);
});
