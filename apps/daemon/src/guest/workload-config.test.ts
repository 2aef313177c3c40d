import { describe, expect, it } from 'vitest';
import { parseDaemonArgs } from '../cli/args.js';
import { completeWorkload, parseRate, parseWorkloadOption, validateWorkload } from './workload-config.js';

const MiB = 1024 * 1024;

describe('-workload', () => {
  it('parses dirty-rate as bytes of pages per second (20M/s = 5120 page writes/s), sizes with QEMU suffixes', () => {
    expect(parseWorkloadOption('dirty-rate=20M/s,wss=64M,offset=1M,pattern=random')).toEqual({
      dirtyRate: 20 * MiB, wss: 64 * MiB, offset: MiB, pattern: 'random',
    });
    expect(parseRate('20M/s') / 4096).toBe(5120);
    expect(parseRate('4096')).toBe(4096);
  });

  it('fills defaults: offset 0, pattern sparse, the working set is the rest of RAM', () => {
    expect(completeWorkload({ dirtyRate: MiB }, 256 * MiB)).toEqual({ dirtyRate: MiB, wss: 256 * MiB, offset: 0, pattern: 'sparse' });
    expect(completeWorkload({ dirtyRate: MiB, offset: 64 * MiB }, 256 * MiB).wss).toBe(192 * MiB);
  });

  it.each([
    ['wss=64M', "Parameter 'dirty-rate' is missing"],
    ['dirty-rate=fast', "dirty-rate=fast: invalid rate 'fast'"],
    ['dirty-rate=1M/s,pattern=loud', 'pattern=loud: expected one of random, sparse, zero'],
    ['dirty-rate=1M/s,colour=red', "property 'colour' not found"],
    ['dirty-rate=1M/s,wss=lots', "wss=lots: invalid size 'lots'"],
  ])('%s → %s', (text, message) => {
    expect(() => parseWorkloadOption(text)).toThrow(message);
  });

  it.each([
    [{ dirtyRate: MiB, wss: 0, offset: 0, pattern: 'sparse' as const }, 'wss must be a positive multiple of 4096'],
    [{ dirtyRate: MiB, wss: 4097, offset: 0, pattern: 'sparse' as const }, 'wss must be a positive multiple of 4096'],
    [{ dirtyRate: MiB, wss: 4096, offset: 12, pattern: 'sparse' as const }, 'offset must be a non-negative multiple of 4096'],
    [{ dirtyRate: -1, wss: 4096, offset: 0, pattern: 'sparse' as const }, 'dirty-rate must be a non-negative'],
    [{ dirtyRate: MiB, wss: 64 * MiB, offset: 200 * MiB, pattern: 'sparse' as const }, 'is outside guest RAM of 268435456 bytes'],
  ])('refuses %j', (config, message) => {
    expect(() => validateWorkload(config, 256 * MiB)).toThrow(message);
  });

  it('is on the daemon command line, errors naming the option', () => {
    const c = parseDaemonArgs(['-m', '256M', '-workload', 'dirty-rate=20M/s,wss=64M,pattern=sparse']);
    expect(c.workload).toEqual({ dirtyRate: 20 * MiB, wss: 64 * MiB, pattern: 'sparse' });
    expect(() => parseDaemonArgs(['-workload', 'wss=1M'])).toThrow("-workload wss=1M: Parameter 'dirty-rate' is missing");
  });
});
