import { describe, expect, it } from 'vitest';
import { defaultParameters } from '../params.js';
import { qemuConvergence, type ConvergenceInput } from './convergence.js';

const input = (pendingBytes: number, thresholdBytes: number): ConvergenceInput => ({
  pendingBytes, thresholdBytes, bandwidth: thresholdBytes * 10, passes: 2, elapsedMs: 1000, params: defaultParameters(),
});

describe('qemuConvergence', () => {
  it('switches over when pending ≤ threshold_size (bandwidth × downtime-limit)', () => {
    expect(qemuConvergence(input(99_999, 100_000))).toBe(true);
    expect(qemuConvergence(input(100_000, 100_000))).toBe(true);
    expect(qemuConvergence(input(100_001, 100_000))).toBe(false);
  });

  it('before the first measurement (threshold 0) only when nothing is pending', () => {
    expect(qemuConvergence(input(0, 0))).toBe(true);
    expect(qemuConvergence(input(4096, 0))).toBe(false);
  });

  it('a section holding the switchover back (pending = threshold + 1 MiB) keeps it iterating', () => {
    for (const t of [0, 1, 1e6, 3.5e9]) expect(qemuConvergence(input(t + 1024 * 1024, t))).toBe(false);
  });
});
