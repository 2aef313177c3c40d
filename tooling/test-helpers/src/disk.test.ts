import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll } from './cleanup.js';
import { BLOCK_CHUNK, createRawDisk } from './disk.js';
import { sha256File, tmpDir } from './files.js';
import { fillRamFile } from './fill.js';

afterEach(cleanupAll);

/** Which `unit`-sized pieces of buf (the last may be short) are all zero. */
function zeroUnitIndices(buf: Buffer, unit: number): number[] {
  const out: number[] = [];
  for (let off = 0, i = 0; off < buf.length; off += unit, i++) {
    if (buf.subarray(off, Math.min(off + unit, buf.length)).every((b) => b === 0)) out.push(i);
  }
  return out;
}

describe('createRawDisk', () => {
  it('writes exactly sizeBytes, also when the size is not whole chunks, deterministically for a seed', async () => {
    const dir = await tmpDir();
    const size = 3 * BLOCK_CHUNK + 64 * 1024;
    const a = await createRawDisk(join(dir, 'a'), size, { seed: 4, zeroFraction: 0.5 });
    await createRawDisk(join(dir, 'b'), size, { seed: 4, zeroFraction: 0.5 });
    await createRawDisk(join(dir, 'c'), size, { seed: 5, zeroFraction: 0.5 });
    expect((await readFile(join(dir, 'a'))).length).toBe(size);
    expect(a).toMatchObject({ sizeBytes: size, unitBytes: BLOCK_CHUNK });
    expect(a.zeroUnits + a.dataUnits).toBe(4); // three whole chunks and the 64 KiB tail
    expect(await sha256File(join(dir, 'a'))).toBe(await sha256File(join(dir, 'b')));
    expect(await sha256File(join(dir, 'a'))).not.toBe(await sha256File(join(dir, 'c')));
  });

  it('reports its zero units truthfully, at the unit size asked for', async () => {
    const dir = await tmpDir();
    const unit = 64 * 1024;
    const r = await createRawDisk(join(dir, 'd'), 8 * BLOCK_CHUNK, { seed: 9, zeroFraction: 0.5, unitBytes: unit });
    const zeros = zeroUnitIndices(await readFile(join(dir, 'd')), unit);
    expect(zeros.length).toBe(r.zeroUnits);
    expect(r.zeroUnits + r.dataUnits).toBe(128);
    expect(r.zeroUnits).toBeGreaterThan(40);
    expect(r.zeroUnits).toBeLessThan(88);
  });

  it('makes exactly the zeroUnits asked for zero, the last short unit included', async () => {
    const dir = await tmpDir();
    const size = 2 * BLOCK_CHUNK + 512;
    const r = await createRawDisk(join(dir, 'e'), size, { seed: 1, zeroUnits: [1, 2] });
    expect(r).toEqual({ sizeBytes: size, unitBytes: BLOCK_CHUNK, zeroUnits: 2, dataUnits: 1 });
    expect(zeroUnitIndices(await readFile(join(dir, 'e')), BLOCK_CHUNK)).toEqual([1, 2]);
  });

  it('differs from a RAM file made with the same seed', async () => {
    const dir = await tmpDir();
    await createRawDisk(join(dir, 'disk'), BLOCK_CHUNK, { seed: 3 });
    await fillRamFile(join(dir, 'ram'), BLOCK_CHUNK, { seed: 3, zeroFraction: 0 });
    expect(await sha256File(join(dir, 'disk'))).not.toBe(await sha256File(join(dir, 'ram')));
  });

  it('rejects sizes that are not whole sectors, bad units, fractions and zeroUnits', async () => {
    const dir = await tmpDir();
    const f = join(dir, 'x');
    await expect(createRawDisk(f, 1000, { seed: 1 })).rejects.toThrow(/multiple of 512, got 1000/);
    await expect(createRawDisk(f, 0, { seed: 1 })).rejects.toThrow(/positive multiple of 512/);
    await expect(createRawDisk(f, 4096, { seed: 1, unitBytes: 3000 })).rejects.toThrow(/unitBytes must be a power of two/);
    await expect(createRawDisk(f, 4096, { seed: 1, unitBytes: 2 << 20 })).rejects.toThrow(/unitBytes/);
    await expect(createRawDisk(f, 4096, { seed: 1, zeroFraction: -0.1 })).rejects.toThrow(/zeroFraction must be within 0..1/);
    await expect(createRawDisk(f, 4096, { seed: 1.5 })).rejects.toThrow(/seed must be an integer/);
    await expect(createRawDisk(f, BLOCK_CHUNK, { seed: 1, zeroUnits: [1] })).rejects.toThrow(/zeroUnits holds 1, but the disk has units 0..0/);
  });
});
