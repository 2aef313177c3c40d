// Images we must not touch are refused with an error naming the image and the feature.
import { tmpDir } from '@mig/test-helpers';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CorruptImageError, DiskImageError, UnsupportedFeatureError, createQcow2, openDiskImage } from '../index.js';
import { prng, randomBytes } from '../../test/patterns.js';
import { qemuImg, requireQemuUtils, runTool } from '../../test/qemu-tools.js';

const SECRET = ['--object', 'secret,id=sec0,data=123456'];

async function expectRefused(path: string, feature: string, readOnly = true): Promise<UnsupportedFeatureError> {
  const err = await openDiskImage(path, { readOnly }).then(
    async (img) => {
      await img.close();
      throw new Error(`${path} opened but should have been refused for ${feature}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnsupportedFeatureError);
  const refused = err as UnsupportedFeatureError;
  expect(refused.feature).toBe(feature);
  expect(refused.image).toBe(path);
  expect(refused.message).toContain(path);
  expect(refused.message).toContain(feature);
  return refused;
}

/** Rewrites bytes of an image file in place. */
async function patch(path: string, at: number, bytes: number[]): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(Buffer.from(bytes), 0, bytes.length, at);
  } finally {
    await fh.close();
  }
}

describe('crafted headers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tmpDir('mig-block-refuse-');
  });

  async function fresh(name: string): Promise<string> {
    const path = join(dir, name);
    await createQcow2(path, { virtualSize: 1 << 20 });
    return path;
  }

  it('refuses the dirty bit and the corrupt bit', async () => {
    const dirty = await fresh('dirty.qcow2');
    await patch(dirty, 79, [0x01]);
    expect((await expectRefused(dirty, 'dirty bit set')).message).toMatch(/qemu-img check -r all/);
    const corrupt = await fresh('corrupt.qcow2');
    await patch(corrupt, 79, [0x02]);
    await expectRefused(corrupt, 'corrupt bit set', false);
  });

  it('refuses crypt_method 1 and 2 from the header alone', async () => {
    const aes = await fresh('aes-bits.qcow2');
    await patch(aes, 32, [0, 0, 0, 1]);
    expect((await expectRefused(aes, 'encryption')).message).toContain('AES');
    const luks = await fresh('luks-bits.qcow2');
    await patch(luks, 32, [0, 0, 0, 2]);
    expect((await expectRefused(luks, 'encryption')).message).toContain('LUKS');
  });

  it('refuses an unknown incompatible feature, quoting its name from the feature table', async () => {
    const unknown = await fresh('unknown.qcow2');
    await patch(unknown, 78, [0x04]); // bit 10
    expect((await expectRefused(unknown, 'unknown incompatible feature')).message).toContain('bit 10');
    // Rename the table's "extended L2 entries" (incompatible bit 4) entry to bit 10.
    const named = await fresh('named.qcow2');
    const bytes = Buffer.alloc(4096);
    const fh = await open(named, 'r+');
    await fh.read(bytes, 0, bytes.length, 0);
    const entry = bytes.indexOf('extended L2 entries') - 2;
    expect(entry).toBeGreaterThan(0);
    await fh.write(Buffer.from([0, 10]), 0, 2, entry);
    await fh.close();
    await patch(named, 78, [0x04]);
    expect((await expectRefused(named, 'unknown incompatible feature')).message).toContain('"extended L2 entries"');
  });

  it('says what is wrong with a broken header', async () => {
    const v4 = await fresh('v4.qcow2');
    await patch(v4, 4, [0, 0, 0, 4]);
    await expect(openDiskImage(v4)).rejects.toThrow(/unsupported qcow2 version 4/);
    const order = await fresh('order.qcow2');
    await patch(order, 96, [0, 0, 0, 7]);
    await expect(openDiskImage(order)).rejects.toThrow(CorruptImageError);
    await expect(openDiskImage(order)).rejects.toThrow(/refcount_order 7/);
    const bits = await fresh('bits.qcow2');
    await patch(bits, 20, [0, 0, 0, 22]);
    await expect(openDiskImage(bits)).rejects.toThrow(/cluster_bits 22/);
    const l1 = await fresh('l1.qcow2');
    await patch(l1, 24, [0, 0, 0, 1, 0, 0, 0, 0]); // 4 GiB virtual size, same one-entry L1
    await expect(openDiskImage(l1)).rejects.toThrow(/l1_size 1 cannot map/);
    const short = join(dir, 'short.qcow2');
    await writeFile(short, Buffer.from('QFI\xfb', 'latin1'));
    await expect(openDiskImage(short, { format: 'qcow2' })).rejects.toThrow(DiskImageError);
  });

  it('reports a corrupt L2 entry with its table and value', async () => {
    const path = await fresh('bad-l2.qcow2');
    const image = await openDiskImage(path);
    await image.write(0, Buffer.alloc(512, 1), 0, 512);
    await image.close();
    // The first data cluster's L2 entry sits at the start of the L2 table, the cluster after the L1 table.
    const fh = await open(path, 'r');
    const header = Buffer.alloc(48);
    await fh.read(header, 0, 48, 0);
    const l1 = Buffer.alloc(8);
    await fh.read(l1, 0, 8, Number(header.readBigUInt64BE(40)));
    await fh.close();
    const l2 = Number(l1.readBigUInt64BE(0) & 0x00fffffffffffe00n);
    await patch(path, l2 + 7, [0x02]); // reserved bit 1
    const reopened = await openDiskImage(path, { readOnly: true });
    await expect(reopened.read(0, Buffer.alloc(512), 0, 512)).rejects.toThrow(/L2 entry 0 of the L2 table at 0x[0-9a-f]+.*reserved bits/);
    await reopened.close();
  });
});

describe.skipIf(!requireQemuUtils())('images qemu-img makes with features we refuse', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tmpDir('mig-block-refuse-qemu-');
    await writeFile(join(dir, 'data.raw'), randomBytes(prng(2), 1 << 20));
  });

  it('compressed clusters (qemu-img convert -c) are refused when touched', async () => {
    const path = join(dir, 'compressed.qcow2');
    const compressible = join(dir, 'text.raw');
    await writeFile(compressible, Buffer.alloc(1 << 20, 'compressible text '));
    await qemuImg('convert', '-c', '-O', 'qcow2', compressible, path);
    const image = await openDiskImage(path);
    try {
      const read = image.read(0, Buffer.alloc(4096), 0, 4096);
      await expect(read).rejects.toThrow(UnsupportedFeatureError);
      await expect(image.read(0, Buffer.alloc(4096), 0, 4096)).rejects.toThrow(`${path}: qcow2 feature not supported: compressed clusters`);
      await expect(image.allocationStatus(0, 1 << 20)).rejects.toThrow(/compressed clusters/);
      await expect(image.write(100, Buffer.alloc(10), 0, 10)).rejects.toThrow(/compressed clusters/);
      await expect(image.writeZeroes(0, 65536)).rejects.toThrow(/compressed clusters/);
    } finally {
      await image.close();
    }
  });

  it('zstd compression type is refused at open', async () => {
    const path = join(dir, 'zstd.qcow2');
    const r = await runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'compression_type=zstd', path, '1M']);
    if (r.code !== 0) return; // this qemu-img was built without zstd
    expect((await expectRefused(path, 'compressed clusters')).message).toContain('compression_type 1');
  });

  it.each(['luks', 'aes'])('encryption (%s) is refused at open', async (format) => {
    const path = join(dir, `enc-${format}.qcow2`);
    const fast = format === 'luks' ? ',encrypt.iter-time=10' : ''; // LUKS still benchmarks its KDF (~4 s)
    const opts = `encrypt.format=${format},encrypt.key-secret=sec0${fast}`;
    await qemuImg('create', '-q', ...SECRET, '-f', 'qcow2', '-o', opts, path, '1M');
    await expectRefused(path, 'encryption');
  }, 30_000);

  it('an external data file is refused at open, naming it', async () => {
    const path = join(dir, 'external.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', 'data_file=external-data.raw', path, '1M');
    expect((await expectRefused(path, 'external data file')).message).toContain('external-data.raw');
  });

  it('extended L2 entries are refused at open', async () => {
    const path = join(dir, 'extl2.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on', path, '1M');
    await expectRefused(path, 'extended L2 entries');
  });

  it('internal snapshots: read-only is fine (active layer), writing is refused', async () => {
    const path = join(dir, 'snap.qcow2');
    await qemuImg('convert', '-O', 'qcow2', join(dir, 'data.raw'), path);
    await qemuImg('snapshot', '-c', 'snap1', path);
    await expectRefused(path, 'writing an image with internal snapshots', false);
    const image = await openDiskImage(path, { readOnly: true });
    try {
      const out = Buffer.alloc(1 << 20);
      await image.read(0, out, 0, out.length);
      expect(out.equals(randomBytes(prng(2), 1 << 20))).toBe(true);
    } finally {
      await image.close();
    }
  });
});
