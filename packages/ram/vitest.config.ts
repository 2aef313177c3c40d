import { defineConfig } from 'vitest/config';

// Some tests are CPU-bound (every cut of a stream, decode fuzzing): on a loaded machine they pass 5 s.
export default defineConfig({
  test: { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], passWithNoTests: false, testTimeout: 60_000 },
});
