/**
 * Data gate throughput: our byte scanner against csv-parse (streaming API) driving the same
 * checks, on a generated 5-year M1 USDJPY-like file. Both read the same file through a 1 MiB
 * read stream / buffer; the best of RUNS interleaved runs of each is reported. csv-parse with
 * no checks at all is timed too, as context: the floor under any csv-parse-based gate.
 *
 *   npx tsx bench/gate.bench.ts
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse';
import { CandleChecker, parseHeader, resolveCheckOptions, validateCandleFile } from '../domain/candles/index.ts';
import type { CheckSummary, ResolvedCheckOptions } from '../domain/candles/index.ts';
import { figure, fmt, printGoals, ratio } from './lib/report.ts';
import { writeSyntheticCandles } from '../backtester/synthetic-candles.ts';

const RUNS = 3;
const YEARS = 5;
const START = Date.UTC(2019, 0, 1) / 1000;
const CHUNK = 1024 * 1024;

/** The 5-year random-walk file (deterministic, so every run benchmarks the same bytes). */
async function generate(path: string): Promise<{ rows: number; bytes: number }> {
  const { rows, bytes } = await writeSyntheticCandles(path, { start: START, days: YEARS * 365.25 });
  return { rows, bytes };
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const COLUMN_NAMES = ['timestamp', 'open', 'high', 'low', 'close', 'volume'];

/** The gate's number rule on a string: the same grammar, the value Number() gives, finite. */
function toNumber(text: string): number {
  if (!NUMBER.test(text)) return NaN;
  const value = Number(text);
  return Number.isFinite(value) ? value : NaN;
}

/**
 * The baseline: csv-parse's streaming parser, then the same checks written straightforwardly on
 * each string record, through the same CandleChecker as the byte scanner.
 */
async function baseline(path: string, options: ResolvedCheckOptions): Promise<CheckSummary> {
  const checker = new CandleChecker(options);
  const parser = createReadStream(path, { highWaterMark: CHUNK }).pipe(parse({ bom: true, relax_column_count: true }));
  let line = 0;
  let columns = 0;
  let checked = 0;
  let headerOk = false;
  const values = [0, 0, 0, 0, 0, 0];
  parser.on('readable', () => {
    let record: string[] | null;
    while ((record = parser.read() as string[] | null) !== null) {
      line++;
      if (line === 1) {
        const header = parseHeader(record.join(','));
        if (header.ok) {
          headerOk = true;
          columns = header.header.columns.length;
          checked = header.header.checkedColumns;
        } else {
          const reason = header.reason;
          checker.problem('header', 1, () => reason);
        }
        continue;
      }
      if (record.length === 1 && record[0] === '') {
        checker.warning('blank-line', line, () => 'blank line');
        continue;
      }
      checker.countRow();
      if (!headerOk) continue;
      let length = record.length - 1;
      for (const field of record) length += field.length;
      if (length > options.maxLineBytes) {
        checker.problem('line-too-long', line, () => `longer than ${options.maxLineBytes} bytes`);
        continue;
      }
      if (record.length !== columns) {
        const found = record.length;
        checker.problem('column-count', line, () => `${found} fields, the header has ${columns}`);
        continue;
      }
      let bad: string[] | null = null;
      for (let i = 0; i < checked; i++) {
        values[i] = toNumber(record[i]);
        if (Number.isNaN(values[i])) (bad ??= []).push(`${COLUMN_NAMES[i]} "${record[i]}"`);
      }
      if (bad !== null) {
        const names = bad;
        checker.problem('not-a-number', line, () => `${names.join(', ')} ${names.length === 1 ? 'is not a finite number' : 'are not finite numbers'}`);
      }
      const tsText = record[0];
      if (!Number.isNaN(values[0]) && !(INTEGER.test(tsText) && Number.isSafeInteger(values[0]))) {
        checker.problem('timestamp-not-integer', line, () => `timestamp "${tsText}" is not an integer`);
      }
      checker.row(line, values[0], values[1], values[2], values[3], values[4], checked > 5 ? values[5] : 0);
    }
  });
  await once(parser, 'end');
  if (line === 0) checker.problem('empty', 0, () => 'the file is empty');
  return checker.finish(headerOk);
}

/** csv-parse alone, no checks: the floor under any gate built on it (context, not a goal). */
async function parseOnly(path: string): Promise<number> {
  const parser = createReadStream(path, { highWaterMark: CHUNK }).pipe(parse({ bom: true, relax_column_count: true }));
  let records = 0;
  parser.on('readable', () => {
    while (parser.read() !== null) records++;
  });
  await once(parser, 'end');
  return records;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = performance.now();
  const result = await fn();
  return { ms: performance.now() - started, result };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-gate-bench-'));
  try {
    const path = join(dir, 'USDJPY_M1.csv');
    const generated = await timed(() => generate(path));
    const { rows, bytes } = generated.result;
    const mb = bytes / 1e6;
    console.log(`gate bench: ${YEARS}-year M1 file, ${fmt(rows)} rows, ${fmt(mb, 1)} MB (generated in ${fmt(generated.ms / 1000, 1)} s); best of ${RUNS} interleaved runs each`);
    const options = resolveCheckOptions({});

    let oursBest = Infinity;
    let baseBest = Infinity;
    let parseBest = Infinity;
    for (let run = 0; run < RUNS; run++) {
      const ours = await timed(() => validateCandleFile(path));
      const base = await timed(() => baseline(path, options));
      const parsed = await timed(() => parseOnly(path));
      oursBest = Math.min(oursBest, ours.ms);
      baseBest = Math.min(baseBest, base.ms);
      parseBest = Math.min(parseBest, parsed.ms);
      // Both must have done the same work and reached the same answer.
      const a = ours.result;
      const b = base.result;
      const same = a.valid && b.problems.length === 0 && a.rows === rows && b.rows === rows && a.firstTimestamp === b.firstTimestamp && a.lastTimestamp === b.lastTimestamp && JSON.stringify(a.warnings) === JSON.stringify(b.warnings);
      if (!same) throw new Error(`verdicts differ or the file is invalid: ours ${JSON.stringify(a).slice(0, 400)} / baseline ${JSON.stringify(b).slice(0, 400)}`);
      if (parsed.result !== rows + 1) throw new Error(`csv-parse read ${parsed.result} records, expected ${rows + 1}`);
      console.log(`  run ${run + 1}: ours ${fmt(ours.ms)} ms, csv-parse + checks ${fmt(base.ms)} ms, csv-parse alone ${fmt(parsed.ms)} ms`);
    }

    const oursRate = mb / (oursBest / 1000);
    const baseRate = mb / (baseBest / 1000);
    figure('ours: byte scanner, best run', oursBest, 'ms');
    figure('ours: throughput', oursRate, 'MB/s', 1);
    figure('ours: rows', rows / (oursBest / 1000) / 1e6, 'M rows/s', 2);
    figure('baseline: csv-parse (stream) + same checks, best run', baseBest, 'ms');
    figure('baseline: throughput', baseRate, 'MB/s', 1);
    figure('context: csv-parse alone (no checks), best run', parseBest, 'ms');
    figure('context: csv-parse alone throughput', mb / (parseBest / 1000), 'MB/s', 1);
    const speedup = ratio('ours vs csv-parse + same checks', oursRate, baseRate);
    ratio('context: ours vs csv-parse alone', oursRate, mb / (parseBest / 1000));
    printGoals([
      { name: 'gate_throughput', measured: oursRate, unit: 'MB/s', target: '>= 100', pass: oursRate >= 100, digits: 1 },
      { name: 'gate_vs_csv_parse', measured: speedup, unit: 'x', target: '>= 3', pass: speedup >= 3, digits: 2 },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
