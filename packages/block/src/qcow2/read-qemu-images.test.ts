// Images made and written by qemu-img/qemu-io read back by us with the bytes qemu-img convert gives,
// and our allocationStatus agrees with qemu-img map.
import { tmpDir } from '@mig/test-helpers';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDiskImage } from '../index.js';
import { fromStatus, topLayerFromMap } from '../../test/allocation-map.js';
import { prng, qemuRawBytes, randomBytes, readAll, sha256 } from '../../test/patterns.js';
import { QEMU_IO_WRITES } from '../../test/qemu-io-writes.js';
import { qemuImg, qemuImgMap, qemuIo, requireQemuUtils } from '../../test/qemu-tools.js';

const SIZE = 8 << 20;
const BACKING_SIZE = 6 << 20; // smaller than the overlay: the rest reads as zeros

interface Case {
  compat: '0.10' | '1.1';
  clusterSize: number;
  backing: boolean;
  refcountBits?: number;
}

const CASES: Case[] = [];
for (const compat of ['0.10', '1.1'] as const) {
  for (const clusterSize of [4096, 65536, 2 << 20]) {
    for (const backing of [false, true]) CASES.push({ compat, clusterSize, backing });
  }
}
for (const refcountBits of [1, 8, 64]) CASES.push({ compat: '1.1', clusterSize: 512, backing: true, refcountBits });

describe.skipIf(!requireQemuUtils())('qcow2 images written by qemu-io', () => {
  let dir: string;
  let base: string;
  beforeAll(async () => {
    dir = await tmpDir('mig-block-read-');
    base = join(dir, 'base.raw');
    await writeFile(base, randomBytes(prng(1), BACKING_SIZE));
  });

  it.each(CASES)('compat=$compat cluster_size=$clusterSize backing=$backing refcount_bits=$refcountBits', async (c) => {
    const path = join(dir, `img-${c.compat}-${c.clusterSize}-${c.backing}-${c.refcountBits ?? 16}.qcow2`);
    const opts = [`compat=${c.compat}`, `cluster_size=${c.clusterSize}`];
    if (c.refcountBits !== undefined) opts.push(`refcount_bits=${c.refcountBits}`);
    const backingArgs = c.backing ? ['-b', 'base.raw', '-F', 'raw'] : [];
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', opts.join(','), ...backingArgs, path, String(SIZE));
    await qemuIo(path, 'qcow2', QEMU_IO_WRITES);
    const expected = await qemuRawBytes(path, dir);

    const image = await openDiskImage(path, { readOnly: true });
    try {
      expect(image.format).toBe('qcow2');
      expect(image.virtualSize).toBe(SIZE);
      expect(image.backing?.format).toBe(c.backing ? 'raw' : undefined);
      expect(sha256(await readAll(image))).toBe(sha256(expected));
      // Odd chunk sizes cross cluster and L2 boundaries mid-request.
      expect(sha256(await readAll(image, 12345))).toBe(sha256(expected));
      const ours = fromStatus(await image.allocationStatus(0, SIZE));
      expect(ours).toEqual(topLayerFromMap(await qemuImgMap(path), c.backing));
      expect(ours.some((e) => e.allocated)).toBe(true);
    } finally {
      await image.close();
    }
  });

  it('reads many requests in flight into one caller buffer', async () => {
    const path = join(dir, 'parallel.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', path, String(SIZE));
    await qemuIo(path, 'qcow2', QEMU_IO_WRITES);
    const expected = await qemuRawBytes(path, dir);
    const image = await openDiskImage(path, { readOnly: true });
    try {
      const out = Buffer.alloc(SIZE);
      const chunk = 100_000;
      const reads: Promise<void>[] = [];
      for (let o = 0; o < SIZE; o += chunk) reads.push(image.read(o, out, o, Math.min(chunk, SIZE - o)));
      await Promise.all(reads);
      expect(out.equals(expected)).toBe(true);
    } finally {
      await image.close();
    }
  });
});
