import { defineConfig } from 'vitest/config';

// CI reads the JSON report (not vitest's console summary) to print `N passed, N failed`.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', ['json', { outputFile: '.ci/test-results.json' }]],
  },
});
