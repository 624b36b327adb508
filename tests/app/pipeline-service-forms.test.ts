/**
 * The pipeline against what the host's running service actually sends: the engine's ERROR line
 * wrapped whole as the error text, non-finite metrics quoted or bare, floats re-printed to 10
 * significant digits; and a result frame that names a live request but cannot be applied.
 * Real sockets on 127.0.0.1, a real database in a temp dir; the clock is manual and never moved,
 * so no lease runs out and no backoff ends: whatever ends a request here ends it at once.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../runtime/index.ts';
import { echoEngine, failingEngine, type BacktestEngine } from '../../backtester/engines.ts';
import type { BacktestRequest } from '../../protocol/index.ts';
import { getRequest } from '../../persistence/outbox.ts';
import { listDeadLetters } from '../../persistence/dead-letters.ts';
import { getResult } from '../../persistence/results.ts';
import { getStrategy } from '../../persistence/strategies.ts';
import { count, useTempStores } from '../persistence/helpers.ts';
import { pipeline, rawResultPush, requestInput, type Pipeline, hostStrategy } from './pipeline-harness.ts';

const temp = useTempStores();

/** An engine that never answers and keeps what it was asked, so the test can answer with raw frames. */
function silentEngine(): { engine: BacktestEngine; seen: BacktestRequest[] } {
  const seen: BacktestRequest[] = [];
  return { engine: (req) => (seen.push(req), null), seen };
}

async function enqueue(p: Pipeline, name: string): Promise<string> {
  await p.shoal.upsertStrategies([hostStrategy(name)]);
  const o = await p.shoal.enqueue(name, requestInput(name));
  if (o.status !== 'enqueued') throw new Error(`${name} not enqueued: ${o.status}`);
  return o.requestId;
}

const letterOf = (p: Pipeline, requestId: string) => listDeadLetters(p.reader, { requestId });

describe('the service error forms over real sockets', () => {
  it('a wrapped parse error (the engine ERROR line as the error text) ends the request after one send', async () => {
    const line = '((type . "ERROR") (error . "S-Exp parse error: invalid type: string \\"x\\", expected f64"))';
    const p = await pipeline(temp.dir(), { clock: new ManualClock(Date.now()), engine: failingEngine(line) });
    const id = await enqueue(p, 'W1');
    await p.waitFor(() => count(p.reader, 'failure_events', `kind = 'error_result' and request_id = '${id}'`) === 1, 'the error result');
    // Rule: a non-retryable error ends the request at its first error result, whatever form it came in.
    await p.waitFor(() => getRequest(p.reader, id)?.state === 'dead', 'the request to be dead');
    expect(p.service!.stats.received).toBe(1);
    expect(getRequest(p.reader, id)!.attempts).toBe(1);
    const [letter] = letterOf(p, id);
    expect(letter.error).toContain('S-Exp parse error: invalid type');
    expect(letter.error).toContain('bad-request: not retryable');
    expect(getStrategy(p.reader, 'W1')!.oosSharpe).toBeNull();
    await p.close();
  });
});

describe('non-finite metrics over real sockets', () => {
  it('a result with quoted inf, -inf and nan and re-printed floats is applied: stored, read back, the request done after one send', async () => {
    const { engine, seen } = silentEngine();
    const p = await pipeline(temp.dir(), { clock: new ManualClock(Date.now()), engine });
    const id = await enqueue(p, 'N1');
    await p.waitFor(() => seen.length === 1, 'the request at the service');
    const push = await rawResultPush(p.resultEndpoint);
    // As the service forwards it: floats re-printed (52.0 -> 52, 1.500 -> 1.5), the engine's inf tokens quoted, request_id last.
    await push.send(
      `((type . "BACKTEST_RESULT") (result . ((strategy_name . "N1-OOS") (trades . 212) (wins . 118) (losses . 94) (pnl . 52) (sharpe . 1.5) (sortino . "inf") (max_drawdown . 0.031) (win_rate . 52) (profit_factor . "nan") (adjusted_sharpe . 1) (sharpe_ci_lower . "-inf") (trade_list . (((timestamp . 1700003600) (pnl . 0.5)))) (request_id . "${id}"))))`,
    );
    // Rule: non-finite metrics do not refuse the result; the rest of it is applied.
    await p.waitFor(() => getRequest(p.reader, id)?.state === 'done', 'the result to be applied');
    const r = getResult(p.reader, id)!;
    expect(r).toMatchObject({ pnl: 52, sharpe: 1.5, sortino: Infinity, winRate: 0.52, adjustedSharpe: 1, sharpeCiLower: -Infinity, tradeList: [{ timestamp: 1_700_003_600_000, pnl: 0.5 }] });
    expect(r.profitFactor).toBeNaN();
    expect(getStrategy(p.reader, 'N1')).toMatchObject({ oosSharpe: 1.5, oosProfitFactor: null, oosRequestId: id });
    expect(p.service!.stats.received).toBe(1);
    expect(count(p.reader, 'failure_events', "kind = 'decode_error'")).toBe(0);
    push.close();
    await p.close();
  });
});

describe('a result that names a live request but cannot be applied fails it at once', () => {
  it('a frame that fails validation: one failed attempt, the request dead-lettered with the frame and the reason', async () => {
    // A broken service: the drawdown as a percent (3.1) instead of a fraction.
    const broken: BacktestEngine = (req) => {
      const ok = echoEngine(req);
      return ok !== null && !(ok instanceof Promise) && ok.kind === 'success' ? { ...ok, maxDrawdown: 3.1 } : ok;
    };
    const p = await pipeline(temp.dir(), { clock: new ManualClock(Date.now()), engine: broken });
    const id = await enqueue(p, 'V1');
    // Rule: not left to time out (the clock never moves, so only the result-handler can end it).
    await p.waitFor(() => getRequest(p.reader, id)?.state === 'dead', 'the request to be dead');
    const req = getRequest(p.reader, id)!;
    expect(req.attempts).toBe(1);
    expect(req.history.at(-1)).toMatchObject({ attempt: 1, outcome: 'decode_error' });
    expect(req.lastError).toMatch(new RegExp(`^result for request ${id} cannot be applied: result.max_drawdown is a fraction 0..1, got 3.1 \\(/shoal/pipeline/result-handler\\)$`));
    const letters = letterOf(p, id);
    expect(letters).toHaveLength(1);
    const message = letters[0].message as { kind: string; requestId: string; frame: { $bytes: string }; frameText: string };
    expect(message).toMatchObject({ kind: 'oos_request', requestId: id });
    expect(Buffer.from(message.frame.$bytes, 'base64').toString('utf8')).toBe(message.frameText);
    expect(message.frameText).toContain('(max_drawdown . 3.1)');
    expect(message.frameText).toContain(id);
    expect(letters[0].source).toBe('/shoal/pipeline/result-handler');
    expect(count(p.reader, 'failure_events', `kind = 'decode_error' and request_id = '${id}'`)).toBe(1);
    expect(count(p.reader, 'oos_results')).toBe(0);
    expect(getStrategy(p.reader, 'V1')!.oosSharpe).toBeNull();
    expect(p.service!.stats.received).toBe(1);
    expect(p.shoal.stats.results).toMatchObject({ undecodable: 1, deadLettered: 1, applied: 0 });
    await p.close();
  });

  it('a result the store refuses: the request dead-lettered at once with the frame and the store error', async () => {
    const { engine, seen } = silentEngine();
    const dir = temp.dir();
    const p = await pipeline(dir, { clock: new ManualClock(Date.now()), engine });
    // Fault injection in the real database: the store refuses this one strategy's result rows.
    const admin = new Database(path.join(dir, 'shoal.db'));
    admin.exec(`create trigger refuse_s1 before insert on oos_results when new.strategy_name = 'S1' begin select raise(abort, 'refused by the test'); end`);
    admin.close();
    const id = await enqueue(p, 'S1');
    await p.waitFor(() => seen.length === 1, 'the request at the service');
    const push = await rawResultPush(p.resultEndpoint);
    await push.send(`((type . "BACKTEST_RESULT") (result . ((strategy_name . "S1-OOS") (trades . 3) (wins . 2) (losses . 1) (pnl . 1) (sharpe . 0.5) (sortino . 1) (max_drawdown . 0.1) (win_rate . 66.7) (profit_factor . 2) (request_id . "${id}"))))`);
    await p.waitFor(() => getRequest(p.reader, id)?.state === 'dead', 'the request to be dead');
    expect(getRequest(p.reader, id)!.lastError).toMatch(/cannot be applied: result not applied: .*refused by the test/);
    const [letter] = letterOf(p, id);
    expect(letter.message).toMatchObject({ kind: 'oos_request', requestId: id });
    expect((letter.message as { frameText: string }).frameText).toContain('(sharpe . 0.5)');
    expect(p.shoal.stats.results.deadLettered).toBe(1);
    push.close();
    await p.close();
  });

  it('a frame that fails validation for an unknown request is still a dead-lettered frame, now naming the request id', async () => {
    const p = await pipeline(temp.dir(), { clock: new ManualClock(Date.now()), engine: echoEngine });
    const push = await rawResultPush(p.resultEndpoint);
    await push.send('((type . "BACKTEST_RESULT") (result . ((strategy_name . "X") (trades . 3) (wins . 1) (losses . 2) (pnl . 0.1) (sharpe . "inf") (sortino . 0.1) (max_drawdown . 0.1) (win_rate . 33.3) (profit_factor . 1.1) (request_id . "no-such-request"))))');
    await p.waitFor(() => listDeadLetters(p.reader, { requestId: 'no-such-request' }).length === 1, 'the frame letter');
    const [letter] = listDeadLetters(p.reader, { requestId: 'no-such-request' });
    expect(letter.error).toBe('undecodable result frame: result.sharpe must be a finite number, got Infinity');
    expect(letter.message).toMatchObject({ kind: 'frame' });
    expect(count(p.reader, 'failure_events', "kind = 'decode_error' and request_id = 'no-such-request'")).toBe(1);
    push.close();
    await p.close();
  });
});
