/**
 * Synthetic M1 candle files in the host's format, for the demo and the benchmarks: a
 * deterministic random walk (mulberry32), FX hours only (Sunday 22:00 to Friday 22:00 UTC),
 * prices in thousandths with 3 decimals, integer tick volume.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** Deterministic PRNG (mulberry32), so every run writes the same file. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FX trades Sunday 22:00 UTC to Friday 22:00 UTC. */
export function marketOpen(ts: number): boolean {
  const d = new Date(ts * 1000);
  const day = d.getUTCDay();
  const hour = d.getUTCHours();
  return !(day === 6 || (day === 5 && hour >= 22) || (day === 0 && hour < 22));
}

export interface SyntheticOptions {
  /** Unix seconds of the first bar. */
  readonly start: number;
  readonly days: number;
  readonly seed?: number;
  /** Start price in thousandths (109_650 = 109.650). */
  readonly startPrice?: number;
  /** Price the walk is weakly pulled toward, in thousandths. */
  readonly anchorPrice?: number;
}

/** Writes the file; returns rows, bytes and the last bar's timestamp. */
export async function writeSyntheticCandles(path: string, o: SyntheticOptions): Promise<{ rows: number; bytes: number; last: number }> {
  const rnd = prng(o.seed ?? 20240101);
  const out = createWriteStream(path, { highWaterMark: 1024 * 1024 });
  out.write('timestamp,open,high,low,close,volume\n');
  const end = o.start + Math.round(o.days * 86400);
  const anchor = o.anchorPrice ?? 130_000;
  const px = (thousandths: number): string => (thousandths / 1000).toFixed(3);
  let price = o.startPrice ?? 109_650;
  let rows = 0;
  let last = 0;
  let batch = '';
  for (let ts = o.start; ts < end; ts += 60) {
    if (!marketOpen(ts)) continue;
    const open = price;
    // Sum of three uniforms ~ bell-shaped minute move of a few pips, with a weak pull toward the anchor.
    const move = Math.round((rnd() + rnd() + rnd() - 1.5) * 14 + (anchor - price) * 0.00002);
    price = Math.max(50_000, open + move);
    const high = Math.max(open, price) + Math.floor(rnd() * rnd() * 12);
    const low = Math.min(open, price) - Math.floor(rnd() * rnd() * 12);
    const volume = 1 + Math.floor(rnd() * rnd() * 240);
    batch += `${ts},${px(open)},${px(high)},${px(low)},${px(price)},${volume}\n`;
    last = ts;
    if (++rows % 20_000 === 0) {
      if (!out.write(batch)) await once(out, 'drain');
      batch = '';
    }
  }
  out.end(batch);
  await once(out, 'finish');
  return { rows, bytes: out.bytesWritten, last };
}
