import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { validateCandleFile } from '../../../domain/candles/index.ts';
import { HEADER, T0, TempDir } from './fixtures.ts';

const ROWS = 1_000_000;
const MB = 1024 * 1024;
/** Well under the file's size (~47 MB): a reader that held the file, or its lines, would exceed it. */
const GROWTH_BOUND = 32 * MB;

let dir: TempDir;
let path: string;

/** Streams ROWS consistent M1 rows to disk, in batches, without holding the file in memory. */
async function writeLargeFile(file: string): Promise<void> {
  const out = createWriteStream(file);
  out.write(`${HEADER}\n`);
  let price = 147_000; // thousandths
  for (let i = 0; i < ROWS; ) {
    let batch = '';
    for (const end = Math.min(ROWS, i + 10_000); i < end; i++) {
      const open = price;
      price += (i * 7919) % 11 - 5;
      const high = Math.max(open, price) + 3;
      const low = Math.min(open, price) - 2;
      batch += `${T0 + 60 * i},${open / 1000},${high / 1000},${low / 1000},${price / 1000},${i % 97}\n`;
    }
    if (!out.write(batch)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

beforeAll(async () => {
  dir = new TempDir();
  path = join(dir.path, 'large.csv');
  await writeLargeFile(path);
});
afterAll(() => dir.remove());

describe('constant memory', () => {
  it('a 1-million-row file validates with rss and heap growth bounded well below the file size', async () => {
    const before = process.memoryUsage();
    const peak = { rss: before.rss, heapUsed: before.heapUsed, arrayBuffers: before.arrayBuffers };
    const sample = setInterval(() => {
      const m = process.memoryUsage();
      peak.rss = Math.max(peak.rss, m.rss);
      peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
      peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
    }, 2);
    // Small reads give the sampler many chances to run between them; the scanner is the same.
    const verdict = await validateCandleFile(path, { chunkSize: 256 * 1024 }).finally(() => clearInterval(sample));

    expect(verdict).toMatchObject({ valid: true, rows: ROWS, bytes: statSync(path).size, lastTimestamp: T0 + 60 * (ROWS - 1) });
    expect(verdict.bytes).toBeGreaterThan(GROWTH_BOUND);
    const growth = { rss: peak.rss - before.rss, heapUsed: peak.heapUsed - before.heapUsed, arrayBuffers: peak.arrayBuffers - before.arrayBuffers };
    expect(growth.rss, `rss grew ${(growth.rss / MB).toFixed(1)} MB`).toBeLessThan(GROWTH_BOUND);
    expect(growth.heapUsed, `heap grew ${(growth.heapUsed / MB).toFixed(1)} MB`).toBeLessThan(GROWTH_BOUND);
    expect(growth.arrayBuffers, `buffers grew ${(growth.arrayBuffers / MB).toFixed(1)} MB`).toBeLessThan(4 * MB);
  });
});
