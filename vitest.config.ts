import { defineConfig } from 'vitest/config';

// Integration tests spawn real worker processes: keep two test files in flight at most on
// this 2-core machine, and give each test room for a slow spawn.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
  },
});
