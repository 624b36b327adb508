/**
 * What the aimed faults did: whether each landed where it was aimed (a SIGKILL inside a
 * checkpoint, a clock step while a lease and a backoff were running), for the run's summary, and
 * the violations they judged as they happened, for the checker.
 */
import type { Violation } from './checker.ts';
import { waitFor } from './wait-for.ts';

export class Aims {
  /** SIGKILLs sent on a "checkpoint started" line, those that landed before it finished, and of those the ones that left frames in the WAL. */
  checkpointKills = 0;
  insideCheckpoint = 0;
  insideWithFrames = 0;
  /** SIGKILLs aimed inside a commit (commit-kill.ts), those that landed inside an open write transaction, and of those the ones whose store after the kill held none of it. */
  commitKills = 0;
  insideCommit = 0;
  allOrNothing = 0;
  /** Wall-clock steps of the host, and how they reached it (libfaketime or a replaced Date.now). */
  clockJumps = 0;
  clockVia = '';
  spuriousTimeouts = 0;
  stuck = 0;
  /** Faults this machine cannot inflict, each with why (a cycle that ran without its fault). */
  readonly skipped: string[] = [];
  readonly violations: Violation[] = [];
}

/** What a SIGKILL aimed at a point inside the runtime (checkpoint-kill.ts, commit-kill.ts) needs of it, whichever process holds it. */
export interface AimedKillTarget {
  /** Sends of the cycle's requests the service has seen so far, and how many requests the cycle has. */
  readonly sends: () => number;
  readonly requests: number;
  readonly random: () => number;
  readonly dbPath: string;
  readonly cycle: number;
  readonly aims: Aims;
}

/** Waits (30 s at most) until the service has seen k of the cycle's sends, k drawn from the seed (1 to one less than the requests): the cycle's requests are moving. Returns k. */
export async function afterSomeSends(t: AimedKillTarget): Promise<number> {
  const k = 1 + Math.floor(t.random() * Math.max(1, t.requests - 1));
  await waitFor(() => t.sends() >= k, 30_000);
  return k;
}
