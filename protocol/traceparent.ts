/**
 * W3C Trace Context `traceparent` values (`00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>`),
 * carried as a top-level request field so a result can be tied to the trace that sent it.
 * Parsing follows the spec's rules: lowercase hex only, all-zero ids invalid, version `ff`
 * invalid, and a higher version may carry extra `-`-separated data after the four fields.
 */
import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import { fail, ok, type Result } from './result.ts';

export interface TraceContext {
  /** 0 for the current spec. */
  readonly version: number;
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits (the sending span), not all zero. */
  readonly parentId: string;
  /** Trace flags; bit 0 is "sampled". */
  readonly flags: number;
}

const SAMPLED = 0x01;

// Ids are cut from a pool of random hex digits refilled 4 KiB at a time: one randomFillSync and
// one hex conversion per ~170 traceparents instead of one each (ADR 0012).
const POOL_BYTES = 4096;
const poolBytes = Buffer.allocUnsafe(POOL_BYTES);
let pool = '';
let poolUsed = 0;

function randomHex(bytes: number): string {
  const digits = bytes * 2;
  for (;;) {
    if (poolUsed + digits > pool.length) {
      randomFillSync(poolBytes);
      pool = poolBytes.toString('hex');
      poolUsed = 0;
    }
    const from = poolUsed;
    poolUsed += digits;
    if (!isAllZero(pool, from, poolUsed)) return pool.substring(from, poolUsed);
    // all zero is an invalid id: draw again
  }
}

export function newTraceId(): string {
  return randomHex(16);
}

export function newSpanId(): string {
  return randomHex(8);
}

export function isSampled(ctx: TraceContext): boolean {
  return (ctx.flags & SAMPLED) !== 0;
}

export function formatTraceparent(ctx: TraceContext): string {
  return hex2(ctx.version) + '-' + ctx.traceId + '-' + ctx.parentId + '-' + hex2(ctx.flags);
}

function hex2(n: number): string {
  return (n < 16 ? '0' : '') + n.toString(16);
}

/** A traceparent for a new trace (fresh trace id and span id); sampled unless told otherwise. */
export function createTraceparent(options?: { sampled?: boolean }): string {
  return '00-' + newTraceId() + '-' + newSpanId() + (options?.sampled === false ? '-00' : '-01');
}

/** A traceparent for a child span: same trace id and flags, fresh parent id. Invalid parents start a new trace (the spec's rule). */
export function childTraceparent(parent: string | TraceContext): string {
  const ctx = typeof parent === 'string' ? parseTraceparent(parent) : ok(parent);
  if (!ctx.ok) return createTraceparent();
  return formatTraceparent({ version: 0, traceId: ctx.value.traceId, parentId: newSpanId(), flags: ctx.value.flags });
}

function isLowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function isAllZero(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) !== 48) return false;
  return true;
}

interface Problem {
  readonly message: string;
  readonly offset?: number;
  readonly expected?: string;
}

/** The first rule the value breaks, or undefined when it is valid (no allocation on success). */
function problemOf(value: string): Problem | undefined {
  if (typeof value !== 'string') return { message: 'not a string' };
  if (value.length < 55) return { message: `length ${value.length}, need 55`, offset: value.length, expected: '00-<32 hex>-<16 hex>-<2 hex>' };
  if (!isLowerHex(value, 0, 2)) return { message: 'version is not 2 lowercase hex digits', offset: 0, expected: '2 lowercase hex digits' };
  const v0 = value.charCodeAt(0);
  const v1 = value.charCodeAt(1);
  if (v0 === 102 && v1 === 102) return { message: 'version ff is forbidden', offset: 0 };
  const isV00 = v0 === 48 && v1 === 48;
  if (isV00 && value.length !== 55) return { message: `version 00 must be exactly 55 characters, got ${value.length}`, offset: 55, expected: 'end of value' };
  if (!isV00 && value.length > 55 && value.charCodeAt(55) !== 45) return { message: "extra data must follow a '-'", offset: 55, expected: "'-'" };
  if (value.charCodeAt(2) !== 45) return { message: "expected '-' at 2", offset: 2, expected: "'-'" };
  if (value.charCodeAt(35) !== 45) return { message: "expected '-' at 35", offset: 35, expected: "'-'" };
  if (value.charCodeAt(52) !== 45) return { message: "expected '-' at 52", offset: 52, expected: "'-'" };
  if (!isLowerHex(value, 3, 35)) return { message: 'trace-id is not 32 lowercase hex digits', offset: 3, expected: '32 lowercase hex digits' };
  if (isAllZero(value, 3, 35)) return { message: 'trace-id is all zeros', offset: 3 };
  if (!isLowerHex(value, 36, 52)) return { message: 'parent-id is not 16 lowercase hex digits', offset: 36, expected: '16 lowercase hex digits' };
  if (isAllZero(value, 36, 52)) return { message: 'parent-id is all zeros', offset: 36 };
  if (!isLowerHex(value, 53, 55)) return { message: 'flags are not 2 lowercase hex digits', offset: 53, expected: '2 lowercase hex digits' };
  return undefined;
}

export function isValidTraceparent(value: string): boolean {
  return problemOf(value) === undefined;
}

export function parseTraceparent(value: string): Result<TraceContext> {
  const p = problemOf(value);
  if (p !== undefined) {
    return fail({
      kind: 'validation',
      path: 'traceparent',
      message: `invalid traceparent: ${p.message}`,
      ...(p.offset === undefined ? {} : { offset: p.offset }),
      ...(p.expected === undefined ? {} : { expected: p.expected }),
    });
  }
  return ok(fieldsOf(value));
}

/** The fields of a valid traceparent, or undefined: parseTraceparent without the reason, for the tracing's hot path. */
export function traceContextOf(value: string): TraceContext | undefined {
  return problemOf(value) === undefined ? fieldsOf(value) : undefined;
}

function fieldsOf(valid: string): TraceContext {
  return { version: hexByteAt(valid, 0), traceId: valid.slice(3, 35), parentId: valid.slice(36, 52), flags: hexByteAt(valid, 53) };
}

/** Two lowercase hex digits (already checked) at `at`, as a number. */
function hexByteAt(s: string, at: number): number {
  return (hexDigit(s.charCodeAt(at)) << 4) | hexDigit(s.charCodeAt(at + 1));
}

function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : c - 87;
}
