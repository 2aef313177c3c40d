// writeZeroes per qcow2 version and backing: what it leaves allocated (allocationStatus) and what reads back.
import { tmpDir } from '@mig/test-helpers';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DiskImage, createQcow2, openDiskImage } from '../index.js';
import { readAll } from '../../test/patterns.js';
import { qemuImgCheck, requireQemuUtils } from '../../test/qemu-tools.js';

const C = 65536;
const SIZE = 1 << 20;
const hasQemu = requireQemuUtils();

describe('qcow2 writeZeroes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tmpDir('mig-block-zero-');
    await writeFile(join(dir, 'ones.raw'), Buffer.alloc(SIZE, 1));
  });

  /** An image with clusters 0-3 written (0x22), then [C/2, 3C + 100) zeroed. */
  async function zeroed(version: 2 | 3, backing: boolean): Promise<{ image: DiskImage; path: string }> {
    const path = join(dir, `z-${version}-${backing}.qcow2`);
    await createQcow2(path, { virtualSize: SIZE, version, backingFile: backing ? 'ones.raw' : undefined });
    const image = await openDiskImage(path);
    await image.write(0, Buffer.alloc(4 * C, 0x22), 0, 4 * C);
    await image.writeZeroes(C / 2, 3 * C + 100 - C / 2);
    await image.writeZeroes(6 * C, 2 * C); // never written: stays as it reads
    return { image, path };
  }

  function expectedBytes(backing: boolean): Buffer {
    const b = Buffer.alloc(SIZE, backing ? 1 : 0);
    b.fill(0x22, 0, 4 * C);
    b.fill(0, C / 2, 3 * C + 100);
    if (backing) b.fill(0, 6 * C, 8 * C);
    return b;
  }

  it.each([
    [3, true, [
      { offset: 0, length: C, allocated: true, zero: false }, // partial: zero data
      { offset: C, length: 2 * C, allocated: true, zero: true }, // zero clusters
      { offset: 3 * C, length: C, allocated: true, zero: false },
      { offset: 4 * C, length: 2 * C, allocated: false, zero: false },
      { offset: 6 * C, length: 2 * C, allocated: true, zero: true },
      { offset: 8 * C, length: SIZE - 8 * C, allocated: false, zero: false },
    ]],
    [3, false, [
      { offset: 0, length: C, allocated: true, zero: false },
      { offset: C, length: 2 * C, allocated: false, zero: true }, // deallocated
      { offset: 3 * C, length: C, allocated: true, zero: false },
      { offset: 4 * C, length: SIZE - 4 * C, allocated: false, zero: true },
    ]],
    [2, false, [
      { offset: 0, length: C, allocated: true, zero: false },
      { offset: C, length: 2 * C, allocated: false, zero: true },
      { offset: 3 * C, length: C, allocated: true, zero: false },
      { offset: 4 * C, length: SIZE - 4 * C, allocated: false, zero: true },
    ]],
    [2, true, [
      { offset: 0, length: 4 * C, allocated: true, zero: false }, // v2 has no zero flag: zero data
      { offset: 4 * C, length: 2 * C, allocated: false, zero: false },
      { offset: 6 * C, length: 2 * C, allocated: true, zero: false },
      { offset: 8 * C, length: SIZE - 8 * C, allocated: false, zero: false },
    ]],
  ] as const)('v%i backing=%s', async (version, backing, status) => {
    const { image, path } = await zeroed(version, backing);
    try {
      expect(await image.allocationStatus(0, SIZE)).toEqual(status);
      expect((await readAll(image)).equals(expectedBytes(backing))).toBe(true);
      // A sub-range starts and ends where asked.
      const covering = status.find((e) => e.offset <= C + 5 && C + 15 <= e.offset + e.length)!;
      const part = await image.allocationStatus(C + 5, 10);
      expect(part).toEqual([{ offset: C + 5, length: 10, allocated: covering.allocated, zero: covering.zero }]);
    } finally {
      await image.close();
    }
    if (hasQemu) expect(await qemuImgCheck(path)).toMatchObject({ code: 0, 'check-errors': 0 });
  });

  it('zeroes a short last cluster as a whole one', async () => {
    const path = join(dir, 'short-end.qcow2');
    await createQcow2(path, { virtualSize: C + 4096, backingFile: 'ones.raw' });
    const image = await openDiskImage(path);
    await image.writeZeroes(C, 4096);
    expect(await image.allocationStatus(C, 4096)).toEqual([{ offset: C, length: 4096, allocated: true, zero: true }]);
    const tail = Buffer.alloc(4096, 9);
    await image.read(C, tail, 0, 4096);
    expect(tail.equals(Buffer.alloc(4096))).toBe(true);
    await image.close();
  });
});
