import { describe, expect, it } from 'vitest';
import { completeDiskWorkload } from './disk-workload-config.js';

const MiB = 1 << 20;

describe('completeDiskWorkload', () => {
  it('fills the defaults: the whole drive from offset 0 (or the rest from the offset), random, 64 KiB blocks', () => {
    expect(completeDiskWorkload({ rate: MiB }, 8 * MiB)).toEqual({ rate: MiB, offset: 0, length: 8 * MiB, pattern: 'random', block: 65536 });
    expect(completeDiskWorkload({ rate: MiB, offset: 2 * MiB }, 8 * MiB).length).toBe(6 * MiB);
  });

  it.each([
    [{ rate: -1 }, 'rate must be a non-negative number of bytes per second, got -1'],
    [{ rate: MiB, block: 1000 }, 'block must be a multiple of 512 bytes from 512 to 1 MiB, got 1000'],
    [{ rate: MiB, block: 2 * MiB }, 'block must be a multiple of 512 bytes from 512 to 1 MiB'],
    [{ rate: MiB, offset: 100 }, 'region offset must be a non-negative multiple of 512 bytes, got 100'],
    [{ rate: MiB, offset: 4 * MiB, length: 8 * MiB }, 'region [4194304, 12582912) is outside the drive of 8388608 bytes'],
    [{ rate: MiB, offset: 8 * MiB }, 'region of 0 bytes holds no block of 65536 bytes'],
    [{ rate: MiB, length: 4096 }, 'region of 4096 bytes holds no block of 65536 bytes'],
  ])('refuses %j', (settings, message) => {
    expect(() => completeDiskWorkload(settings, 8 * MiB)).toThrow(message);
  });
});
