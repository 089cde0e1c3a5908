import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Browser tests each start one Chromium; two cores cannot run many at once.
    maxWorkers: 2,
  },
});
