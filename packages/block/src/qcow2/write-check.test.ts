// Images we create and write are valid for QEMU: qemu-img check finds no errors or leaks, qemu-img convert
// gives exactly the bytes we meant, qemu-img map agrees with allocationStatus. Also the other way round:
// images qemu created and wrote, then written by us, and ours written further by qemu-io.
import { tmpDir } from '@mig/test-helpers';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DiskImage, createQcow2, openDiskImage } from '../index.js';
import { fromStatus, topLayerFromMap } from '../../test/allocation-map.js';
import { prng, qemuRawBytes, randomBytes, readAll, sha256 } from '../../test/patterns.js';
import { type OpsOptions, applyRandomOps } from '../../test/random-ops.js';
import { QEMU_IO_WRITES } from '../../test/qemu-io-writes.js';
import { qemuImg, qemuImgCheck, qemuImgMap, qemuIo, requireQemuUtils } from '../../test/qemu-tools.js';

const SIZE = 8 << 20;
const BACKING_SIZE = 6 << 20;

interface Case {
  name: string;
  version: 2 | 3;
  clusterSize: number;
  backing: 'none' | 'raw' | 'qcow2';
  refcountBits?: number;
  size?: number;
  l2CacheBytes?: number;
  ops?: Partial<OpsOptions>;
}

const CASES: Case[] = [
  { name: 'v3 64k', version: 3, clusterSize: 65536, backing: 'none' },
  { name: 'v3 64k over raw', version: 3, clusterSize: 65536, backing: 'raw' },
  { name: 'v2 64k', version: 2, clusterSize: 65536, backing: 'none' },
  { name: 'v2 64k over raw', version: 2, clusterSize: 65536, backing: 'raw' },
  { name: 'v3 4k over qcow2, many L2 tables', version: 3, clusterSize: 4096, backing: 'qcow2' },
  { name: 'v2 4k, tiny L2 cache', version: 2, clusterSize: 4096, backing: 'raw', l2CacheBytes: 1, size: 24 << 20 },
  { name: 'v3 2M over raw', version: 3, clusterSize: 2 << 20, backing: 'raw', ops: { maxLength: 5 << 20 } },
  { name: 'v3 512 bytes, refcount table grows', version: 3, clusterSize: 512, backing: 'raw', size: 12 << 20 },
  { name: 'v3 512 bytes 64-bit refcounts', version: 3, clusterSize: 512, backing: 'none', refcountBits: 64 },
  { name: 'v3 512 bytes 1-bit refcounts, tiny L2 cache', version: 3, clusterSize: 512, backing: 'raw', refcountBits: 1, l2CacheBytes: 1 },
];

describe.skipIf(!requireQemuUtils())('qcow2 images we write, judged by qemu-img', () => {
  let dir: string;
  let baseBytes: Buffer;
  let midBytes: Buffer;
  beforeAll(async () => {
    dir = await tmpDir('mig-block-write-');
    baseBytes = randomBytes(prng(7), BACKING_SIZE);
    await writeFile(join(dir, 'base.raw'), baseBytes);
    // A qcow2 backing with its own data over the raw base.
    const mid = join(dir, 'mid.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4096', '-b', 'base.raw', '-F', 'raw', mid, String(BACKING_SIZE));
    await qemuIo(mid, 'qcow2', ['write -P 0x6d 100k 900k', 'write -z 2M 64k']);
    midBytes = await qemuRawBytes(mid, dir);
  });

  function below(c: Case, size: number): Buffer {
    const model = Buffer.alloc(size);
    if (c.backing === 'raw') baseBytes.copy(model);
    if (c.backing === 'qcow2') midBytes.copy(model);
    return model;
  }

  it.each(CASES)('$name', async (c) => {
    const size = c.size ?? SIZE;
    const path = join(dir, `${c.name.replace(/[^a-z0-9]+/gi, '-')}.qcow2`);
    const backingFile = c.backing === 'none' ? undefined : c.backing === 'raw' ? 'base.raw' : 'mid.qcow2';
    await createQcow2(path, { virtualSize: size, clusterSize: c.clusterSize, version: c.version, backingFile, refcountBits: c.refcountBits });
    const model = below(c, size);
    const image = await openDiskImage(path, { l2CacheBytes: c.l2CacheBytes });
    const ops: OpsOptions = { batches: 25, perBatch: 8, maxLength: 3 << 20, zeroShare: 0.25, clusterSize: c.clusterSize, ...c.ops };
    await applyRandomOps(image, model, prng(c.clusterSize + c.version), ops);
    expect(sha256(await readAll(image))).toBe(sha256(model));
    await image.close();
    await expectQemuAgrees(path, model, backingFile !== undefined, dir);
  });

  it.each([
    ['0.10', false],
    ['0.10', true],
    ['1.1', false],
    ['1.1', true],
  ] as const)('writes into an image qemu-img created (compat=%s, backing=%s) and qemu-io wrote', async (compat, backing) => {
    const path = join(dir, `qemu-made-${compat}-${backing}.qcow2`);
    const backingArgs = backing ? ['-b', 'base.raw', '-F', 'raw'] : [];
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', `compat=${compat}`, ...backingArgs, path, String(SIZE));
    await qemuIo(path, 'qcow2', QEMU_IO_WRITES);
    const model = await qemuRawBytes(path, dir);
    const image = await openDiskImage(path);
    await applyRandomOps(image, model, prng(11), { batches: 20, perBatch: 8, maxLength: 1 << 20, zeroShare: 0.3, clusterSize: 65536 });
    await image.close();
    await expectQemuAgrees(path, model, backing, dir);
  });

  it('reads back what qemu-io wrote on top of an image we created and wrote', async () => {
    const path = join(dir, 'ours-then-qemu.qcow2');
    await createQcow2(path, { backingFile: 'base.raw', virtualSize: SIZE });
    const model = below({ name: '', version: 3, clusterSize: 65536, backing: 'raw' }, SIZE);
    const image = await openDiskImage(path);
    await applyRandomOps(image, model, prng(5), { batches: 10, perBatch: 8, maxLength: 1 << 20, zeroShare: 0.3, clusterSize: 65536 });
    await image.close();
    await qemuIo(path, 'qcow2', QEMU_IO_WRITES);
    const expected = await qemuRawBytes(path, dir);
    expect(expected.equals(model)).toBe(false); // qemu-io changed it
    const reopened = await openDiskImage(path, { readOnly: true });
    try {
      expect(sha256(await readAll(reopened))).toBe(sha256(expected));
    } finally {
      await reopened.close();
    }
    await expectQemuAgrees(path, expected, true, dir);
  });

  it('allocates a cluster once when many writes to its disjoint pieces are in flight', async () => {
    const path = join(dir, 'race.qcow2');
    await createQcow2(path, { backingFile: 'base.raw', virtualSize: SIZE });
    const model = below({ name: '', version: 3, clusterSize: 65536, backing: 'raw' }, SIZE);
    const image = await openDiskImage(path);
    const piece = 1024;
    const writes: Promise<void>[] = [];
    for (let cluster = 0; cluster < 4; cluster++) {
      for (let i = 0; i < 65536 / piece; i += 2) {
        const data = Buffer.alloc(piece, 1 + ((cluster * 64 + i) % 250));
        const at = cluster * 65536 + i * piece + 100;
        data.copy(model, at);
        writes.push(image.write(at, data, 0, piece));
      }
    }
    await Promise.all(writes);
    await image.close();
    await expectQemuAgrees(path, model, true, dir);
    const check = await qemuImgCheck(path);
    expect(check).toMatchObject({ 'allocated-clusters': 4 }); // each of the 4 clusters once
  });

  it('grows the refcount table when 512-byte clusters fill past its first cluster', async () => {
    const path = join(dir, 'grow.qcow2');
    await createQcow2(path, { virtualSize: 12 << 20, clusterSize: 512 });
    const image = await openDiskImage(path);
    const data = randomBytes(prng(3), 10 << 20);
    await image.write(1 << 20, data, 0, data.length);
    await image.close();
    const header = await readFile(path).then((b) => b.subarray(0, 64));
    expect(header.readUInt32BE(56)).toBeGreaterThan(1); // refcount_table_clusters
    const model = Buffer.alloc(12 << 20);
    data.copy(model, 1 << 20);
    await expectQemuAgrees(path, model, false, dir);
  });
});

async function expectQemuAgrees(path: string, model: Buffer, hasBacking: boolean, dir: string): Promise<void> {
  const check = await qemuImgCheck(path);
  expect(check).toMatchObject({ code: 0, 'check-errors': 0 });
  expect(check.corruptions ?? 0).toBe(0);
  expect(check.leaks ?? 0).toBe(0);
  expect(sha256(await qemuRawBytes(path, dir))).toBe(sha256(model));
  const image: DiskImage = await openDiskImage(path, { readOnly: true });
  try {
    expect(fromStatus(await image.allocationStatus(0, image.virtualSize))).toEqual(topLayerFromMap(await qemuImgMap(path), hasBacking));
  } finally {
    await image.close();
  }
}
