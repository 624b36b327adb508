/** Shared printing for benchmarks: figures, ratios against a baseline of the same run, and GOAL lines. */

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function figure(label: string, value: number, unit: string, digits = 0): void {
  console.log(`${label.padEnd(56)} ${fmt(value, digits).padStart(14)} ${unit}`);
}

export function ratio(label: string, ours: number, baseline: number): number {
  const r = ours / baseline;
  console.log(`${label.padEnd(56)} ${fmt(r, 2).padStart(14)} x`);
  return r;
}

export interface Goal {
  name: string;
  measured: number;
  unit: string;
  /** Human text of the target, e.g. ">= 20000" or "< 2". */
  target: string;
  pass: boolean;
  digits?: number;
}

/** Prints `GOAL <name>: <measured> <unit> (goal <target>) PASS|MISS` for each goal, at the end of a benchmark. */
export function printGoals(goals: Goal[]): void {
  for (const g of goals) {
    console.log(`GOAL ${g.name}: ${fmt(g.measured, g.digits ?? 2)} ${g.unit} (goal ${g.target}) ${g.pass ? 'PASS' : 'MISS'}`);
  }
}

export { percentile } from '../../domain/percentiles.ts';
