/**
 * Byte-level mutations of a valid input, as a mutation fuzzer makes them: flip, insert, delete,
 * overwrite with an interesting byte, truncate, duplicate or splice a slice. Applied in a random
 * sequence to valid frames and files, they reach the error paths right beside the valid ones.
 */
import fc from 'fast-check';

/** Bytes that mean something to the codec or the CSV reader. */
const INTERESTING = [0x00, 0x0a, 0x0d, 0x20, 0x22, 0x28, 0x29, 0x2c, 0x2d, 0x2e, 0x30, 0x3a, 0x3b, 0x5c, 0x7f, 0x80, 0xc3, 0xff];

type Mutation = (b: Uint8Array) => Uint8Array;

const at = (b: Uint8Array, i: number) => (b.length === 0 ? 0 : i % (b.length + 1));

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([i, bit]): Mutation => (b) => {
    if (b.length === 0) return b;
    const c = b.slice();
    c[i % c.length] ^= 1 << bit;
    return c;
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...INTERESTING)).map(([i, byte]): Mutation => (b) => {
    const p = at(b, i);
    return concat(b.subarray(0, p), Uint8Array.of(byte), b.subarray(p));
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...INTERESTING)).map(([i, byte]): Mutation => (b) => {
    if (b.length === 0) return b;
    const c = b.slice();
    c[i % c.length] = byte;
    return c;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 16 })).map(([i, n]): Mutation => (b) => {
    const p = at(b, i);
    return concat(b.subarray(0, p), b.subarray(Math.min(b.length, p + n)));
  }),
  fc.nat().map((i): Mutation => (b) => b.subarray(0, at(b, i))),
  fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 64 })).map(([from, to, n]): Mutation => (b) => {
    const s = at(b, from);
    const slice = b.subarray(s, Math.min(b.length, s + n));
    const p = at(b, to);
    return concat(b.subarray(0, p), slice, b.subarray(p));
  }),
);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** `base` mutated by 1 to `maxMutations` random mutations. */
export function mutated(base: fc.Arbitrary<Uint8Array>, maxMutations = 6): fc.Arbitrary<Uint8Array> {
  return fc.tuple(base, fc.array(mutationArb, { minLength: 1, maxLength: maxMutations })).map(([b, ms]) => ms.reduce((acc, m) => m(acc), b));
}
