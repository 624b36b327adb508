/** A small supervised tree for actor tests: the db-writer with the persisted dead-letter sink, plus test children. */
import path from 'node:path';
import { actorPath, type ActorRef, type ActorSystem, type Clock, noBackoff, start } from '../../runtime/index.ts';
import { type ChildSpec, startSupervisor, type Supervisor } from '../../supervisors/index.ts';
import { dbWriter, DbWriterHealth, type DbWriterConfig, type DbWriterMessage } from '../../actors/db-writer.ts';
import { PersistedDeadLetterSink } from '../../actors/dead-letter-sink.ts';
import { DeadLetterSpool } from '../../persistence/dead-letter-spool.ts';
import type { BackoffPolicy } from '../../runtime/backoff.ts';
import type { SenderMessage } from '../../actors/sender.ts';
import type { NotifierMessage } from '../../actors/notifier.ts';
import type { DataGateMessage } from '../../actors/data-gate.ts';

/** Where the test tree's children run (its supervisor is /t), with the messages they take. */
export const WRITER = actorPath<DbWriterMessage>('/t/db-writer');
export const SENDER = actorPath<SenderMessage>('/t/sender');
export const NOTIFIER = actorPath<NotifierMessage>('/t/notifier');
export const GATE = actorPath<DataGateMessage>('/t/data-gate');

export interface WriterTree {
  system: ActorSystem;
  sup: Supervisor;
  writer: ActorRef<DbWriterMessage>;
  health: DbWriterHealth;
  config: { -readonly [K in keyof DbWriterConfig]: DbWriterConfig[K] };
  spool: DeadLetterSpool;
  dbPath: string;
}

export async function writerTree(dir: string, options: { clock?: Clock; extra?: ChildSpec[]; config?: Partial<DbWriterConfig>; backoff?: BackoffPolicy } = {}): Promise<WriterTree> {
  const dbPath = path.join(dir, 'shoal.db');
  const system = start({ clock: options.clock, random: () => 0.5 });
  const spool = new DeadLetterSpool(`${dbPath}.deadletters.jsonl`);
  system.deadLetterSink = new PersistedDeadLetterSink(system, WRITER, spool);
  const health = new DbWriterHealth();
  const config = { path: dbPath, spool, checkpointIntervalMs: 0, ...options.config };
  const sup = await startSupervisor(
    system,
    { strategy: 'one_for_one', intensity: 1_000, periodMs: 1_000, backoff: options.backoff ?? noBackoff, children: [{ id: 'db-writer', start: () => dbWriter(config, health) }, ...(options.extra ?? [])] },
    't',
  );
  return {
    system,
    sup,
    // Looked up each time: a terminated and restarted child is a new actor.
    get writer() {
      return sup.childRef<DbWriterMessage>('db-writer')!;
    },
    health,
    config,
    spool,
    dbPath,
  };
}
