import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll } from './cleanup.js';
import { sha256File, tmpDir } from './files.js';
import { PAGE_SIZE, fillRamFile } from './fill.js';

afterEach(cleanupAll);

function countZeroPages(buf: Buffer): number {
  let zero = 0;
  for (let off = 0; off < buf.length; off += PAGE_SIZE) {
    let any = 0;
    for (let i = off; i < off + PAGE_SIZE; i++) any |= buf[i]!;
    if (any === 0) zero++;
  }
  return zero;
}

describe('fillRamFile', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const dir = await tmpDir();
    const size = 3 * (1 << 20) + 5 * PAGE_SIZE; // not a whole number of chunks
    await fillRamFile(join(dir, 'a'), size, { seed: 7, zeroFraction: 0.3 });
    await fillRamFile(join(dir, 'b'), size, { seed: 7, zeroFraction: 0.3 });
    await fillRamFile(join(dir, 'c'), size, { seed: 8, zeroFraction: 0.3 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((f) => sha256File(join(dir, f))));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect((await readFile(join(dir, 'a'))).length).toBe(size);
  });

  it('makes about zeroFraction of the pages zero and reports the counts truthfully', async () => {
    const dir = await tmpDir();
    const size = 8 << 20;
    const res = await fillRamFile(join(dir, 'r'), size, { seed: 1, zeroFraction: 0.25 });
    const buf = await readFile(join(dir, 'r'));
    const pages = size / PAGE_SIZE;
    expect(res.zeroPages + res.dataPages).toBe(pages);
    expect(countZeroPages(buf)).toBe(res.zeroPages);
    expect(res.zeroPages / pages).toBeGreaterThan(0.2);
    expect(res.zeroPages / pages).toBeLessThan(0.3);
  });

  it('handles the extremes 0 and 1', async () => {
    const dir = await tmpDir();
    const all = await fillRamFile(join(dir, 'z'), 1 << 20, { seed: 3, zeroFraction: 1 });
    expect(all).toEqual({ zeroPages: 256, dataPages: 0 });
    expect(countZeroPages(await readFile(join(dir, 'z')))).toBe(256);
    const none = await fillRamFile(join(dir, 'n'), 1 << 20, { seed: 3, zeroFraction: 0 });
    expect(none).toEqual({ zeroPages: 0, dataPages: 256 });
    expect(countZeroPages(await readFile(join(dir, 'n')))).toBe(0);
  });

  it('rejects sizes that are not whole pages and bad fractions', async () => {
    const dir = await tmpDir();
    await expect(fillRamFile(join(dir, 'x'), 1000, { seed: 1, zeroFraction: 0 })).rejects.toThrow(/multiple of 4096/);
    await expect(fillRamFile(join(dir, 'x'), PAGE_SIZE, { seed: 1, zeroFraction: 2 })).rejects.toThrow(/zeroFraction/);
  });
});
