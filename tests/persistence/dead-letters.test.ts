import { describe, expect, it } from 'vitest';
import { applyOne } from '../../persistence/batch.ts';
import type { WriteCommand } from '../../persistence/commands.ts';
import { getDeadLetter, listDeadLetters } from '../../persistence/dead-letters.ts';
import { failureEventsSince } from '../../persistence/events.ts';
import { applyOk, T0, useTempStores } from './helpers.ts';

const temp = useTempStores();
type TestStore = ReturnType<typeof temp.open>;

function insert(store: TestStore, source: string, now = T0, requestId?: string): number {
  const cmd: WriteCommand = { type: 'insertDeadLetter', source, message: { frame: '((type . "X"))' }, error: 'decode failed', stack: 'at decode', attempts: 1 };
  if (requestId !== undefined) cmd.requestId = requestId;
  const o = applyOne(store, cmd, now);
  if (o.status !== 'inserted') throw new Error(JSON.stringify(o));
  return o.id;
}

function claim(store: TestStore, filter: { ids?: number[]; source?: string; maxReplays?: number; limit?: number }, now = T0): number[] {
  const o = applyOne(store, { type: 'claimDeadLettersForReplay', limit: filter.limit ?? 10, maxReplays: filter.maxReplays ?? 3, ids: filter.ids, source: filter.source }, now);
  if (o.status !== 'claimed') throw new Error(JSON.stringify(o));
  return o.letters.map((l) => l.id);
}

describe('dead letters', () => {
  it('a dead letter keeps the message, error, stack and attempts, and counts as a dead_letter failure', () => {
    const store = temp.open();
    const id = insert(store, 'oos/results', T0, 'req-1');
    expect(getDeadLetter(store, id)).toEqual({
      id,
      source: 'oos/results',
      message: { frame: '((type . "X"))' },
      error: 'decode failed',
      stack: 'at decode',
      attempts: 1,
      firstFailedAt: T0,
      lastFailedAt: T0,
      traceparent: null,
      replayCount: 0,
      state: 'dead',
      requestId: 'req-1',
      resolvedAt: null,
      note: null,
    });
    expect(failureEventsSince(store, 0)).toMatchObject([{ kind: 'dead_letter', source: 'oos/results', requestId: 'req-1' }]);
  });

  it('claim marks letters replaying; a returned letter is dead again with replay_count + 1 and the new error', () => {
    const store = temp.open();
    const id = insert(store, 'a');
    expect(claim(store, { ids: [id] })).toEqual([id]);
    expect(getDeadLetter(store, id)?.state).toBe('replaying');
    const o = applyOne(store, { type: 'deadLetterReturned', id, error: 'still failing' }, T0 + 100);
    expect(o).toEqual({ type: 'deadLetterReturned', status: 'returned', id, replayCount: 1 });
    expect(getDeadLetter(store, id)).toMatchObject({ state: 'dead', replayCount: 1, error: 'still failing', stack: 'at decode', lastFailedAt: T0 + 100, firstFailedAt: T0 });
    expect(failureEventsSince(store, T0 + 100)).toMatchObject([{ kind: 'replay_failed', source: 'a' }]);
  });

  it('claiming twice is idempotent: the same letters come back and nothing changes', () => {
    const store = temp.open();
    const a = insert(store, 'src');
    const b = insert(store, 'src');
    expect(claim(store, { source: 'src' })).toEqual([a, b]);
    const before = listDeadLetters(store);
    expect(claim(store, { source: 'src' })).toEqual([a, b]);
    expect(claim(store, { ids: [a] })).toEqual([a]);
    expect(listDeadLetters(store)).toEqual(before);
  });

  it('claim respects maxReplays: a letter replayed that many times is no longer claimed', () => {
    const store = temp.open();
    const id = insert(store, 'a');
    for (let i = 0; i < 2; i++) {
      expect(claim(store, { ids: [id], maxReplays: 2 })).toEqual([id]);
      applyOk(store, [{ type: 'deadLetterReturned', id, error: `again ${i}` }], T0 + i);
    }
    expect(claim(store, { ids: [id], maxReplays: 2 })).toEqual([]);
    expect(claim(store, { maxReplays: 2 })).toEqual([]);
    expect(claim(store, { ids: [id], maxReplays: 3 })).toEqual([id]);
  });

  it('claims take the oldest letters first, filtered by ids or source, up to the limit', () => {
    const store = temp.open();
    const ids = [insert(store, 'x'), insert(store, 'y'), insert(store, 'x'), insert(store, 'x')];
    expect(claim(store, { source: 'x', limit: 2 })).toEqual([ids[0], ids[2]]);
    expect(claim(store, { ids: [ids[3], ids[1]] })).toEqual([ids[1], ids[3]]);
  });

  it('a replayed letter is resolved; replaying it again is refused with its state', () => {
    const store = temp.open();
    const id = insert(store, 'a');
    claim(store, { ids: [id] });
    expect(applyOne(store, { type: 'deadLetterReplayed', id }, T0 + 5)).toEqual({ type: 'deadLetterReplayed', status: 'replayed', id });
    expect(getDeadLetter(store, id)).toMatchObject({ state: 'replayed', resolvedAt: T0 + 5 });
    expect(applyOne(store, { type: 'deadLetterReplayed', id }, T0 + 6)).toEqual({ type: 'deadLetterReplayed', status: 'wrong_state', id, state: 'replayed' });
    expect(applyOne(store, { type: 'deadLetterReturned', id, error: 'x' }, T0 + 6)).toMatchObject({ status: 'wrong_state', state: 'replayed' });
    expect(claim(store, { ids: [id] })).toEqual([]);
  });

  it('a letter that is not replaying cannot be marked replayed or returned', () => {
    const store = temp.open();
    const id = insert(store, 'a');
    expect(applyOne(store, { type: 'deadLetterReplayed', id }, T0)).toMatchObject({ status: 'wrong_state', state: 'dead' });
    expect(applyOne(store, { type: 'deadLetterReturned', id, error: 'x' }, T0)).toMatchObject({ status: 'wrong_state', state: 'dead' });
    expect(applyOne(store, { type: 'deadLetterReplayed', id: 999 }, T0)).toMatchObject({ status: 'wrong_state', state: null });
  });

  it('discard keeps the row, records the reason, and a discarded letter is never claimed', () => {
    const store = temp.open();
    const id = insert(store, 'a');
    expect(applyOne(store, { type: 'discardDeadLetter', id, reason: 'strategy deleted' }, T0 + 9)).toEqual({ type: 'discardDeadLetter', status: 'discarded', id });
    expect(getDeadLetter(store, id)).toMatchObject({ state: 'discarded', note: 'strategy deleted', resolvedAt: T0 + 9, message: { frame: '((type . "X"))' } });
    expect(claim(store, {})).toEqual([]);
    expect(applyOne(store, { type: 'discardDeadLetter', id }, T0 + 10)).toMatchObject({ status: 'wrong_state', state: 'discarded' });
  });

  it('listDeadLetters filters by state, source and request id and pages by id', () => {
    const store = temp.open();
    const a = insert(store, 'x', T0, 'r1');
    const b = insert(store, 'y');
    const c = insert(store, 'x');
    claim(store, { ids: [c] });
    expect(listDeadLetters(store).map((l) => l.id)).toEqual([a, b, c]);
    expect(listDeadLetters(store, { state: 'dead' }).map((l) => l.id)).toEqual([a, b]);
    expect(listDeadLetters(store, { source: 'x', state: 'replaying' }).map((l) => l.id)).toEqual([c]);
    expect(listDeadLetters(store, { requestId: 'r1' }).map((l) => l.id)).toEqual([a]);
    expect(listDeadLetters(store, { afterId: a, limit: 1 }).map((l) => l.id)).toEqual([b]);
  });
});
