import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { countAlertDeliveries, getAlert } from '../../persistence/alerts.ts';
import { REPO_ROOT, useTempStores, waitForLine } from '../persistence/helpers.ts';
import { until } from '../wait.ts';
import { WebhookServer } from './webhook-server.ts';

const temp = useTempStores();
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function startChild(dir: string, url: string): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tests/actors/fixtures/alert-process.ts'), dir, url], { cwd: REPO_ROOT, stdio: 'pipe' });
  children.push(child);
  return child;
}

const exited = (c: ChildProcessWithoutNullStreams) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve())));

describe('notifier across a crash', () => {
  it('an alert stored before a SIGKILL in the middle of its POST is delivered exactly once after the restart, as the receiver counts it by alert id', async () => {
    const dir = temp.dir();
    const server = await new WebhookServer((_r, n) => (n === 1 ? 'hang' : { status: 204 })).start();
    try {
      const first = startChild(dir, server.url());
      await waitForLine(first, 'raised', 60_000);
      // The first POST reached the receiver, which holds it open: the process dies mid-delivery.
      await until(() => server.requests.length === 1, 'the first POST', 60_000);
      first.kill('SIGKILL');
      await exited(first);
      const id = server.requests[0].alertId!;
      expect(server.delivered.size).toBe(0);

      const second = startChild(dir, server.url());
      // The same alert raised again after the restart is absorbed by the stored one.
      // Both awaited from the start: the delivery may go out before the repeat is handled.
      await Promise.all([waitForLine(second, 'deduplicated', 60_000), waitForLine(second, 'delivery sent', 60_000)]);
      expect([...server.delivered]).toEqual([[id, 1]]);
      expect(server.requests.map((r) => r.alertId)).toEqual([id, id]);
      const reader = temp.open({ path: path.join(dir, 'shoal.db'), readonly: true });
      expect(getAlert(reader, id)).toMatchObject({ repeats: 1, deliveries: [{ target: 'ops', state: 'sent', attempts: 2 }] });
      expect(countAlertDeliveries(reader)).toEqual({ pending: 0, sent: 1, dead: 0 });
      second.kill('SIGKILL');
      await exited(second);
    } finally {
      await server.close();
    }
  }, 180_000);
});
