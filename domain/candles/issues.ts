/**
 * Problem and warning classes of the data gate, and the tally that keeps a count and the first
 * few examples of each, so a file with a million bad rows still yields a small verdict.
 */

/** Classes that make a candle file invalid, in the order a verdict lists them. */
export const PROBLEM_KINDS = [
  'unreadable',
  'empty',
  'header',
  'no-rows',
  'line-too-long',
  'column-count',
  'not-a-number',
  'timestamp-not-integer',
  'timestamp-not-seconds',
  'timestamp-duplicate',
  'timestamp-out-of-order',
  'non-positive-price',
  'ohlc-inconsistent',
  'negative-volume',
  'window-not-covered',
] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

/** Classes worth a look that do not make a file invalid. */
export const WARNING_KINDS = ['gap', 'blank-line'] as const;
export type WarningKind = (typeof WARNING_KINDS)[number];

export type IssueKind = ProblemKind | WarningKind;

/** One class of problem or warning: how often it occurred and the first few occurrences. */
export interface Issue<K extends IssueKind = IssueKind> {
  kind: K;
  count: number;
  /** 1-based line numbers (the header is line 1) of the examples; empty for file-level issues. */
  lines: number[];
  /** Human messages, `line N: ...` for row-level issues, at most `maxExamples`. */
  examples: string[];
}

export class IssueTally<K extends IssueKind> {
  private readonly byKind = new Map<K, Issue<K>>();

  constructor(
    private readonly order: readonly K[],
    private readonly maxExamples: number,
  ) {}

  /**
   * Counts one occurrence. `describe` runs only while examples are still wanted, so a class that
   * fires on every row costs a counter bump, not a string per row.
   */
  add(kind: K, line: number, describe: () => string): void {
    let issue = this.byKind.get(kind);
    if (issue === undefined) {
      issue = { kind, count: 0, lines: [], examples: [] };
      this.byKind.set(kind, issue);
    }
    issue.count++;
    if (issue.examples.length < this.maxExamples) {
      const message = describe();
      if (line > 0) {
        issue.lines.push(line);
        issue.examples.push(`line ${line}: ${message}`);
      } else {
        issue.examples.push(message);
      }
    }
  }

  count(kind: K): number {
    return this.byKind.get(kind)?.count ?? 0;
  }

  /** The classes that occurred, in the fixed order of `order`. */
  list(): Issue<K>[] {
    const out: Issue<K>[] = [];
    for (const kind of this.order) {
      const issue = this.byKind.get(kind);
      if (issue !== undefined) out.push({ kind, count: issue.count, lines: [...issue.lines], examples: [...issue.examples] });
    }
    return out;
  }
}
