import { describe, expect, it } from 'vitest';
import { processMemory, sampleMemory } from './memory.js';

describe('processMemory', () => {
  it('reads this process: resident at least its anonymous part, and sees a large buffer it touches', () => {
    const before = processMemory(process.pid);
    expect(before.rss).toBeGreaterThanOrEqual(before.anon);
    expect(before.anon).toBeGreaterThan(1 << 20);
    const sampler = sampleMemory(process.pid, 1000);
    const big = Buffer.alloc(64 << 20, 1); // alloc(size, fill) touches every page
    const max = sampler.stop();
    expect(max.anon - before.anon).toBeGreaterThan(48 << 20);
    expect(max.samples).toBeGreaterThanOrEqual(2);
    expect(big[big.length - 1]).toBe(1);
  });

  it('a process that is not there is an error naming it', () => {
    expect(() => processMemory(2 ** 22 + 1)).toThrow(/ENOENT/);
  });
});
