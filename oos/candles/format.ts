/** Human rendering of a verdict, for the CLI and for alerts. */
import type { Issue } from './issues.ts';
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
  const seconds = verdict.durationMs / 1000;
  const size = verdict.bytes >= 1e6 ? `${(verdict.bytes / 1e6).toFixed(1)} MB` : `${verdict.bytes.toLocaleString('en-US')} bytes`;
  const rate = seconds >= 0.05 ? `, ${(verdict.bytes / 1e6 / seconds).toFixed(0)} MB/s` : '';
  lines.push(`  read      ${size} in ${seconds.toFixed(2)} s${rate}`);
  lines.push(`  gap limit ${verdict.maxGapHours} h (longer gaps are warnings)`);
  lines.push(...formatIssues('problems', verdict.problems));
  lines.push(...formatIssues('warnings', verdict.warnings));
  return lines.join('\n');
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
  const date = new Date(ts * 1000);
  return Number.isNaN(date.getTime()) ? String(ts) : `${ts} (${date.toISOString().replace('.000Z', 'Z')})`;
}
