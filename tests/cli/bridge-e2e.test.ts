/**
 * Bridge mode end to end, three processes as deployed: a stand-in host (its own process: PUSH to
 * the intake, PULL bound for results), `shoal start --bridge` (the built CLI) and the bundled
 * backtest service (dist/backtester/main.js), each killed with SIGKILL and restarted while
 * requests flow. Every request the host sent gets exactly one stored result and reaches the host;
 * a result the host receives twice is counted and reported, and only ever comes from another
 * shoal or host process than its first copy (a re-forward after a crash), never twice from one pair.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../persistence/connection.ts';
import { auditStore, formatAudit } from '../../persistence/audit.ts';
import { getRequest } from '../../persistence/outbox.ts';
import { countForwardsByState } from '../../persistence/host-forwards.ts';
import { freePort } from '../../transport/free-port.ts';
import { csv, validLines } from '../domain/candles/fixtures.ts';
import { exited, REPO_ROOT, useTempStores, waitForLine } from '../persistence/helpers.ts';
import { until } from '../wait.ts';
import { startService, type RunningService } from './service-process.ts';

const temp = useTempStores();
const BUILT_SERVICE = path.join(REPO_ROOT, 'dist/backtester/main.js');
const HOST = path.join(REPO_ROOT, 'tests/cli/fixtures/stand-in-host.ts');
const children: ChildProcessWithoutNullStreams[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const alive = (c: ChildProcessWithoutNullStreams) => c.exitCode === null && c.signalCode === null;

async function killed(c: ChildProcessWithoutNullStreams): Promise<void> {
  c.kill('SIGKILL');
  await exited(c);
}

describe('shoal start --bridge with a host and a service, each killed and restarted', () => {
  it('every request the host sent gets exactly one stored result and reaches the host; duplicates only across a crash, counted', async () => {
    const dir = temp.dir();
    const db = path.join(dir, 'shoal.db');
    fs.writeFileSync(path.join(dir, 'USDJPY_M1.csv'), csv(validLines(100)));
    const [intake, hostResults, service, serviceResults] = await Promise.all([freePort(), freePort(), freePort(), freePort()]).then((ps) => ps.map((p) => `tcp://127.0.0.1:${p}`));
    const config = path.join(dir, 'shoal.json');
    // A lease that bounds how long a result lost with a killed shoal is waited for; fast retries.
    fs.writeFileSync(
      config,
      JSON.stringify({ leaseMs: 8_000, retry: { maxAttempts: 20, backoff: { minMs: 100, maxMs: 1_000, factor: 2, jitter: 0.2, resetAfterMs: 0, firstImmediate: false } }, replay: { replayAtStartup: false } }),
    );
    const ids = Array.from({ length: 90 }, (_, i) => `e2e-${i}`);

    // ---- the three processes ----
    let shoalGen = 0;
    let hostGen = 0;
    const sent = new Set<string>();
    const receipts: { id: string; shoal: number; host: number }[] = [];
    const got = () => new Set(receipts.map((r) => r.id));

    const startShoal = async (): Promise<RunningService> => {
      const s = startService(['--bridge', '--config', config, '--db', db, '--data-dir', dir, '--intake', intake, '--host-results', hostResults, '--service', service, '--service-results', serviceResults, '--window', '8'], { SHOAL_LOG_LEVEL: 'info' });
      children.push(s.child);
      await s.line('intake_bound', 30_000);
      return s;
    };
    const startBacktester = async (): Promise<ChildProcessWithoutNullStreams> => {
      for (;;) {
        const c = spawn(process.execPath, [BUILT_SERVICE, '--engine', 'echo', '--delay-ms', '20', '--concurrency', '4', '--bind', service, '--results', serviceResults], { stdio: 'pipe' });
        children.push(c);
        try {
          await waitForLine(c, `backtester listening on ${service}, results to ${serviceResults}`, 30_000);
          return c;
        } catch (e) {
          if (!/in use/i.test((e as Error).message)) throw e;
        }
      }
    };
    const startHost = async (toSend: string[]): Promise<ChildProcessWithoutNullStreams> => {
      const gen = ++hostGen;
      const c = spawn(process.execPath, ['--import', 'tsx', HOST, intake, hostResults, 'USDJPY_M1.csv', '30', toSend.join(',')], { cwd: REPO_ROOT, stdio: 'pipe' });
      children.push(c);
      let partial = '';
      c.stdout.on('data', (chunk: Buffer) => {
        partial += chunk.toString();
        const lines = partial.split('\n');
        partial = lines.pop()!;
        for (const l of lines) {
          const [what, id] = l.split(' ');
          if (what === 'sent') sent.add(id);
          else if (what === 'got') receipts.push({ id, shoal: shoalGen, host: gen });
        }
      });
      await waitForLine(c, 'ready', 30_000);
      return c;
    };

    let backtester = await startBacktester();
    shoalGen++;
    let shoal = await startShoal();
    let host = await startHost(ids);

    // ---- kills while requests flow ----
    await until(() => sent.size >= 15, 'the host to send 15 requests', 30_000);
    await killed(backtester);
    backtester = await startBacktester();

    await until(() => sent.size >= 35, 'the host to send 35 requests', 30_000);
    await killed(shoal.child);
    shoalGen++;
    shoal = await startShoal();

    await until(() => sent.size >= 60, 'the host to send 60 requests', 30_000);
    await killed(host);
    // The host, restarted, asks again for what it sent without an answer and sends the rest (the
    // same ids: a request id the bridge holds already is not taken twice).
    const answered = got();
    host = await startHost(ids.filter((id) => !answered.has(id)));

    await until(() => got().size === ids.length, `the host to receive a result for each of its ${ids.length} requests`, 90_000);
    expect(alive(backtester) && alive(host)).toBe(true);

    // ---- a clean stop, then the store ----
    shoal.child.kill('SIGTERM');
    expect((await shoal.exited).code).toBe(0);
    const store = openStore({ path: db, readonly: true });
    try {
      for (const id of ids) expect(getRequest(store, id), id).toMatchObject({ state: 'done', origin: 'host' });
      const audit = auditStore(store);
      expect(audit).toMatchObject({ requests: ids.length, done: ids.length, results: ids.length, superseded: 0, lost: 0, appliedTwice: 0 });
      expect(countForwardsByState(store)).toEqual({ pending: 0, forwarded: ids.length, dead: 0 });

      // Duplicates on the host side: counted; two copies never come from the same shoal and host processes.
      const byId = new Map<string, { shoal: number; host: number }[]>();
      for (const r of receipts) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
      let duplicates = 0;
      for (const [id, rs] of byId) {
        duplicates += rs.length - 1;
        const pairs = rs.map((r) => `${r.shoal}/${r.host}`);
        expect(new Set(pairs).size, `${id} received ${rs.length} times from shoal/host ${pairs.join(', ')}`).toBe(rs.length);
      }
      process.stdout.write(
        `bridge e2e: ${ids.length} requests, ${receipts.length} results received by the host (${duplicates} duplicates after crashes), store: ${formatAudit(audit)}\n`,
      );
    } finally {
      store.close();
    }
  }, 180_000);
});
