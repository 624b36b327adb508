/** The gate's answer for one file: plain, JSON-serialisable data. */
import type { Issue, ProblemKind, WarningKind } from './issues.ts';
import type { ResolvedCheckOptions } from './options.ts';
import type { ScanResult } from './scanner.ts';

export interface CandleVerdict {
  /** True when there is no problem; warnings never make a file invalid. */
  valid: boolean;
  file: string;
  /** Bytes read (the file size when it was read to the end). */
  bytes: number;
  /**
   * Of those, bytes whose rows were not checked: inside lines too long to parse, or after an
   * unusable header. A verdict is only as thorough as bytes - uncheckedBytes.
   */
  uncheckedBytes: number;
  /** Non-blank lines after the header, including rows with problems. */
  rows: number;
  /** Timestamps of the first and last rows whose timestamp parsed; null without such rows. */
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  /** Header column names; empty when the header was unusable. */
  columns: string[];
  /** The requested OOS window, Unix seconds; null bounds were not requested. */
  window: { startTime: number | null; endTime: number | null };
  maxGapHours: number;
  problems: Issue<ProblemKind>[];
  warnings: Issue<WarningKind>[];
  /** Wall time of the validation that produced this verdict (a cached verdict keeps the original). */
  durationMs: number;
}

export function verdictFromScan(file: string, scan: ScanResult, options: ResolvedCheckOptions, durationMs: number): CandleVerdict {
  return {
    valid: scan.problems.length === 0,
    file,
    bytes: scan.bytes,
    uncheckedBytes: scan.uncheckedBytes,
    rows: scan.rows,
    firstTimestamp: scan.firstTimestamp,
    lastTimestamp: scan.lastTimestamp,
    columns: scan.columns,
    window: { startTime: options.startTime, endTime: options.endTime },
    maxGapHours: options.maxGapHours,
    problems: scan.problems,
    warnings: scan.warnings,
    durationMs,
  };
}

/** The verdict for a file that could not be opened or read; `reason` should carry the OS error. */
export function unreadableVerdict(file: string, reason: string, options: ResolvedCheckOptions, durationMs: number): CandleVerdict {
  return {
    valid: false,
    file,
    bytes: 0,
    uncheckedBytes: 0,
    rows: 0,
    firstTimestamp: null,
    lastTimestamp: null,
    columns: [],
    window: { startTime: options.startTime, endTime: options.endTime },
    maxGapHours: options.maxGapHours,
    problems: [{ kind: 'unreadable', count: 1, lines: [], examples: [reason] }],
    warnings: [],
    durationMs,
  };
}

/** True when the verdict is about the file not being readable rather than its content. */
export function isUnreadable(verdict: CandleVerdict): boolean {
  return verdict.problems.some((p) => p.kind === 'unreadable');
}
