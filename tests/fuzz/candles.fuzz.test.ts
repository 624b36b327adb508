/**
 * Fuzzing the candle gate with mutated CSV files. Rules: the scanner never throws; the verdict
 * does not depend on how the file is cut into reads; every problem is of a known kind, points at
 * lines that exist, and says what is wrong in one line per example; a file with a problem is never
 * called valid.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CandleScanner, PROBLEM_KINDS, WARNING_KINDS, resolveCheckOptions } from '../../domain/candles/index.ts';
import { csv, validLines } from '../domain/candles/fixtures.ts';
import { mutated } from './mutations.ts';
import { fuzzParams, fuzzTimeout } from './runs.ts';

const OPTIONS = resolveCheckOptions({ maxLineBytes: 96 });

function scan(bytes: Uint8Array, cuts: number[]) {
  const scanner = new CandleScanner(OPTIONS);
  const buf = Buffer.from(bytes);
  let from = 0;
  for (const c of [...cuts.map((x) => x % (buf.length + 1))].sort((a, b) => a - b)) {
    scanner.feed(buf.subarray(from, Math.max(from, c)));
    from = Math.max(from, c);
  }
  scanner.feed(buf.subarray(from));
  return scanner.finish();
}

const validFiles = fc.integer({ min: 1, max: 40 }).map((n) => new TextEncoder().encode(csv(validLines(n))));
const KNOWN = new Set<string>([...PROBLEM_KINDS, ...WARNING_KINDS]);
const RUNS = 2_000;

describe('candle gate fuzz (mutated CSV files)', () => {
  it(
    'a mutated file gets the same verdict however it is cut into reads, with known kinds, real line numbers and one-line examples',
    () => {
      fc.assert(
        fc.property(mutated(validFiles, 8), fc.array(fc.nat(), { maxLength: 6 }), (file, cuts) => {
          const whole = scan(file, []);
          expect(scan(file, cuts)).toEqual(whole);
          const lines = file.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 1);
          for (const issue of [...whole.problems, ...whole.warnings]) {
            expect(KNOWN.has(issue.kind), issue.kind).toBe(true);
            expect(issue.count).toBeGreaterThanOrEqual(1);
            for (const l of issue.lines) expect(l >= 1 && l <= lines, `line ${l} of ${lines}`).toBe(true);
            for (const e of issue.examples) expect(e.includes('\n') || e.includes('\r'), JSON.stringify(e)).toBe(false);
          }
        }),
        fuzzParams(RUNS),
      );
    },
    fuzzTimeout(RUNS, 1),
  );

  it(
    'random bytes after a valid header never throw and never pass as a valid file unless every row checks',
    () => {
      const header = new TextEncoder().encode('timestamp,open,high,low,close,volume\n');
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), (tail) => {
          const r = scan(Buffer.concat([header, tail]), []);
          if (r.problems.length === 0) expect(r.uncheckedBytes).toBe(0);
        }),
        fuzzParams(RUNS),
      );
    },
    fuzzTimeout(RUNS, 1),
  );
});
