/** What the chaos suite's tests assert of a run (the account every short form checks, whichever service and mode) and of a service's crash. */
import { expect } from 'vitest';
import type { BridgeSummary } from './bridge-checker.ts';
import type { ServiceProcess } from './bundled-service.ts';
import type { ChaosReport } from './run.ts';

/** Direct mode: no violation, every planned request accepted and ended done or dead, some done. */
export function expectSoundRun(report: ChaosReport, context: string): void {
  const s = report.summary;
  expect(report.firstViolation, context).toBeUndefined();
  expect([s.lost, s.appliedTwice, s.violations.length], context).toEqual([0, 0, 0]);
  expect(s.accepted, context).toBe(s.requests);
  expect(s.done + s.dead, context).toBe(s.accepted);
  expect(s.done, context).toBeGreaterThan(0);
}

/** crash() is a SIGKILL of the service's process, gone once it returns; start() runs a new one. */
export async function expectCrashAndRestart(service: ServiceProcess): Promise<void> {
  const pid = service.pid!;
  const kills = service.kills;
  await service.crash();
  expect(service.kills).toBe(kills + 1);
  expect(() => process.kill(pid, 0)).toThrow();
  await service.start();
  expect(service.pid).not.toBe(pid);
}

/** Bridge mode: no violation; every ask the host sent is stored, refused, or counted as never stored; every stored one ended; each done one reached the host. */
export function expectSoundBridgeRun(report: ChaosReport, s: BridgeSummary, context: string): void {
  expect(report.firstViolation, context).toBeUndefined();
  expect([s.lost, s.appliedTwice, s.violations.length], context).toEqual([0, 0, 0]);
  expect(s.accepted + s.refused + s.neverStored.length, context).toBe(s.requests);
  expect(s.done + s.dead + s.superseded, context).toBe(s.accepted);
  expect(s.done, context).toBeGreaterThan(0);
  expect(s.hostReceived - s.duplicatesToHost, context).toBe(s.done);
}
