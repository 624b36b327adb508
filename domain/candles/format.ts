/** Human rendering of a verdict, for the CLI and for alerts. */
import type { Issue } from './issues.ts';
import { MAX_SECONDS_TIMESTAMP } from './rows.ts';
import type { CandleVerdict } from './verdict.ts';

export function formatVerdict(verdict: CandleVerdict): string {
  const lines: string[] = [];
  lines.push(`${verdict.valid ? 'VALID' : 'INVALID'} ${verdict.file}`);
  lines.push(`  rows      ${verdict.rows.toLocaleString('en-US')}`);
  lines.push(`  first     ${formatTimestamp(verdict.firstTimestamp)}`);
  lines.push(`  last      ${formatTimestamp(verdict.lastTimestamp)}`);
  const { startTime, endTime } = verdict.window;
  if (startTime !== null || endTime !== null) {
    lines.push(`  window    ${startTime === null ? '(data start)' : formatTimestamp(startTime)} .. ${endTime === null ? '(data end)' : formatTimestamp(endTime)}`);
  }
  lines.push(`  read      ${formatRead(verdict)}`);
  lines.push(`  gap limit ${verdict.maxGapHours} h (longer gaps are warnings)`);
  lines.push(...formatIssues('problems', verdict.problems));
  lines.push(...formatIssues('warnings', verdict.warnings));
  return lines.join('\n');
}

/**
 * How much was read and how much of it was checked. A file rejected early (an unusable header, a
 * line with no end) is still read to the end, but its rows were not checked: saying only "read
 * 200 MB" would claim a validation that did not happen.
 */
function formatRead(verdict: CandleVerdict): string {
  const seconds = verdict.durationMs / 1000;
  const read = `${formatSize(verdict.bytes)} in ${seconds.toFixed(2)} s`;
  if (verdict.uncheckedBytes === 0) return `${read}${seconds >= 0.05 ? `, ${(verdict.bytes / 1e6 / seconds).toFixed(0)} MB/s` : ''}`;
  const why: string[] = [];
  const overlong = verdict.problems.find((p) => p.kind === 'line-too-long');
  if (overlong) why.push(`${overlong.count.toLocaleString('en-US')} line${overlong.count === 1 ? '' : 's'} too long to check`);
  if (verdict.problems.some((p) => p.kind === 'header')) why.push('no row is checked after an unusable header');
  return `${read}, of which only ${formatSize(verdict.bytes - verdict.uncheckedBytes)} checked (${why.join('; ')})`;
}

function formatSize(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${bytes.toLocaleString('en-US')} bytes`;
}

function formatIssues(title: string, issues: readonly Issue[]): string[] {
  if (issues.length === 0) return [`  ${title}: none`];
  const out = [`  ${title}:`];
  for (const issue of issues) {
    out.push(`    ${issue.kind}: ${issue.count.toLocaleString('en-US')}`);
    for (const example of issue.examples) out.push(`      ${example}`);
    if (issue.count > issue.examples.length && issue.examples.length > 0) out.push(`      ... and ${(issue.count - issue.examples.length).toLocaleString('en-US')} more`);
  }
  return out;
}

function formatTimestamp(ts: number | null): string {
  if (ts === null) return '-';
  if (ts > MAX_SECONDS_TIMESTAMP) return `${ts} (not Unix seconds)`;
  const date = new Date(ts * 1000);
  return Number.isNaN(date.getTime()) ? String(ts) : `${ts} (${date.toISOString().replace('.000Z', 'Z')})`;
}
