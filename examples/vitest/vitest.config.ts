import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The example suite alone: `npx vitest run --config examples/vitest/vitest.config.ts`.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  test: {
    include: ['*.test.ts'],
    setupFiles: ['./airlock-errors.ts'],
    testTimeout: 30_000,
  },
});
