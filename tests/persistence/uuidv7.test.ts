import { describe, expect, it } from 'vitest';
import { UuidV7Generator, uuidv7Time, type RandomSource } from '../../persistence/uuidv7.ts';

/** A deterministic stream of 16-byte blocks (xorshift32). */
function seeded(seed: number): RandomSource {
  let x = seed >>> 0 || 1;
  const bytes = new Uint8Array(16);
  return () => {
    for (let i = 0; i < bytes.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      bytes[i] = x & 0xff;
    }
    return bytes;
  };
}

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7 request ids', () => {
  it('ids from one generator sort by the times they were made for', () => {
    const gen = new UuidV7Generator(seeded(7));
    const times = Array.from({ length: 500 }, (_, i) => 1_700_000_000_000 + i * 13);
    const ids = times.map((t) => gen.next(t));
    expect([...ids].reverse().sort()).toEqual(ids);
    expect(ids.map(uuidv7Time)).toEqual(times);
    for (const id of ids) expect(id).toMatch(FORMAT);
  });

  it('the timestamp is the time given (the runtime clock), and the same randomness gives the same ids', () => {
    expect(uuidv7Time(new UuidV7Generator(seeded(1)).next(1_700_000_000_123))).toBe(1_700_000_000_123);
    const a = new UuidV7Generator(seeded(3));
    const b = new UuidV7Generator(seeded(3));
    expect([a.next(42), a.next(42)]).toEqual([b.next(42), b.next(42)]);
    expect(new UuidV7Generator(seeded(3)).next(0).startsWith('00000000-0000-7')).toBe(true);
    expect(() => new UuidV7Generator().next(-1)).toThrow(RangeError);
    expect(() => new UuidV7Generator().next(2 ** 48)).toThrow(RangeError);
  });

  it('a generator gives strictly increasing ids within one millisecond and when the clock steps back', () => {
    const gen = new UuidV7Generator(seeded(11));
    const ids = [
      ...Array.from({ length: 5_000 }, () => gen.next(1_700_000_000_000)),
      gen.next(1_699_999_999_000),
      gen.next(1_700_000_000_500),
    ];
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
    for (const id of ids) expect(id).toMatch(FORMAT);
    expect(uuidv7Time(ids.at(-1)!)).toBe(1_700_000_000_500);
  });

  it('the counter carries across the fields it is spread over (rand_a into rand_b) in order', () => {
    // All-ones randomness seeds the counter at its highest start, 0x7fffffff: the next id carries
    // into the version nibble's neighbour and must still sort after it.
    const gen = new UuidV7Generator(() => new Uint8Array(16).fill(0xff));
    const ids = [gen.next(1_000), gen.next(1_000), gen.next(1_000)];
    expect(ids.map((id) => id.slice(14, 18))).toEqual(['77ff', '7800', '7800']);
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
  });

  it('default randomness: ids of one generator are unique and increasing', () => {
    const gen = new UuidV7Generator();
    const ids = Array.from({ length: 10_000 }, () => gen.next(1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
  });
});
