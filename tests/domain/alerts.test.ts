import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../persistence/helpers.ts';
import { ALERT_KINDS, deadLettersAlert, serviceSilentAlert, storeUnwritableAlert, supervisorGaveUpAlert } from '../../domain/alerts.ts';

const NOW = 1_700_000_000_000;
const MIN = 60_000;

describe('alert kinds and their sources', () => {
  it('every kind has a severity, a dedup key, a meaning and an action', () => {
    for (const spec of Object.values(ALERT_KINDS)) {
      expect(['info', 'warning', 'critical']).toContain(spec.severity);
      for (const text of [spec.keyedBy, spec.meaning, spec.action]) expect(text.length).toBeGreaterThan(0);
    }
  });

  it('docs/operations.md has a row for every kind, with its severity', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs/operations.md'), 'utf8').split('\n');
    for (const [kind, spec] of Object.entries(ALERT_KINDS)) {
      const row = doc.find((l) => l.startsWith(`| \`${kind}\` | ${spec.severity}`));
      expect(row, `docs/operations.md has a row for the alert kind ${kind}`).toBeDefined();
    }
  });

  it('dead letters alert only over the threshold, keyed by the threshold so one crossing is one alert per window', () => {
    expect(deadLettersAlert(10, 10)).toBeUndefined();
    expect(deadLettersAlert(11, 10)).toMatchObject({ kind: 'dead_letters', key: 'over 10', severity: 'warning', title: '11 dead letters wait for a decision' });
  });

  it('a supervisor giving up is critical, keyed by its path', () => {
    expect(supervisorGaveUpAlert('/shoal/pipeline', 'restart intensity exceeded')).toMatchObject({ kind: 'supervisor_gave_up', key: '/shoal/pipeline', severity: 'critical' });
  });

  it('only a full disk or a read-only database is a store alert, keyed by that class', () => {
    expect(storeUnwritableAlert('full', 'SQLITE_FULL')).toMatchObject({ kind: 'store_unwritable', key: 'full', title: 'database write failed: the disk is full' });
    expect(storeUnwritableAlert('readonly', 'SQLITE_READONLY')).toMatchObject({ key: 'readonly' });
    for (const code of ['busy', 'io', 'corrupt', 'other']) expect(storeUnwritableAlert(code, 'x')).toBeUndefined();
  });

  it('the service is silent when requests are live and for the whole period no result came and no live request was younger', () => {
    const silent = (a: { inFlight: number; lastResultAt: number; oldestLiveSince?: number }) => serviceSilentAlert({ now: NOW, ...a, oldestLiveSince: a.oldestLiveSince }, 15 * MIN, 'tcp://localhost:5580');
    expect(silent({ inFlight: 0, lastResultAt: NOW - 60 * MIN })).toBeUndefined();
    expect(silent({ inFlight: 2, lastResultAt: NOW - 60 * MIN, oldestLiveSince: NOW - 14 * MIN })).toBeUndefined();
    expect(silent({ inFlight: 2, lastResultAt: NOW - MIN, oldestLiveSince: NOW - 60 * MIN })).toBeUndefined();
    expect(silent({ inFlight: 2, lastResultAt: NOW - 16 * MIN, oldestLiveSince: NOW - 20 * MIN })).toMatchObject({ kind: 'service_silent', key: 'tcp://localhost:5580', title: 'backtest service silent for 16 min' });
  });
});
