/**
 * The hand-written UUIDv7 generator shoal used before it took the `uuid` package (ADR 0005), kept
 * only as bench/uuid.bench.ts's reference so that decision's figures can be measured again.
 * 48-bit Unix ms timestamp, a 12-bit counter in rand_a seeded randomly per ms, 62 random bits,
 * formatted through a byte-to-hex table; randomness from a 4 KiB pool of crypto bytes.
 */
import { randomFillSync } from 'node:crypto';

/** Fills `bytes` with random bytes. */
export type RandomSource = (bytes: Uint8Array) => void;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const MAX_MS = 2 ** 48 - 1;

function format(ms: number, randA: number, rnd: Uint8Array): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_MS) throw new RangeError(`uuidv7 timestamp out of range: ${ms}`);
  const hi = Math.floor(ms / 2 ** 16); // top 32 bits
  const lo = ms % 2 ** 16; // low 16 bits
  return (
    HEX[(hi >>> 24) & 0xff] + HEX[(hi >>> 16) & 0xff] + HEX[(hi >>> 8) & 0xff] + HEX[hi & 0xff] + '-' +
    HEX[lo >>> 8] + HEX[lo & 0xff] + '-' +
    HEX[0x70 | ((randA >>> 8) & 0x0f)] + HEX[randA & 0xff] + '-' +
    HEX[0x80 | (rnd[0] & 0x3f)] + HEX[rnd[1]] + '-' +
    HEX[rnd[2]] + HEX[rnd[3]] + HEX[rnd[4]] + HEX[rnd[5]] + HEX[rnd[6]] + HEX[rnd[7]]
  );
}

/** One UUIDv7 for time `now` (Unix ms); 74 random bits from `random`. */
export function uuidv7(now: number, random: RandomSource): string {
  const rnd = new Uint8Array(10);
  random(rnd);
  return format(now, (rnd[8] << 8) | rnd[9], rnd);
}

/** The Unix ms timestamp inside a UUIDv7. */
export function uuidv7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/**
 * Strictly increasing UUIDv7s from one generator, even within one millisecond or when the clock
 * steps back: the 12-bit rand_a field is a counter (RFC 9562 method 1), seeded randomly per ms
 * with its top bit clear so at least 2,048 ids fit in a ms; on overflow the timestamp moves on.
 */
export class UuidV7Generator {
  private lastMs = -1;
  private counter = 0;
  private readonly rnd = new Uint8Array(10);

  constructor(private readonly random: RandomSource = pooledRandom()) {}

  next(now: number): string {
    this.random(this.rnd);
    if (now > this.lastMs) {
      this.lastMs = now;
      this.counter = ((this.rnd[8] & 0x07) << 8) | this.rnd[9];
    } else if (++this.counter > 0xfff) {
      this.lastMs += 1;
      this.counter = 0;
    }
    return format(this.lastMs, this.counter, this.rnd);
  }
}

/** Crypto randomness drawn from a 4 KiB pool: one syscall per ~400 ids instead of one per id. */
export function pooledRandom(poolSize = 4096): RandomSource {
  const pool = new Uint8Array(poolSize);
  let pos = poolSize;
  return (bytes) => {
    if (bytes.length > poolSize) {
      randomFillSync(bytes);
      return;
    }
    if (pos + bytes.length > poolSize) {
      randomFillSync(pool);
      pos = 0;
    }
    bytes.set(pool.subarray(pos, pos + bytes.length));
    pos += bytes.length;
  };
}
