/**
 * Fuzzing the wire codec with mutated valid frames (the random-bytes properties live in
 * tests/protocol/robustness.test.ts). Rules: a decoder answers every input with a Result and
 * never throws; a refusal names its kind and says what is wrong in one line; whatever decodes
 * encodes again to a frame that decodes to the same message (no input is half-accepted).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeBacktestRequest,
  decodeBacktestResult,
  encodeBacktestRequest,
  encodeBacktestResult,
  parseSExpr,
  type CodecError,
} from '../../protocol/index.ts';
import { requestArb, resultArb } from '../protocol/arbitraries.ts';
import { REFERENCE_REQUEST_FRAME, REFERENCE_SUCCESS_FRAME } from '../protocol/golden.ts';
import { mutated } from './mutations.ts';
import { fuzzParams, fuzzTimeout } from './runs.ts';

const bytes = (s: string | Uint8Array) => (typeof s === 'string' ? new TextEncoder().encode(s) : s);

const validFrames = fc.oneof(
  fc.constant(bytes(REFERENCE_REQUEST_FRAME)),
  fc.constant(bytes(REFERENCE_SUCCESS_FRAME)),
  requestArb.map((r) => {
    const e = encodeBacktestRequest(r);
    return bytes(e.ok ? e.value : REFERENCE_REQUEST_FRAME);
  }),
  resultArb.map((r) => bytes(encodeBacktestResult(r))),
);

function clearRefusal(e: CodecError): boolean {
  return ['frame', 'syntax', 'limit', 'validation'].includes(e.kind) && e.message.length > 0 && !e.message.includes('\n');
}

const RUNS = 3_000;

describe('codec fuzz (mutated valid frames)', () => {
  it(
    'every decoder answers a mutated frame with a value or a one-line refusal of a known kind, never a throw',
    () => {
      fc.assert(
        fc.property(mutated(validFrames), (frame) => {
          for (const decode of [parseSExpr, decodeBacktestRequest, decodeBacktestResult]) {
            const r = decode(frame);
            if (!r.ok) expect(clearRefusal(r.error), r.error.message).toBe(true);
          }
        }),
        fuzzParams(RUNS),
      );
    },
    fuzzTimeout(RUNS, 0.5),
  );

  it(
    'a mutated request or result that still decodes re-encodes to a frame that decodes to the same message',
    () => {
      fc.assert(
        fc.property(mutated(validFrames), (frame) => {
          const req = decodeBacktestRequest(frame);
          if (req.ok) {
            const again = encodeBacktestRequest(req.value);
            expect(again.ok).toBe(true);
            if (again.ok) expect(decodeBacktestRequest(again.value)).toEqual(req);
          }
          const res = decodeBacktestResult(frame);
          if (res.ok) expect(decodeBacktestResult(encodeBacktestResult(res.value))).toEqual(res);
        }),
        fuzzParams(RUNS),
      );
    },
    fuzzTimeout(RUNS, 0.5),
  );
});
