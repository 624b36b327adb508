// Prints `N passed, N failed` from vitest's JSON report; a run that never produced a report
// (install or type-check failure) counts as one failure. Exit code: non-zero on any failure.
import { existsSync, readFileSync } from 'node:fs';

const [reportPath, statusArg] = process.argv.slice(2);
const status = Number(statusArg ?? 1);
let passed = 0;
let failed = 0;
if (existsSync(reportPath)) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  for (const file of report.testResults ?? []) {
    const results = file.assertionResults ?? [];
    for (const t of results) {
      if (t.status === 'passed') passed++;
      else if (t.status === 'failed') failed++;
    }
    // a test file that failed to load has no assertion results but did fail
    if (results.length === 0 && file.status === 'failed') failed++;
  }
}
if (status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || status !== 0 ? 1 : 0);
