import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ when a source is newer: child-process tests run the built bin.
    globalSetup: ['test/helpers/build-dist.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Browser tests each start one Chromium; two cores cannot run many at once.
    maxWorkers: 2,
  },
});
