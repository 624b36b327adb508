import { describe, expect, it } from 'vitest';
import { applyBatch, applyOne } from '../../persistence/batch.ts';
import { failureEventsSince } from '../../persistence/events.ts';
import { getRequest } from '../../persistence/outbox.ts';
import { getResult } from '../../persistence/results.ts';
import { getStrategy } from '../../persistence/strategies.ts';
import { applyOk, count, metrics, seedRequests, T0, useTempStores } from './helpers.ts';

const temp = useTempStores();

function claimAll(store: ReturnType<typeof temp.open>, now: number) {
  applyOk(store, [{ type: 'claimDue', limit: 100, leaseMs: 30_000 }], now);
}

describe('applying results', () => {
  it('a long trade list (whole chunks and a remainder) is stored in full, a repeated timestamp once', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['s'], T0);
    claimAll(store, T0);
    const tradeList = Array.from({ length: 150 }, (_, k) => ({ timestamp: T0 + k * 60_000, pnl: k / 100 }));
    tradeList[100] = { ...tradeList[99] }; // the service sent one trade twice
    const o = applyOne(store, { type: 'applyResult', requestId: id, result: metrics({ trades: 150, tradeList }) }, T0 + 500);
    expect(o).toMatchObject({ status: 'applied', tradesInserted: 149 });
    const stored = getResult(store, id)!.tradeList;
    expect(stored).toHaveLength(149);
    expect(stored).toEqual(tradeList.filter((_, k) => k !== 100));
  });

  it('a result stores its row and trades, sets the strategy OOS metrics and completes the request, in one step', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['s'], T0);
    claimAll(store, T0);
    const seqBefore = getStrategy(store, 's')!.changeSeq;
    const o = applyOne(store, { type: 'applyResult', requestId: id, result: metrics() }, T0 + 500);
    expect(o).toEqual({
      type: 'applyResult',
      status: 'applied',
      requestId: id,
      strategyName: 's',
      previousState: 'in_flight',
      strategyUpdated: true,
      changeSeq: seqBefore + 1,
      tradesInserted: 2,
      forward: false,
      // For latency metrics and tracing: the request's enqueue and send times, its stored trace context.
      enqueuedAt: T0,
      sentAt: T0,
      traceparent: null,
    });
    expect(getResult(store, id)).toMatchObject({ strategyName: 's', trades: 212, winRate: 0.5566, sharpe: 0.52, receivedAt: T0 + 500, tradeList: metrics().tradeList });
    expect(getStrategy(store, 's')).toMatchObject({
      oosSharpe: 0.52,
      oosProfitFactor: 1.34,
      oosWinRate: 0.5566,
      oosMaxDd: 0.031,
      oosTrades: 212,
      oosRequestId: id,
      oosCompletedAt: T0 + 500,
      updatedAt: T0 + 500,
      changeSeq: seqBefore + 1,
    });
    const r = getRequest(store, id)!;
    expect(r).toMatchObject({ state: 'done', completedAt: T0 + 500, leaseUntil: null });
    expect(r.history[0]).toMatchObject({ outcome: 'result', at: T0 + 500 });
  });

  it('a result applied twice has one effect; the second is a counted duplicate', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['s'], T0);
    claimAll(store, T0);
    applyOk(store, [{ type: 'applyResult', requestId: id, result: metrics() }], T0 + 1);
    const after = getStrategy(store, 's')!;
    const second = applyBatch(
      store,
      [
        { type: 'applyResult', requestId: id, result: metrics({ sharpe: 9 }) },
        { type: 'applyResult', requestId: id, result: metrics({ sharpe: 9 }) },
      ],
      T0 + 2,
    );
    expect(second).toEqual([
      { type: 'applyResult', status: 'duplicate', requestId: id },
      { type: 'applyResult', status: 'duplicate', requestId: id },
    ]);
    expect(count(store, 'oos_results')).toBe(1);
    expect(count(store, 'oos_trades')).toBe(2);
    expect(getStrategy(store, 's')).toEqual(after);
    expect(getRequest(store, id)?.completedAt).toBe(T0 + 1);
    expect(failureEventsSince(store, 0).filter((e) => e.kind === 'duplicate_result').length).toBe(2);
  });

  it('a late result for a retried request completes it once', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['s'], T0);
    claimAll(store, T0);
    applyOk(store, [{ type: 'retryRequest', requestId: id, nextAttemptAt: T0 + 10_000, error: 'timeout', failureKind: 'timeout' }], T0 + 30_000);
    const late = applyOne(store, { type: 'applyResult', requestId: id, result: metrics() }, T0 + 31_000);
    expect(late).toMatchObject({ status: 'applied', previousState: 'pending', strategyUpdated: true });
    expect(getRequest(store, id)).toMatchObject({ state: 'done', completedAt: T0 + 31_000 });
    // No longer due: the retry will not be sent.
    const claimed = applyOne(store, { type: 'claimDue', limit: 10, leaseMs: 1 }, T0 + 40_000);
    expect(claimed.status === 'claimed' && claimed.requests).toEqual([]);
    expect(applyOne(store, { type: 'applyResult', requestId: id, result: metrics() }, T0 + 41_000).status).toBe('duplicate');
    expect(count(store, 'oos_results')).toBe(1);
  });

  it('a late result for a dead-lettered request completes it once', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['s'], T0);
    claimAll(store, T0);
    applyOk(store, [{ type: 'deadLetterRequest', requestId: id, error: 'gave up', failureKind: 'timeout', source: 'oos' }], T0 + 1);
    expect(applyOne(store, { type: 'applyResult', requestId: id, result: metrics() }, T0 + 2)).toMatchObject({ status: 'applied', previousState: 'dead' });
    expect(getRequest(store, id)?.state).toBe('done');
    expect(getStrategy(store, 's')?.oosSharpe).toBe(0.52);
    expect(applyOne(store, { type: 'applyResult', requestId: id, result: metrics() }, T0 + 3).status).toBe('duplicate');
  });

  it('a result for an unknown request is an orphan: counted, nothing else written', () => {
    const store = temp.open();
    seedRequests(store, ['s'], T0);
    const o = applyOne(store, { type: 'applyResult', requestId: 'unknown-id', result: metrics() }, T0 + 1);
    expect(o).toEqual({ type: 'applyResult', status: 'orphan', requestId: 'unknown-id' });
    expect(count(store, 'oos_results')).toBe(0);
    expect(failureEventsSince(store, 0)).toMatchObject([{ kind: 'orphan_result', requestId: 'unknown-id', source: 'results' }]);
    expect(getStrategy(store, 's')?.oosSharpe).toBeNull();
  });

  it('a win rate given as a percent is refused for that command only', () => {
    const store = temp.open();
    const [a, b] = seedRequests(store, ['a', 'b'], T0);
    claimAll(store, T0);
    const out = applyBatch(
      store,
      [
        { type: 'applyResult', requestId: a, result: metrics({ winRate: 55.66 }) },
        { type: 'applyResult', requestId: b, result: metrics() },
      ],
      T0 + 1,
    );
    expect(out[0].status).toBe('error');
    expect(out[0].status === 'error' && out[0].error).toMatch(/applyResult \(oos_results\) request=.* winRate must be a fraction/);
    expect(out[1].status).toBe('applied');
    expect(getRequest(store, a)?.state).toBe('in_flight');
    expect(getStrategy(store, 'a')?.oosSharpe).toBeNull();
  });

  it('infinite metrics are stored as infinities, not as errors or zeros', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['s'], T0);
    claimAll(store, T0);
    applyOk(store, [{ type: 'applyResult', requestId: id, result: metrics({ sortino: Infinity, sharpeCiLower: -Infinity, profitFactor: Infinity }) }], T0 + 1);
    expect(getResult(store, id)).toMatchObject({ sortino: Infinity, sharpeCiLower: -Infinity, profitFactor: Infinity });
    expect(getStrategy(store, 's')?.oosProfitFactor).toBe(Infinity);
  });

  it('a NaN metric is stored as NULL named in nan_metrics and reads back as NaN; an unreported one stays null', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['s'], T0);
    claimAll(store, T0);
    applyOk(store, [{ type: 'applyResult', requestId: id, result: metrics({ sortino: NaN, profitFactor: NaN, adjustedSharpe: NaN, sharpeCiLower: null }) }], T0 + 1);
    const r = getResult(store, id)!;
    expect(r.sortino).toBeNaN();
    expect(r.profitFactor).toBeNaN();
    expect(r.adjustedSharpe).toBeNaN();
    expect(r.sharpeCiLower).toBeNull();
    expect(r.sharpe).toBe(0.52);
    const row = store.sqlite.prepare('select sortino, profit_factor, adjusted_sharpe, sharpe_ci_lower, nan_metrics from oos_results where request_id = ?').get(id);
    expect(row).toEqual({ sortino: null, profit_factor: null, adjusted_sharpe: null, sharpe_ci_lower: null, nan_metrics: 'sortino,profit_factor,adjusted_sharpe' });
    // The rank evaluator reads the strategy's columns: a NaN there is NULL, unknown, never a pass.
    expect(getStrategy(store, 's')).toMatchObject({ oosSharpe: 0.52, oosProfitFactor: null });
    expect(getRequest(store, id)?.state).toBe('done');
  });

  it('a result with only finite metrics has no nan_metrics marker', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['s'], T0);
    claimAll(store, T0);
    applyOk(store, [{ type: 'applyResult', requestId: id, result: metrics({ sortino: -Infinity }) }], T0 + 1);
    expect(count(store, 'oos_results', 'nan_metrics is null')).toBe(1);
    expect(getResult(store, id)!.sortino).toBe(-Infinity);
  });

  it('a NaN sharpe is refused with the request named: stored as NULL it would read as "never validated"', () => {
    const store = temp.open();
    const [id] = seedRequests(store, ['s'], T0);
    claimAll(store, T0);
    const [o] = applyBatch(store, [{ type: 'applyResult', requestId: id, result: metrics({ sharpe: NaN }) }], T0 + 1);
    expect(o.status).toBe('error');
    expect(o.status === 'error' && o.error).toMatch(/applyResult \(oos_results\) request=.* sharpe must be a number, got NaN/);
    expect(getRequest(store, id)?.state).toBe('in_flight');
    expect(count(store, 'oos_results')).toBe(0);
  });

  it('a late result of an older request never overwrites the metrics of a newer one', () => {
    const store = temp.open();
    const [old] = seedRequests(store, ['s'], T0);
    claimAll(store, T0);
    applyOk(store, [{ type: 'deadLetterRequest', requestId: old, error: 'gave up', failureKind: 'timeout', source: 'oos' }], T0 + 1);
    const fresh = applyOne(store, { type: 'enqueueRequest', strategyName: 's', payload: {} }, T0 + 10);
    const freshId = fresh.status === 'enqueued' ? fresh.requestId : '';
    claimAll(store, T0 + 10);
    applyOk(store, [{ type: 'applyResult', requestId: freshId, result: metrics({ sharpe: 0.9 }) }], T0 + 20);
    const seq = getStrategy(store, 's')!.changeSeq;

    expect(applyOne(store, { type: 'applyResult', requestId: old, result: metrics({ sharpe: 0.1 }) }, T0 + 30)).toMatchObject({
      status: 'applied',
      strategyUpdated: false,
      changeSeq: null,
    });
    expect(getStrategy(store, 's')).toMatchObject({ oosSharpe: 0.9, oosRequestId: freshId, changeSeq: seq });
    expect(getRequest(store, old)?.state).toBe('done');
  });
});
