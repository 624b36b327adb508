import { defineConfig } from 'vitest/config';

// CI reads the JSON report (not vitest's console summary) to print `N passed, N failed`.
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    // Tests that run the `shoal` command or pack the package use dist/: built once, up front.
    globalSetup: ['tests/package/build-setup.ts'],
    reporters: ['default', ['json', { outputFile: '.ci/test-results.json' }]],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/package/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // Packing and installing the package (a native build of better-sqlite3 included) takes
        // minutes and both cores: it runs after the suite (a later group), not beside it.
        extends: true,
        test: {
          name: 'package',
          include: ['tests/package/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
