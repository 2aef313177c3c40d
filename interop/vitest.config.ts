// Interop tests: real QEMU 7.2 and mig-daemon processes. Long timeouts, one file at a time in a forked
// process (the CI machine has 2 cores and each test runs two VMs).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['interop/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 180_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
    passWithNoTests: false,
    reporters: ['default'],
  },
});
