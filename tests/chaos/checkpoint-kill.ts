/**
 * The kill-during-checkpoint fault: the host checkpoints its WAL often and only then (SQLite's
 * own checkpoints off, so the WAL holds every commit since the last one), prints a line as each
 * checkpoint starts (the runtime's checkpoint event, written synchronously to the pipe before the
 * checkpoint runs), and the driver SIGKILLs it on the first such line once the cycle's requests
 * are moving. The kill landed inside when no "finished" line came after that "started" line (the
 * pipe is read to its end): the runtime never saw the checkpoint end. Where inside: the WAL still
 * held frames after the kill (killed while copying or before the WAL was emptied), or it was empty
 * (a SIGKILL sent during the truncation of a large WAL file is delivered as that call returns).
 * The database must then pass PRAGMA integrity_check before anything opens it for writing.
 */
import { statSync } from 'node:fs';
import type { OosConfigInput } from '../../app/config.ts';
import type { FaultContext } from './run.ts';
import { integrityCheck } from './store-view.ts';
import { waitFor } from './wait-for.ts';

export const checkpointKillConfig: Partial<OosConfigInput> = { checkpointIntervalMs: 2_000, walAutocheckpointPages: 0 };

const walBytes = (dbPath: string) => {
  try {
    return statSync(`${dbPath}-wal`).size;
  } catch {
    return 0;
  }
};
const kib = (bytes: number) => `${Math.round(bytes / 1_024)} KiB`;

export async function inflictKillDuringCheckpoint(c: FaultContext): Promise<string> {
  const ids = new Set(c.cycleItems.map((w) => w.requestId));
  const sends = () => [...ids].reduce((n, id) => n + (c.history.requests.get(id)?.sends.length ?? 0), 0);
  const k = 1 + Math.floor(c.random() * Math.max(1, ids.size - 1));
  await waitFor(() => sends() >= k, 30_000);
  let started: { mode?: string; walBytes?: number } | undefined;
  let finished = false;
  const listener = (msg: Record<string, unknown>) => {
    if (msg.t !== 'checkpoint') return;
    if (msg.phase === 'started' && started === undefined) {
      c.host.child.kill('SIGKILL');
      started = msg as { mode?: string; walBytes?: number };
    } else if (msg.phase === 'finished' && started !== undefined) finished = true;
  };
  c.host.lines.add(listener);
  const aimed = await waitFor(() => started !== undefined, 30_000);
  await c.kill(c.host);
  // Every line the host wrote before it died is read before judging.
  await c.host.stdoutClosed;
  c.host.lines.delete(listener);
  const walAfter = walBytes(c.dbPath);
  const integrity = integrityCheck(c.dbPath);
  if (integrity !== 'ok') c.aims.violations.push({ requestId: `checkpoint kill in cycle ${c.cycle}`, rule: 'integrity', detail: integrity });
  if (!aimed) return `no checkpoint started within 30 s; SIGKILL; integrity ${integrity}`;
  c.aims.checkpointKills++;
  if (!finished) c.aims.insideCheckpoint++;
  if (!finished && walAfter > 0) c.aims.insideWithFrames++;
  const where = finished ? 'missed: it had finished (a "finished" line came)' : `landed inside it (no "finished" line), ${walAfter > 0 ? 'the WAL not yet emptied' : 'as the WAL was emptied'}`;
  return `SIGKILL on "checkpoint started" (${started?.mode}, WAL file ${kib(started?.walBytes ?? 0)}) after ${k} sends: ${where}; WAL file after the kill ${kib(walAfter)}; integrity ${integrity}`;
}
