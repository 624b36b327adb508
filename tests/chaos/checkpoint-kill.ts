/**
 * The kill-during-checkpoint fault: the runtime checkpoints its WAL often and only then (SQLite's
 * own checkpoints off, so the WAL holds every commit since the last one), reports each checkpoint
 * as it starts (the runtime's checkpoint event, written synchronously before the checkpoint runs:
 * the direct host's `checkpoint` line, `shoal start`'s `checkpoint_started` log line), and the
 * driver SIGKILLs it on the first such report once the cycle's requests are moving. The kill
 * landed inside when no "finished" report came after that "started" one (the output is read to
 * its end): the runtime never saw the checkpoint end. Where inside: the WAL still held frames
 * after the kill (killed while copying or before the WAL was emptied), or it was empty (a SIGKILL
 * sent during the truncation of a large WAL file is delivered as that call returns). The database
 * must then pass PRAGMA integrity_check before anything opens it for writing. Shared by the direct
 * and the bridge mode.
 */
import { statSync } from 'node:fs';
import type { OosConfigInput } from '../../app/config.ts';
import { afterSomeSends, type AimedKillTarget } from './aims.ts';
import type { FaultContext } from './run.ts';
import { integrityCheck } from './store-view.ts';
import { waitFor } from './wait-for.ts';

export const checkpointKillConfig: Partial<OosConfigInput> = { checkpointIntervalMs: 2_000, walAutocheckpointPages: 0 };

/** What the fault needs of a runtime, whichever process holds it. */
export interface CheckpointKillTarget extends AimedKillTarget {
  /** Calls `listener` on each checkpoint report of the runtime as it is read; returns the unsubscribe. */
  readonly onCheckpoint: (listener: (phase: 'started' | 'finished', fields: { mode?: string; walBytes?: number }) => void) => () => void;
  /** SIGKILL now (from the listener). */
  readonly signalKill: () => void;
  /** Waits until the killed runtime has exited and its output is read to its end. */
  readonly reaped: () => Promise<void>;
}

const walBytes = (dbPath: string) => {
  try {
    return statSync(`${dbPath}-wal`).size;
  } catch {
    return 0;
  }
};
const kib = (bytes: number) => `${Math.round(bytes / 1_024)} KiB`;

export async function killDuringCheckpoint(t: CheckpointKillTarget): Promise<string> {
  const k = await afterSomeSends(t);
  let started: { mode?: string; walBytes?: number } | undefined;
  let finished = false;
  const unsubscribe = t.onCheckpoint((phase, fields) => {
    if (phase === 'started' && started === undefined) {
      t.signalKill();
      started = fields;
    } else if (phase === 'finished' && started !== undefined) finished = true;
  });
  const aimed = await waitFor(() => started !== undefined, 30_000);
  if (!aimed) t.signalKill();
  // Every report the runtime wrote before it died is read before judging.
  await t.reaped();
  unsubscribe();
  const walAfter = walBytes(t.dbPath);
  const integrity = integrityCheck(t.dbPath);
  if (integrity !== 'ok') t.aims.violations.push({ requestId: `checkpoint kill in cycle ${t.cycle}`, rule: 'integrity', detail: integrity });
  if (!aimed) return `no checkpoint started within 30 s; SIGKILL; integrity ${integrity}`;
  t.aims.checkpointKills++;
  if (!finished) t.aims.insideCheckpoint++;
  if (!finished && walAfter > 0) t.aims.insideWithFrames++;
  const where = finished ? 'missed: it had finished (a "finished" report came)' : `landed inside it (no "finished" report), ${walAfter > 0 ? 'the WAL not yet emptied' : 'as the WAL was emptied'}`;
  return `SIGKILL on "checkpoint started" (${started?.mode}, WAL file ${kib(started?.walBytes ?? 0)}) after ${k} sends: ${where}; WAL file after the kill ${kib(walAfter)}; integrity ${integrity}`;
}

/** The direct mode's host: its `{"t":"checkpoint","phase":...}` lines. */
export function inflictKillDuringCheckpoint(c: FaultContext): Promise<string> {
  const ids = new Set(c.cycleItems.map((w) => w.requestId));
  return killDuringCheckpoint({
    sends: c.sends,
    requests: ids.size,
    random: c.random,
    dbPath: c.dbPath,
    cycle: c.cycle,
    aims: c.aims,
    onCheckpoint: (listener) => {
      const onLine = (msg: Record<string, unknown>) => {
        if (msg.t === 'checkpoint' && (msg.phase === 'started' || msg.phase === 'finished')) listener(msg.phase, msg as { mode?: string; walBytes?: number });
      };
      c.host.lines.add(onLine);
      return () => c.host.lines.delete(onLine);
    },
    signalKill: () => c.host.child.kill('SIGKILL'),
    reaped: async () => {
      await c.kill(c.host);
      await c.host.stdoutClosed;
    },
  });
}
