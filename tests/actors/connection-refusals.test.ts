/**
 * Refused connections: every one is counted; each becomes a `connection_refused` failure event
 * naming the socket, the peer and its key (never a secret), at most REFUSALS_PER_SEC after a burst
 * of REFUSAL_BURST, and the ones left unrecorded are counted into the next record.
 */
import { describe, expect, it } from 'vitest';
import { actorPath, ManualClock, type ActorSystem } from '../../runtime/index.ts';
import { REFUSAL_BURST, RefusalRecorder, refusalDetail, RefusalStats } from '../../actors/connection-refusals.ts';
import type { DbWriterMessage } from '../../actors/db-writer.ts';

const refusal = { endpoint: 'tcp://127.0.0.1:5581', peer: '10.0.0.7', clientKey: 'K'.repeat(40), reason: 'client key not in the allow-list' };

function recorder(writer: boolean) {
  const told: DbWriterMessage[] = [];
  const system = { lookup: () => (writer ? { tell: (m: DbWriterMessage) => told.push(m) } : undefined) } as unknown as ActorSystem;
  const clock = new ManualClock();
  const stats = new RefusalStats();
  const r = new RefusalRecorder(system, clock, actorPath<DbWriterMessage>('/shoal/pipeline/db-writer'), '/shoal/pipeline/result-handler', stats);
  const details = () => told.flatMap((m) => (m.kind === 'write' ? m.commands.map((c) => (c.type === 'recordFailure' ? `${c.kind}: ${c.detail}` : c.type)) : []));
  return { r, clock, stats, details };
}

describe('refusalDetail', () => {
  // Rule: a refusal says where, why, and who (address and public key) when known.
  it('names the socket, the reason, the peer and its key', () => {
    expect(refusalDetail(refusal)).toBe(`handshake on tcp://127.0.0.1:5581 refused: client key not in the allow-list (peer 10.0.0.7, key ${'K'.repeat(40)})`);
    expect(refusalDetail({ endpoint: 'tcp://127.0.0.1:5581', reason: 'the peer does not use CURVE (security mechanism mismatch)' }, 3)).toBe(
      'handshake on tcp://127.0.0.1:5581 refused: the peer does not use CURVE (security mechanism mismatch); 3 earlier refusal(s) counted but not recorded',
    );
  });
});

describe('RefusalRecorder', () => {
  // Rule: a flood of refusals is counted in full but written at a bounded rate; the next record says how many were not written.
  it('counts every refusal, records a burst then one per second, and carries the unrecorded count', () => {
    const { r, clock, stats, details } = recorder(true);
    for (let i = 0; i < REFUSAL_BURST + 5; i++) r.record(refusal);
    expect(stats).toMatchObject({ refused: REFUSAL_BURST + 5, unrecorded: 5 });
    expect(details()).toHaveLength(REFUSAL_BURST);
    expect(details()[0]).toMatch(/^connection_refused: handshake on tcp:\/\/127\.0\.0\.1:5581 refused/);
    clock.advance(1_000);
    r.record(refusal);
    expect(details()).toHaveLength(REFUSAL_BURST + 1);
    expect(details().at(-1)).toMatch(/; 5 earlier refusal\(s\) counted but not recorded$/);
  });

  // Rule: with no writer (the pipeline restarting) the refusal is still counted and the next record says so.
  it('counts a refusal it cannot record', () => {
    const { r, stats, details } = recorder(false);
    r.record(refusal);
    expect(stats).toMatchObject({ refused: 1, unrecorded: 1 });
    expect(details()).toEqual([]);
  });
});
