import type { ActorSystem } from '../runtime/index.ts';
import type { SystemEvent } from '../runtime/events.ts';
import type { Supervisor } from '../supervisors/index.ts';

/** Waits until actors are idle and every supervision decision has run (repeats, as one may cause the other). */
export async function settle(system: ActorSystem, ...sups: Supervisor[]): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await system.whenIdle();
    for (const s of sups) await s.settled();
    await new Promise((r) => setImmediate(r));
  }
  await system.whenIdle();
}

/** Records every system event (type and path) for trace assertions. */
export function recordEvents(system: ActorSystem): SystemEvent[] {
  const events: SystemEvent[] = [];
  system.events.subscribe((e) => events.push(e));
  return events;
}

export function trace(events: SystemEvent[], types: SystemEvent['type'][]): string[] {
  return events.filter((e) => types.includes(e.type)).map((e) => `${e.type} ${e.path}`);
}
