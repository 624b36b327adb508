/**
 * The sender and a backtest service that crashes: the requests in flight to it when its
 * connection drops are sent again, under the same request ids, as soon as it is back, not after
 * their leases. The service is the bundled one in a child process, killed with SIGKILL.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getRequest } from '../../persistence/outbox.ts';
import { count, exited, REPO_ROOT, useTempStores, waitForLine } from '../persistence/helpers.ts';
import { hostStrategy, pipeline, requestInput, until } from '../app/pipeline-harness.ts';

const temp = useTempStores();
const BUILT_SERVICE = path.join(REPO_ROOT, 'dist/backtester/main.js');
const children: ChildProcessWithoutNullStreams[] = [];

/** The bundled service as its own process; resolves once it listens (retrying while the port is still held). */
async function startService(bind: string, results: string, delayMs: number): Promise<ChildProcessWithoutNullStreams> {
  for (;;) {
    const child = spawn(process.execPath, [BUILT_SERVICE, '--engine', 'echo', '--delay-ms', String(delayMs), '--concurrency', '8', '--bind', bind, '--results', results], { stdio: 'pipe' });
    children.push(child);
    try {
      await waitForLine(child, `backtester listening on ${bind}, results to ${results}`, 20_000);
      return child;
    } catch (e) {
      if (!/in use/i.test((e as Error).message)) throw e;
    }
  }
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('sender: resend on service reconnect', () => {
  it('requests in flight to a service killed with SIGKILL are sent again under the same ids once it is back, long before their lease would end, each lost attempt recorded as service_lost', async () => {
    // A lease far beyond the test's wait: a completion can only come from the resend.
    const p = await pipeline(temp.dir(), { config: { leaseMs: 600_000, window: 8 } });
    let service = await startService(p.requestEndpoint, p.resultEndpoint, 4_000);
    await p.connected();
    const names = Array.from({ length: 8 }, (_, i) => `R${i}`);
    await p.shoal.upsertStrategies(names.map((n) => hostStrategy(n)));
    const ids: string[] = [];
    for (const n of names) {
      const o = await p.shoal.enqueue(n, requestInput(n));
      if (o.status !== 'enqueued') throw new Error(`${n}: ${JSON.stringify(o)}`);
      ids.push(o.requestId);
    }
    await p.waitFor(() => count(p.reader, 'oos_requests', "state = 'in_flight'") === 8 && p.shoal.stats.sender.sent >= 8, 'all 8 requests in flight');

    service.kill('SIGKILL');
    await exited(service);
    await until(() => p.shoal.stats.sender.peers === 0, 'the sender to see the service go');
    service = await startService(p.requestEndpoint, p.resultEndpoint, 0);

    const outcomes = await Promise.all(ids.map((id) => p.shoal.outcome(id, { timeoutMs: 60_000 })));
    expect(outcomes.map((o) => o.status)).toEqual(ids.map(() => 'done'));
    for (const id of ids) {
      const req = getRequest(p.reader, id)!;
      expect(req.state).toBe('done');
      expect(req.history.filter((a) => a.outcome === 'service_lost')).toHaveLength(1);
    }
    expect(count(p.reader, 'oos_results')).toBe(8);
    expect(count(p.reader, 'failure_events', "kind = 'service_lost'")).toBe(8);
    expect(count(p.reader, 'failure_events', "kind = 'timeout'")).toBe(0);
    expect(p.shoal.stats.sender.resentAfterServiceLost).toBe(8);
    await p.close();
  }, 90_000);
});
