import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One real Temporal dev server for the whole run, started here and shared by every test file.
    globalSetup: ['test/global-setup.ts'],
    // The Temporal worker is a native addon: separate processes, not threads, keep each file's runtime apart.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
