import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { childTraceparent, createTraceparent, formatTraceparent, isSampled, isValidTraceparent, newSpanId, newTraceId, parseTraceparent, traceContextOf } from '../../protocol/index.ts';

const EXAMPLE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('traceparent', () => {
  it('parses the W3C example into its fields', () => {
    const r = parseTraceparent(EXAMPLE);
    expect(r).toEqual({ ok: true, value: { version: 0, traceId: '0af7651916cd43dd8448eb211c80319c', parentId: 'b7ad6b7169203331', flags: 1 } });
    if (r.ok) expect(isSampled(r.value)).toBe(true);
  });

  it('format(parse(x)) is x for valid version-00 values', () => {
    const r = parseTraceparent(EXAMPLE);
    if (r.ok) expect(formatTraceparent(r.value)).toBe(EXAMPLE);
  });

  it('created values are valid, sampled by default, and fresh each time', () => {
    const a = createTraceparent();
    const b = createTraceparent();
    expect(isValidTraceparent(a)).toBe(true);
    expect(a).not.toBe(b);
    expect(a.endsWith('-01')).toBe(true);
    expect(createTraceparent({ sampled: false }).endsWith('-00')).toBe(true);
  });

  it('random ids are lowercase hex of the right length and never all zero', () => {
    for (let i = 0; i < 1000; i++) {
      expect(newTraceId()).toMatch(/^[0-9a-f]{32}$/);
      expect(newSpanId()).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('a child keeps the trace id and flags and gets a new parent id', () => {
    const child = childTraceparent(EXAMPLE);
    expect(child.slice(0, 36)).toBe(EXAMPLE.slice(0, 36));
    expect(child.slice(36, 52)).not.toBe('b7ad6b7169203331');
    expect(child.slice(52)).toBe('-01');
  });

  it('a child of an invalid parent starts a new valid trace', () => {
    expect(isValidTraceparent(childTraceparent('garbage'))).toBe(true);
  });

  it.each([
    ['uppercase hex', EXAMPLE.toUpperCase()],
    ['all-zero trace id', '00-00000000000000000000000000000000-b7ad6b7169203331-01'],
    ['all-zero parent id', '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01'],
    ['version ff', 'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
    ['too short', EXAMPLE.slice(0, 54)],
    ['version 00 with extra data', EXAMPLE + '-extra'],
    ['wrong separator', EXAMPLE.replace(/-/g, '_')],
    ['non-hex flags', EXAMPLE.slice(0, 53) + 'zz'],
  ])('rejects %s', (_what, value) => {
    const r = parseTraceparent(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ kind: 'validation', path: 'traceparent' });
  });

  it('accepts a higher version with extra data after a dash (forward compatibility)', () => {
    expect(isValidTraceparent('01' + EXAMPLE.slice(2) + '-what-the-future-holds')).toBe(true);
  });

  it('reads the version and flags bytes as hex, every digit included', () => {
    expect(parseTraceparent('fe' + EXAMPLE.slice(2, 53) + 'a9')).toMatchObject({ ok: true, value: { version: 0xfe, flags: 0xa9 } });
    expect(parseTraceparent('3c' + EXAMPLE.slice(2, 53) + '0f')).toMatchObject({ ok: true, value: { version: 0x3c, flags: 0x0f } });
  });

  it('traceContextOf gives the fields parseTraceparent gives, and undefined where it fails', () => {
    const mutated = fc.tuple(fc.nat(54), fc.constantFrom('0', '9', 'a', 'f', 'A', 'g', '-', '')).map(([at, c]) => EXAMPLE.slice(0, at) + c + EXAMPLE.slice(at + 1));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), mutated, fc.constant(createTraceparent())), (s) => {
        const r = parseTraceparent(s);
        expect(traceContextOf(s)).toEqual(r.ok ? r.value : undefined);
      }),
    );
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        expect(typeof parseTraceparent(s).ok).toBe('boolean');
      }),
    );
  });
});
