import { describe, expect, it } from 'vitest';
import { UuidV7Generator, uuidv7, uuidv7Time, type RandomSource } from '../../persistence/uuidv7.ts';

/** A deterministic byte stream (xorshift32). */
function seeded(seed: number): RandomSource {
  let x = seed >>> 0 || 1;
  return (bytes) => {
    for (let i = 0; i < bytes.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      bytes[i] = x & 0xff;
    }
  };
}

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('ids sort by their timestamp', () => {
    const random = seeded(7);
    const times = Array.from({ length: 500 }, (_, i) => 1_700_000_000_000 + ((i * 7919) % 500) * 13);
    const ids = times.map((t) => uuidv7(t, random));
    const byId = [...ids].sort();
    expect(byId.map(uuidv7Time)).toEqual([...times].sort((a, b) => a - b));
    for (const id of ids) expect(id).toMatch(FORMAT);
  });

  it('the timestamp round-trips and the same inputs give the same id', () => {
    expect(uuidv7Time(uuidv7(1_700_000_000_123, seeded(1)))).toBe(1_700_000_000_123);
    expect(uuidv7(42, seeded(3))).toBe(uuidv7(42, seeded(3)));
    expect(uuidv7(0, seeded(3)).startsWith('00000000-0000-7')).toBe(true);
    expect(() => uuidv7(-1, seeded(1))).toThrow(RangeError);
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
});
