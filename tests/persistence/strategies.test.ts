import { describe, expect, it } from 'vitest';
import { applyBatch, applyOne } from '../../persistence/batch.ts';
import { getCursor } from '../../persistence/cursors.ts';
import { getStrategy, readAllStrategies, readStrategiesChangedSince, readStrategiesChangedUpTo } from '../../persistence/strategies.ts';
import { applyOk, count, metrics, seedRequests, strategy, T0, useTempStores } from './helpers.ts';

const temp = useTempStores();
type TestStore = ReturnType<typeof temp.open>;

function rankHistory(store: TestStore, name: string) {
  return store.sqlite.prepare('select from_rank, to_rank, reason, metrics from rank_history where strategy_name = ? order by id').all(name);
}

describe('strategies: upsert', () => {
  it('a new strategy is inserted as INCUBATOR with OOS metrics unknown (NULL, never 0)', () => {
    const store = temp.open();
    const o = applyOne(store, { type: 'upsertStrategy', strategy: strategy('s') }, T0);
    expect(o).toEqual({ type: 'upsertStrategy', status: 'inserted', name: 's', changeSeq: 1 });
    expect(getStrategy(store, 's')).toMatchObject({
      rank: 'INCUBATOR',
      params: { sma_short: 5, sma_long: 20 },
      winRate: 0.45,
      oosSharpe: null,
      oosTrades: null,
      createdAt: T0,
      updatedAt: T0,
      changeSeq: 1,
    });
    expect(rankHistory(store, 's')).toEqual([{ from_rank: null, to_rank: 'INCUBATOR', reason: 'created', metrics: '{}' }]);
  });

  it('an update keeps stored values the input leaves out, never touches OOS metrics or the rank', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['s'], T0);
    applyOk(store, [{ type: 'changeRank', name: 's', expectedFrom: 'INCUBATOR', to: 'B', reason: 'criteria', metrics: {} }], T0);
    applyOk(store, [{ type: 'claimDue', limit: 1, leaseMs: 1000 }, { type: 'applyResult', requestId: id, result: metrics() }], T0);
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('s', { cpcvPassRate: 0.8 }) }], T0 + 1);
    const { cpcvPassRate: _omitted, ...rest } = strategy('s', { sharpe: 0.7, rank: 'LEGEND' });
    applyOk(store, [{ type: 'upsertStrategy', strategy: rest }], T0 + 2);
    expect(getStrategy(store, 's')).toMatchObject({ sharpe: 0.7, cpcvPassRate: 0.8, rank: 'B', oosSharpe: 0.52, oosRequestId: id, updatedAt: T0 + 2 });
  });

  it('upsert never resurrects an archived strategy unless forced', () => {
    const store = temp.open();
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('s') }], T0);
    applyOk(store, [{ type: 'changeRank', name: 's', expectedFrom: 'INCUBATOR', to: 'GRAVEYARD', reason: 'failed B criteria', metrics: {} }], T0);
    const archived = getStrategy(store, 's')!;

    const o = applyOne(store, { type: 'upsertStrategy', strategy: strategy('s', { sharpe: 2, rank: 'INCUBATOR' }) }, T0 + 1);
    expect(o).toEqual({ type: 'upsertStrategy', status: 'archived', name: 's', rank: 'GRAVEYARD' });
    expect(getStrategy(store, 's')).toEqual(archived);

    const forced = applyOne(store, { type: 'upsertStrategy', strategy: strategy('s', { sharpe: 2, rank: 'INCUBATOR' }), force: true }, T0 + 2);
    expect(forced).toMatchObject({ status: 'updated', changeSeq: archived.changeSeq + 1 });
    expect(getStrategy(store, 's')).toMatchObject({ rank: 'INCUBATOR', sharpe: 2 });
    expect(rankHistory(store, 's').at(-1)).toMatchObject({ from_rank: 'GRAVEYARD', to_rank: 'INCUBATOR', reason: 'forced upsert' });
  });

  it('a forced upsert of an archived strategy without a rank updates it but keeps it archived', () => {
    const store = temp.open();
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('s', { rank: 'RETIRED' }) }], T0);
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('s', { sharpe: 1.1 }), force: true }], T0 + 1);
    expect(getStrategy(store, 's')).toMatchObject({ rank: 'RETIRED', sharpe: 1.1 });
  });
});

describe('strategies: rank changes', () => {
  it('changeRank applies only when the current rank is the expected one, and writes rank history', () => {
    const store = temp.open();
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('s', { rank: 'B' }) }], T0);
    const seq = getStrategy(store, 's')!.changeSeq;

    const stale = applyOne(store, { type: 'changeRank', name: 's', expectedFrom: 'A', to: 'S', reason: 'x', metrics: {} }, T0 + 1);
    expect(stale).toEqual({ type: 'changeRank', status: 'conflict', name: 's', actual: 'B' });
    expect(getStrategy(store, 's')).toMatchObject({ rank: 'B', changeSeq: seq, updatedAt: T0 });

    const ok = applyOne(store, { type: 'changeRank', name: 's', expectedFrom: 'B', to: 'A', reason: 'OOS passed', metrics: { oos_sharpe: 0.52 } }, T0 + 2);
    expect(ok).toEqual({ type: 'changeRank', status: 'changed', name: 's', from: 'B', to: 'A', changeSeq: seq + 1 });
    expect(getStrategy(store, 's')).toMatchObject({ rank: 'A', changeSeq: seq + 1, updatedAt: T0 + 2 });
    expect(rankHistory(store, 's').at(-1)).toEqual({ from_rank: 'B', to_rank: 'A', reason: 'OOS passed', metrics: '{"oos_sharpe":0.52}' });

    expect(applyOne(store, { type: 'changeRank', name: 'nobody', expectedFrom: 'B', to: 'A', reason: 'x', metrics: {} }, T0)).toMatchObject({
      status: 'conflict',
      actual: null,
    });
    expect(applyOne(store, { type: 'changeRank', name: 's', expectedFrom: 'A', to: 'Z' as 'S', reason: 'x', metrics: {} }, T0).status).toBe('error');
    expect(count(store, 'rank_history', "strategy_name = 's'")).toBe(2);
  });
});

describe('strategies: change sequence and incremental reads', () => {
  it('change_seq grows by one on every write to a strategy row, across all kinds of writes', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['a', 'b'], T0);
    expect([getStrategy(store, 'a')!.changeSeq, getStrategy(store, 'b')!.changeSeq]).toEqual([1, 2]);
    applyOk(store, [{ type: 'claimDue', limit: 10, leaseMs: 1000 }, { type: 'applyResult', requestId: id, result: metrics() }], T0 + 1);
    expect(getStrategy(store, 'a')!.changeSeq).toBe(3);
    applyOk(store, [{ type: 'changeRank', name: 'b', expectedFrom: 'INCUBATOR', to: 'B', reason: 'r', metrics: {} }], T0 + 2);
    expect(getStrategy(store, 'b')!.changeSeq).toBe(4);
    applyOk(store, [{ type: 'upsertStrategy', strategy: strategy('a') }], T0 + 3);
    expect(getStrategy(store, 'a')!.changeSeq).toBe(5);
  });

  it('a reader with a change_seq watermark sees every write once, in order, a batch at a time', () => {
    const store = temp.open();
    applyOk(store, ['a', 'b', 'c', 'd'].map((n) => ({ type: 'upsertStrategy' as const, strategy: strategy(n) })), T0);
    let watermark = 0;
    const first = readStrategiesChangedSince(store, watermark, 3);
    expect(first.strategies.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    watermark = first.lastSeq;
    applyOk(store, [{ type: 'changeRank', name: 'a', expectedFrom: 'INCUBATOR', to: 'B', reason: 'r', metrics: {} }], T0 + 1);
    const second = readStrategiesChangedSince(store, watermark, 3);
    expect(second.strategies.map((s) => [s.name, s.rank])).toEqual([
      ['d', 'INCUBATOR'],
      ['a', 'B'],
    ]);
    const third = readStrategiesChangedSince(store, second.lastSeq, 3);
    expect(third).toEqual({ strategies: [], lastSeq: second.lastSeq });
  });

  it('readStrategiesChangedUpTo stops at its bound: a row written past it is left for a later read', () => {
    const store = temp.open();
    applyOk(store, ['a', 'b', 'c'].map((n) => ({ type: 'upsertStrategy' as const, strategy: strategy(n) })), T0);
    const upTo = 3;
    // A write after the bound was taken moves 'a' past it (change_seq 4).
    applyOk(store, [{ type: 'changeRank', name: 'a', expectedFrom: 'INCUBATOR', to: 'B', reason: 'r', metrics: {} }], T0 + 1);
    const first = readStrategiesChangedUpTo(store, 0, upTo, 10);
    // Read, not kept: 'a' counts as fetched.
    expect(first).toMatchObject({ fetched: 3, lastSeq: 3, done: true });
    expect(first.strategies.map((s) => s.name)).toEqual(['b', 'c']);
    expect(readStrategiesChangedUpTo(store, first.lastSeq, upTo, 2)).toEqual({ strategies: [], fetched: 0, lastSeq: 3, done: true });
    expect(readStrategiesChangedUpTo(store, first.lastSeq, 4, 2).strategies.map((s) => [s.name, s.rank])).toEqual([['a', 'B']]);
  });

  it('readStrategiesChangedUpTo reads in batches of its limit until nothing is left up to the bound', () => {
    const store = temp.open();
    applyOk(store, ['a', 'b', 'c', 'd', 'e'].map((n) => ({ type: 'upsertStrategy' as const, strategy: strategy(n) })), T0);
    const batches: string[][] = [];
    let seq = 0;
    for (;;) {
      const batch = readStrategiesChangedUpTo(store, seq, 5, 2);
      batches.push(batch.strategies.map((s) => s.name));
      seq = batch.lastSeq;
      if (batch.done) break;
    }
    expect(batches).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('readAllStrategies pages through every strategy in name order', () => {
    const store = temp.open();
    const names = Array.from({ length: 7 }, (_, i) => `s${i}`);
    applyOk(store, names.map((n) => ({ type: 'upsertStrategy' as const, strategy: strategy(n) })), T0);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = readAllStrategies(store, { after, limit: 3 });
      seen.push(...page.strategies.map((s) => s.name));
      after = page.next;
    } while (after !== null);
    expect(seen).toEqual(names);
  });
});

describe('cursors', () => {
  it('a cursor is unset until written, then holds the last value written', () => {
    const store = temp.open();
    expect(getCursor(store, 'rank-evaluator')).toBeUndefined();
    applyBatch(store, [{ type: 'setCursor', name: 'rank-evaluator', value: 10 }], T0);
    applyBatch(store, [{ type: 'setCursor', name: 'rank-evaluator', value: 42 }], T0 + 1);
    expect(getCursor(store, 'rank-evaluator')).toBe(42);
    expect(applyOne(store, { type: 'setCursor', name: 'x', value: 1.5 }, T0).status).toBe('error');
  });
});
