import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    passWithNoTests: false,
    // a timeout catches a hang, not slowness: CPU-bound tests take seconds on a loaded two-core machine
    testTimeout: 60_000,
  },
});
