import { describe, expect, it } from 'vitest';
import { triageFrame } from '../../backtester/service.ts';
import { REFERENCE_REQUEST_FRAME, requestFrame } from './helpers.ts';

describe('frame triage (what the service does with one frame)', () => {
  it('a frame that does not start with ( is ignored', () => {
    for (const f of ['PING', '', '   ', '{"action":"BACKTEST"}', Buffer.from([0xff, 0x28])]) expect(triageFrame(f)).toEqual({ kind: 'ignore' });
  });

  it('the test is on the first byte: leading whitespace before ( is ignored too', () => {
    expect(triageFrame(' ' + REFERENCE_REQUEST_FRAME).kind).toBe('ignore');
  });

  it('the reference request frame is a request', () => {
    const t = triageFrame(Buffer.from(REFERENCE_REQUEST_FRAME));
    expect(t.kind === 'request' && t.request.requestId).toBe('0193b0b2-...');
  });

  it('a frame without request_id is answered missing request_id with request_id MISSING', () => {
    expect(triageFrame(requestFrame())).toEqual({ kind: 'reject', result: { kind: 'error', requestId: 'MISSING', strategyName: 'Foo-OOS', error: 'missing request_id' } });
  });

  it('a frame with an empty request_id or no readable fields is answered missing request_id', () => {
    expect(triageFrame(requestFrame({ requestId: '' }))).toMatchObject({ result: { requestId: 'MISSING', error: 'missing request_id' } });
    expect(triageFrame('((action . "BACKTEST"))')).toMatchObject({ result: { requestId: 'MISSING', error: 'missing request_id' } });
  });

  it('a request with a readable request_id that does not decode is answered S-Exp parse error with that id', () => {
    const frame = REFERENCE_REQUEST_FRAME.replace('(sma_short . 5)', '(sma_short . "five")');
    const t = triageFrame(frame);
    expect(t).toMatchObject({ kind: 'reject', result: { kind: 'error', requestId: '0193b0b2-...', strategyName: 'Foo-OOS' } });
    expect(t.kind === 'reject' && t.result.kind === 'error' && t.result.error).toMatch(/^S-Exp parse error: .*sma_short/);
  });

  it('text that is not an S-expression is answered S-Exp parse error with request_id MISSING', () => {
    const t = triageFrame('((action . "BACKTEST") (request_id . "r-1"');
    expect(t).toMatchObject({ kind: 'reject', result: { requestId: 'MISSING' } });
    expect(t.kind === 'reject' && t.result.kind === 'error' && t.result.error).toMatch(/^S-Exp parse error: /);
  });
});
