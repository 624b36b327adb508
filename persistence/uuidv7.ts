/**
 * Request ids: UUIDv7 (RFC 9562) laid out by the `uuid` package, time-ordered so inserts append
 * to the end of the B-tree. Ours, because the package cannot do them (docs/adr/0005):
 * - the store's promise that ids from one connection strictly increase in the order they were
 *   made, with the time from the runtime's clock (the package's own monotonic state reads
 *   Date.now(), so a manual clock could not drive it);
 * - randomness drawn from a pool: one crypto call per id cost 10-20 us here, more than the
 *   enqueue it names, and cut enqueues/s to a third.
 */
import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/** Returns 16 random bytes, read at once (tests pass a seeded source). */
export type RandomSource = () => Uint8Array;

const MAX_MS = 2 ** 48 - 1;
/** The package puts a 32-bit counter right after the timestamp (rand_a and the top of rand_b). */
const MAX_SEQ = 0xffff_ffff;

/** The Unix ms timestamp inside a UUIDv7. */
export function uuidv7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/**
 * Strictly increasing UUIDv7s, even within one millisecond or when the clock steps back (RFC 9562
 * method 1, a counter after the timestamp). The counter starts at a random 31-bit value in each
 * new millisecond, so at least 2^31 ids fit in one; on overflow the timestamp moves on by one.
 */
export class UuidV7Generator {
  private lastMs = -1;
  private seq = 0;

  /** `random`: the bytes for each id; default crypto randomness from a pool. */
  constructor(private readonly random: RandomSource = pooledRandom()) {}

  /** The next id for time `now` (Unix ms, usually the clock's now). */
  next(now: number): string {
    if (!Number.isInteger(now) || now < 0 || now > MAX_MS) throw new RangeError(`uuidv7 timestamp out of range: ${now}`);
    const random = this.random();
    if (now > this.lastMs) {
      this.lastMs = now;
      // Bytes the package does not print (it takes the id's tail from bytes 10-15) seed the counter.
      this.seq = (((random[0] & 0x7f) << 24) | (random[1] << 16) | (random[2] << 8) | random[3]) >>> 0;
    } else if (this.seq === MAX_SEQ) {
      this.lastMs += 1;
      this.seq = 0;
    } else {
      this.seq += 1;
    }
    return v7({ msecs: this.lastMs, seq: this.seq, random });
  }
}

/**
 * Crypto randomness 16 bytes at a time from a 4 KiB pool: one system call per 256 ids. Each
 * result is a view into the pool, valid until the next call.
 */
export function pooledRandom(poolSize = 4096): RandomSource {
  if (!(poolSize >= 16)) throw new RangeError(`pool of ${poolSize} bytes: at least 16 needed`);
  const pool = new Uint8Array(poolSize - (poolSize % 16));
  let pos = pool.length;
  return () => {
    if (pos === pool.length) {
      randomFillSync(pool);
      pos = 0;
    }
    pos += 16;
    return pool.subarray(pos - 16, pos);
  };
}
