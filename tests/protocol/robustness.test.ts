import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import {
  DEFAULT_LIMITS,
  decodeBacktestRequest,
  decodeBacktestResult,
  encodeBacktestRequest,
  encodeBacktestResult,
  parseSExpr,
  type CodecError,
  type Result,
} from '../../protocol/index.ts';
import { requestArb, resultArb } from './arbitraries.ts';
import { REFERENCE_REQUEST_FRAME, REFERENCE_SUCCESS_FRAME } from './golden.ts';

const decoders: Array<[string, (f: Uint8Array | string) => Result<unknown>]> = [
  ['parseSExpr', (f) => parseSExpr(f)],
  ['decodeBacktestResult', (f) => decodeBacktestResult(f)],
  ['decodeBacktestRequest', (f) => decodeBacktestRequest(f)],
];

function isWellFormedError(e: CodecError): boolean {
  return typeof e.message === 'string' && e.message.length > 0 && ['frame', 'syntax', 'limit', 'validation'].includes(e.kind);
}

/** Calls every decoder and checks each answers with a Result (never throws). */
function answersEverything(frame: Uint8Array | string): void {
  for (const [, decode] of decoders) {
    const r = decode(frame);
    if (!r.ok) expect(isWellFormedError(r.error)).toBe(true);
  }
}

const validFrame = fc.oneof(
  requestArb.map((r) => {
    const e = encodeBacktestRequest(r);
    return e.ok ? e.value : REFERENCE_REQUEST_FRAME;
  }),
  resultArb.map(encodeBacktestResult),
  fc.constantFrom(REFERENCE_REQUEST_FRAME, REFERENCE_SUCCESS_FRAME),
).map((s) => Buffer.from(s, 'utf8'));

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'truncate'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array } | { kind: 'delete'; at: number; len: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom(...['(', ')', '"', '\\', ' . ', 'nan', '\\u', '#'].map((s) => new Uint8Array(Buffer.from(s))))),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
);

function mutate(frame: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = Buffer.from(frame);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    if (m.kind === 'flip' && b.length > 0) b[at % b.length] ^= 1 << m.bit;
    else if (m.kind === 'truncate') b = b.subarray(0, at);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
  }
  return b;
}

describe('decoders never throw', () => {
  it('on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => answersEverything(bytes)), { numRuns: 1000 });
  });

  it('on random bytes that start with (', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => answersEverything(Buffer.concat([Buffer.from('('), bytes]))), { numRuns: 1000 });
  });

  it('on random strings made of S-expression characters', () => {
    const chars = fc.constantFrom('(', ')', '"', '\\', '.', ' ', 'a', '1', 'e', '-', '+', '#', 't', 'u', 'x', ';', 'é', '😀', '\n');
    fc.assert(fc.property(fc.array(chars, { maxLength: 80 }).map((cs) => '(' + cs.join('')), (s) => answersEverything(s)), { numRuns: 2000 });
  });

  it('on valid frames mutated by byte flips, truncation, insertion and deletion', () => {
    fc.assert(
      fc.property(validFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, ms) => answersEverything(mutate(frame, ms))),
      { numRuns: 1500 },
    );
  });

  it('on every truncation of the reference frames', () => {
    for (const frame of [REFERENCE_REQUEST_FRAME, REFERENCE_SUCCESS_FRAME]) {
      const bytes = Buffer.from(frame);
      for (let n = 0; n < bytes.length; n++) {
        answersEverything(bytes.subarray(0, n));
        expect(parseSExpr(bytes.subarray(0, n)).ok).toBe(false);
      }
    }
  });
});

describe('limits refuse abuse and name the limit', () => {
  it('defaults are 1 MiB frames, depth 32, 10,000 elements per list', () => {
    expect(DEFAULT_LIMITS).toEqual({ maxFrameBytes: 1024 * 1024, maxDepth: 32, maxListLength: 10_000 });
  });

  it('a real 500-trade result fits the defaults', () => {
    const trades = Array.from({ length: 500 }, (_, i) => ({ timestamp: 1_700_000_000 + i * 60, pnl: -0.0123456789 * (i % 7) }));
    const frame = encodeBacktestResult({
      kind: 'success', requestId: '0193b0b2-7c1e-7d2a-9f3b-5a6c7d8e9f01', strategyName: 'Bred-Bred--261-Gen36-N3980242439-83-OOS',
      trades: 500, wins: 250, losses: 250, pnl: 1.5, sharpe: 0.5, sortino: 0.7, maxDrawdown: 0.1, winRate: 0.5, profitFactor: 1.2, tradeList: trades,
    });
    const r = decodeBacktestResult(Buffer.from(frame));
    expect(r.ok).toBe(true);
    if (r.ok && r.value.kind === 'success') expect(r.value.tradeList).toHaveLength(500);
  });

  it('a frame over maxFrameBytes is refused before parsing (Buffer and string)', () => {
    const big = '(' + 'a '.repeat(600_000) + ')';
    for (const input of [big, Buffer.from(big)]) {
      const r = parseSExpr(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ kind: 'limit', limit: 'maxFrameBytes' });
    }
    const small = parseSExpr('(a b c d e f)', { maxFrameBytes: 8 });
    expect(small.ok).toBe(false);
    if (!small.ok) expect(small.error.message).toContain('maxFrameBytes');
  });

  it('the byte limit counts UTF-8 bytes, not characters', () => {
    const cjk = '("' + '戦'.repeat(10) + '")'; // 14 chars, 34 bytes
    expect(parseSExpr(cjk, { maxFrameBytes: 33 }).ok).toBe(false);
    expect(parseSExpr(cjk, { maxFrameBytes: 34 }).ok).toBe(true);
  });

  it('nesting deeper than maxDepth is refused with the offset of the list that is too deep', () => {
    const deep = '('.repeat(33) + ')'.repeat(33);
    const r = parseSExpr(deep);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'limit', limit: 'maxDepth', offset: 32 });
    expect(parseSExpr('('.repeat(32) + ')'.repeat(32)).ok).toBe(true);
    expect(parseSExpr('((()))', { maxDepth: 2 }).ok).toBe(false);
  });

  it('a 100,000-deep frame is refused without exhausting the stack', () => {
    const r = parseSExpr('('.repeat(100_000) + ')'.repeat(100_000));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.limit).toBe('maxDepth');
  });

  it('a list longer than maxListLength is refused, also when built through a dotted tail', () => {
    const long = '(' + '1 '.repeat(10_001) + ')';
    const r = parseSExpr(long);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'limit', limit: 'maxListLength' });
    expect(parseSExpr('(' + '1 '.repeat(10_000) + ')').ok).toBe(true);
    const spliced = parseSExpr('(a b . (c d))', { maxListLength: 3 });
    expect(spliced.ok).toBe(false);
    if (!spliced.ok) expect(spliced.error.limit).toBe('maxListLength');
  });

  it('typed decoders pass limits through', () => {
    const r = decodeBacktestResult(REFERENCE_SUCCESS_FRAME, { maxDepth: 4 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.limit).toBe('maxDepth');
    const q = decodeBacktestRequest(REFERENCE_REQUEST_FRAME, { maxFrameBytes: 100 });
    expect(q.ok).toBe(false);
    if (!q.ok) expect(q.error.limit).toBe('maxFrameBytes');
  });

  it('a string full of escapes decodes in linear time', () => {
    const s = '("' + '\\n'.repeat(200_000) + '")';
    // Measured in this process's CPU time, which a busy neighbour does not inflate as it does wall
    // time. Linear decoding takes milliseconds; a quadratic one (~4e10 steps here) takes minutes.
    const before = process.cpuUsage();
    const r = parseSExpr(s);
    const used = process.cpuUsage(before);
    expect(r.ok).toBe(true);
    if (r.ok) expect((r.value as string[])[0].length).toBe(200_000);
    expect((used.user + used.system) / 1_000).toBeLessThan(2_000);
  });
});
