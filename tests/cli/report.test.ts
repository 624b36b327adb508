import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportCommand, type ReportOptions } from '../../cli/report.ts';
import type { DailySummary } from '../../domain/daily-summary.ts';
import type { EnqueueOutcome } from '../../persistence/outbox.ts';
import { applyOk, metrics, strategy, useTempStores } from '../persistence/helpers.ts';

const temp = useTempStores();
const D = Date.UTC(2026, 1, 1);
const H = 3_600_000;

/** A database with one day of activity: two requests enqueued, one sent and completed (passing), one failure, one restart. */
function database(): string {
  const store = temp.open();
  applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('A') }, { type: 'upsertStrategy', strategy: strategy('B') }], D - H);
  const [a] = applyOk(store, [{ type: 'enqueueRequest', strategyName: 'A', payload: { action: 'BACKTEST' } }], D + H) as EnqueueOutcome[];
  applyOk(store, [{ type: 'claimDue', limit: 1, leaseMs: 60_000 }], D + H + 500);
  applyOk(store, [{ type: 'applyResult', requestId: (a as { requestId: string }).requestId, result: metrics({ sharpe: 0.6 }) }], D + H + 2_500);
  applyOk(store, [{ type: 'enqueueRequest', strategyName: 'B', payload: { action: 'BACKTEST' }, nextAttemptAt: D + 30 * 24 * H }], D + 2 * H);
  applyOk(store, [{ type: 'recordFailure', kind: 'send_failure', source: '/shoal/pipeline/sender', detail: 'ECONNREFUSED' }], D + 3 * H);
  applyOk(store, [{ type: 'recordSupervisorEvent', kind: 'restart', path: '/shoal/pipeline/sender' }], D + 3 * H);
  store.close();
  return store.path;
}

async function run(argv: string[], options: ReportOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await reportCommand(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) }, { now: D + 5 * H, env: {}, ...options });
  return { code, stdout, stderr };
}

describe('shoal report daily', () => {
  it('--json prints the day summary with the figures of the database', async () => {
    const db = database();
    const r = await run(['daily', '--db', db, '--date', '2026-02-01', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const s = JSON.parse(r.stdout) as DailySummary;
    expect(s.day).toBe('2026-02-01');
    expect(s.oos).toEqual({ requested: 2, completed: 1, passed: 1, failed: 0, retried: 0, deadLettered: 0 });
    expect(s.latencyMs.enqueueToComplete).toMatchObject({ count: 1, p50: 2_500, p99: 2_500 });
    expect(s.latencyMs.sendToComplete).toMatchObject({ count: 1, p50: 2_000 });
    expect(s.failures.byKind).toEqual({ send_failure: 1 });
    expect(s.restarts.byPath).toEqual({ '/shoal/pipeline/sender': 1 });
    expect(s.oldestPending).toMatchObject({ strategyName: 'B', state: 'pending', ageMs: 3 * H });
  });

  it('prints text by default, for today (UTC) when no date is given', async () => {
    const db = database();
    const r = await run(['daily', '--db', db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('shoal daily summary for 2026-02-01 (UTC)');
    expect(r.stdout).toMatch(/requested +2\n/);
    expect(r.stdout).toMatch(/completed +1 \(passed 1, failed 0/);
    expect(r.stdout).toMatch(/send_failure +1 {2}\(\/shoal\/pipeline\/sender 1\)/);
  });

  it('reads the database named by $SHOAL_DB when --db is absent', async () => {
    const db = database();
    const r = await run(['daily', '--json', '--date=2026-01-31'], { env: { SHOAL_DB: db } });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as DailySummary).oos.requested).toBe(0);
  });

  it('exits 2 with a clear message for a bad or impossible date', async () => {
    const db = database();
    for (const date of ['2026-02-30', '01/02/2026', 'today']) {
      const r = await run(['daily', '--db', db, '--date', date]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--date must be a real UTC date as YYYY-MM-DD, got '${date}'`);
      expect(r.stdout).toBe('');
    }
  });

  it('exits 2 when the database does not exist, and creates nothing', async () => {
    const missing = path.join(temp.dir(), 'missing.db');
    const r = await run(['daily', '--db', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no database at ${missing}`);
    const { existsSync } = await import('node:fs');
    expect(existsSync(missing)).toBe(false);
  });

  it('exits 2 with the usage for a missing or unknown report kind and unknown options', async () => {
    for (const argv of [[], ['weekly'], ['daily', '--verbose'], ['daily', 'extra']]) {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('Usage: shoal report daily');
    }
  });

  it('--help prints the usage and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: shoal report daily [--db PATH] [--date YYYY-MM-DD] [--json]');
  });
});
