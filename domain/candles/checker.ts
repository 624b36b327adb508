/**
 * The gate's rules over a sequence of parsed rows: counts, ordering, gaps, bar consistency and
 * window coverage. It never sees bytes or text, so any reader can drive it; readers report the
 * text-level problems (header, field count, unparsable values) through `problem()`.
 */
import { IssueTally, PROBLEM_KINDS, WARNING_KINDS } from './issues.ts';
import type { Issue, ProblemKind, WarningKind } from './issues.ts';
import type { ResolvedCheckOptions } from './options.ts';
import { MAX_SECONDS_TIMESTAMP, nonPositivePrice, notSeconds, ohlcViolation, timestampStep } from './rows.ts';
import type { TimestampStep } from './rows.ts';
import { windowShortfalls } from './window.ts';

export interface CheckSummary {
  rows: number;
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  problems: Issue<ProblemKind>[];
  warnings: Issue<WarningKind>[];
}

export class CandleChecker {
  private readonly problems: IssueTally<ProblemKind>;
  private readonly warnings: IssueTally<WarningKind>;
  private rows = 0;
  private first = NaN;
  private last = NaN;
  private prevLine = 0;

  constructor(private readonly options: ResolvedCheckOptions) {
    this.problems = new IssueTally(PROBLEM_KINDS, options.maxExamples);
    this.warnings = new IssueTally(WARNING_KINDS, options.maxExamples);
  }

  problem(kind: ProblemKind, line: number, describe: () => string): void {
    this.problems.add(kind, line, describe);
  }

  warning(kind: WarningKind, line: number, describe: () => string): void {
    this.warnings.add(kind, line, describe);
  }

  /** Counts a data row, whether or not its values could be checked. */
  countRow(): void {
    this.rows++;
  }

  /**
   * Applies the value rules to one data row (already counted). A value that did not parse is NaN
   * and was reported by the reader; the rules that need it are skipped. Pass volume 0 when the
   * file has no volume column.
   */
  row(line: number, ts: number, open: number, high: number, low: number, close: number, volume: number): void {
    // Reports go through separate methods: a closure here would make V8 allocate a context for
    // every row, not only for bad ones.
    if (ts === ts) {
      // Not seconds: order still means something, a "gap" measured in seconds does not.
      const seconds = ts <= MAX_SECONDS_TIMESTAMP;
      if (!seconds) this.reportNotSeconds(line, ts);
      const prev = this.last;
      if (prev === prev) {
        const step = timestampStep(prev, ts, this.options.maxGapSeconds);
        if (step !== 'next' && (seconds || step !== 'gap')) this.reportStep(step, line, prev, ts);
      } else {
        this.first = ts;
      }
      this.last = ts;
      this.prevLine = line;
    }
    // NaN fails every comparison, so one check covers "all four prices parsed".
    if (open === open && high === high && low === low && close === close) {
      if (!(open > 0 && high > 0 && low > 0 && close > 0)) this.reportBar('non-positive-price', line, open, high, low, close);
      if (low > open || close > high || low > close || open > high) this.reportBar('ohlc-inconsistent', line, open, high, low, close);
    }
    if (volume < 0) this.reportVolume(line, volume);
  }

  private reportStep(step: Exclude<TimestampStep, 'next'>, line: number, prev: number, ts: number): void {
    const prevLine = this.prevLine;
    if (step === 'gap') this.warnings.add('gap', line, () => `${formatHours(ts - prev)} gap after timestamp ${prev} (line ${prevLine})`);
    else if (step === 'duplicate') this.problems.add('timestamp-duplicate', line, () => `timestamp ${ts} repeats line ${prevLine}`);
    else this.problems.add('timestamp-out-of-order', line, () => `timestamp ${ts} is not after ${prev}`);
  }

  private reportNotSeconds(line: number, ts: number): void {
    this.problems.add('timestamp-not-seconds', line, () => notSeconds(ts) ?? '');
  }

  private reportBar(kind: 'non-positive-price' | 'ohlc-inconsistent', line: number, open: number, high: number, low: number, close: number): void {
    const describe = kind === 'non-positive-price' ? nonPositivePrice : ohlcViolation;
    this.problems.add(kind, line, () => describe(open, high, low, close) ?? '');
  }

  private reportVolume(line: number, volume: number): void {
    this.problems.add('negative-volume', line, () => `volume ${volume} is negative`);
  }

  /**
   * Closes the tally. `rowsChecked` is false when the header was unusable: then rows were only
   * counted, and "no rows" or window coverage would say nothing the header problem does not.
   */
  finish(rowsChecked: boolean): CheckSummary {
    const hasTimestamps = this.first === this.first;
    if (rowsChecked) {
      if (this.rows === 0) this.problems.add('no-rows', 0, () => 'the header is not followed by any data row');
      // Timestamps in another unit cannot be compared with a window in seconds; that problem says enough.
      else if (hasTimestamps && this.problems.count('timestamp-not-seconds') === 0) {
        for (const shortfall of windowShortfalls(this.first, this.last, this.options.startTime, this.options.endTime)) {
          this.problems.add('window-not-covered', 0, () => shortfall);
        }
      }
    }
    return {
      rows: this.rows,
      firstTimestamp: hasTimestamps ? this.first : null,
      lastTimestamp: hasTimestamps ? this.last : null,
      problems: this.problems.list(),
      warnings: this.warnings.list(),
    };
  }
}

function formatHours(seconds: number): string {
  return `${Math.round((seconds / 3600) * 10) / 10} h`;
}
