import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { echoEngine, withDelay, type BacktestEngine } from '../../backtester/engines.ts';
import { startBacktestService } from '../../backtester/service.ts';
import { countByState } from '../../persistence/outbox.ts';
import { openStore } from '../../persistence/connection.ts';
import { count, exited, spawnFixture, useTempStores, waitForLine } from '../persistence/helpers.ts';
import { freePort, until } from './pipeline-harness.ts';

const temp = useTempStores();

describe('the runtime killed with SIGKILL mid-run', () => {
  it('is restarted and every one of 1,000 requests ends done exactly once', async () => {
    const dir = temp.dir();
    const dbPath = path.join(dir, 'shoal.db');
    const requestEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    const resultEndpoint = `tcp://127.0.0.1:${await freePort()}`;
    // The service answers 200 requests, then holds the rest until the runtime has been killed: the
    // kill lands mid-run however slow or fast the machine is.
    const gate = heldAfter(200);
    const service = await startBacktestService({ bind: requestEndpoint, resultEndpoint, engine: gate.engine });
    const args = [dbPath, requestEndpoint, resultEndpoint];

    const child = spawnFixtureWithEnv(args, { ENQUEUE: '1000' });
    await waitForLine(child, 'enqueued', 60_000);
    let reader = openStore({ path: dbPath, readonly: true });
    await until(() => countByState(reader).done >= 150, 'some requests done', 60_000);
    child.kill('SIGKILL');
    expect((await exited(child)).signal).toBe('SIGKILL');
    const atKill = countByState(reader);
    expect(atKill.done).toBeLessThanOrEqual(200);

    const restarted = spawnFixtureWithEnv(args, {});
    await waitForLine(restarted, 'running', 60_000);
    gate.open();
    await until(() => countByState(reader).done === 1_000, 'all 1,000 done after the restart', 120_000);
    reader.close();
    reader = openStore({ path: dbPath, readonly: true });
    expect(countByState(reader)).toEqual({ pending: 0, in_flight: 0, done: 1_000, dead: 0, superseded: 0 });
    expect(count(reader, 'oos_results')).toBe(1_000);
    expect(count(reader, 'strategies', 'oos_request_id is not null')).toBe(1_000);
    // each strategy holds the result of its own, single request
    expect(count(reader, 'strategies s', 'oos_request_id = (select request_id from oos_requests r where r.strategy_name = s.name)')).toBe(1_000);
    restarted.kill('SIGKILL');
    await exited(restarted);
    reader.close();
    await service.stop();
  }, 240_000);
});

/** An echo engine (2 ms a request) that answers `n` requests, then holds every later one until `open()`. */
function heldAfter(n: number): { engine: BacktestEngine; open(): void } {
  let answered = 0;
  let opened = false;
  const held: (() => void)[] = [];
  const echo = withDelay(echoEngine, 2);
  return {
    engine: (req) => {
      if (opened || answered < n) {
        answered++;
        return echo(req);
      }
      return new Promise<void>((resolve) => held.push(resolve)).then(() => echo(req));
    },
    open() {
      opened = true;
      for (const release of held.splice(0)) release();
    },
  };
}

function spawnFixtureWithEnv(args: string[], env: Record<string, string>) {
  return spawnFixture('../../app/fixtures/runtime-process.ts', args, env);
}
