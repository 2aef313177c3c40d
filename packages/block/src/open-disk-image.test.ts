import { tmpDir } from '@mig/test-helpers';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DiskImageError, MAX_BACKING_DEPTH, RawImage, createQcow2, openDiskImage } from './index.js';
import { prng, randomBytes, readAll } from '../test/patterns.js';

describe('openDiskImage', () => {
  let dir: string;
  let baseBytes: Buffer;
  beforeAll(async () => {
    dir = await tmpDir('mig-block-open-');
    baseBytes = randomBytes(prng(21), 1 << 20);
    await writeFile(join(dir, 'base.raw'), baseBytes);
  });

  it('detects raw and qcow2 from the magic', async () => {
    await createQcow2(join(dir, 'a.qcow2'), { virtualSize: 1 << 20 });
    const raw = await openDiskImage(join(dir, 'base.raw'), { readOnly: true });
    const q = await openDiskImage(join(dir, 'a.qcow2'), { readOnly: true });
    expect([raw.format, q.format]).toEqual(['raw', 'qcow2']);
    expect(raw).toBeInstanceOf(RawImage);
    await raw.close();
    await q.close();
  });

  it('opens a qcow2 file as raw when told to, and refuses a raw file as qcow2', async () => {
    const asRaw = await openDiskImage(join(dir, 'a.qcow2'), { format: 'raw', readOnly: true });
    const magic = Buffer.alloc(4);
    await asRaw.read(0, magic, 0, 4);
    expect(magic.toString('latin1')).toBe('QFI\xfb');
    await asRaw.close();
    await expect(openDiskImage(join(dir, 'base.raw'), { format: 'qcow2' })).rejects.toThrow(/not a qcow2 image \(bad magic\)/);
    await expect(openDiskImage(join(dir, 'base.raw'), { format: 'vmdk' as 'raw' })).rejects.toThrow(/unknown image format "vmdk"/);
  });

  it('names the missing file', async () => {
    const missing = join(dir, 'nope.qcow2');
    await expect(openDiskImage(missing)).rejects.toThrow(`${missing}: cannot open for writing: ENOENT`);
  });

  it('resolves a relative backing name against the image directory, not the working directory', async () => {
    await mkdir(join(dir, 'deep'));
    const overlay = join(dir, 'deep', 'top.qcow2');
    await createQcow2(overlay, { backingFile: '../base.raw', virtualSize: 2 << 20 });
    const cwd = process.cwd();
    const img = await openDiskImage(relative(cwd, overlay), { readOnly: true });
    try {
      expect(img.backing?.path).toBe(join(relative(cwd, join(dir, 'deep')), '..', 'base.raw'));
      const expected = Buffer.alloc(2 << 20);
      baseBytes.copy(expected); // the backing is 1 MiB: the rest reads as zeros
      expect((await readAll(img)).equals(expected)).toBe(true);
      expect(img.backing?.readOnly).toBe(true);
    } finally {
      await img.close();
    }
  });

  it('reads through a chain raw <- qcow2 <- qcow2 and reports only the top layer as allocated', async () => {
    const mid = join(dir, 'mid.qcow2');
    const top = join(dir, 'top.qcow2');
    await createQcow2(mid, { backingFile: 'base.raw', clusterSize: 4096 });
    await createQcow2(top, { backingFile: 'mid.qcow2', clusterSize: 65536 });
    const m = await openDiskImage(mid);
    await m.write(10_000, Buffer.alloc(5000, 0xab), 0, 5000);
    await m.close();
    const t = await openDiskImage(top);
    await t.write(200_000, Buffer.alloc(100, 0xcd), 0, 100);
    const expected = Buffer.from(baseBytes);
    expected.fill(0xab, 10_000, 15_000);
    expected.fill(0xcd, 200_000, 200_100);
    expect((await readAll(t, 7777)).equals(expected)).toBe(true);
    expect(t.backing?.backing?.format).toBe('raw');
    expect(await t.allocationStatus(0, 1 << 20)).toEqual([
      { offset: 0, length: 196608, allocated: false, zero: false },
      { offset: 196608, length: 65536, allocated: true, zero: false },
      { offset: 262144, length: (1 << 20) - 262144, allocated: false, zero: false },
    ]);
    await t.close();
  });

  it('refuses a backing loop', async () => {
    const loop = join(dir, 'loop.qcow2');
    await createQcow2(join(dir, 'seed.qcow2'), { virtualSize: 1 << 20 });
    await createQcow2(loop, { backingFile: 'seed.qcow2' });
    // Point loop.qcow2 at itself by rewriting the stored name (same length).
    const { open } = await import('node:fs/promises');
    const fh = await open(loop, 'r+');
    const first = Buffer.alloc(65536);
    await fh.read(first, 0, first.length, 0);
    const at = first.indexOf('seed.qcow2');
    await fh.write(Buffer.from('loop.qcow2'), 0, 10, at);
    await fh.close();
    await expect(openDiskImage(loop, { readOnly: true })).rejects.toThrow(
      new RegExp(`backing chain deeper than ${MAX_BACKING_DEPTH} images`),
    );
  });

  it('refuses protocol backing names', async () => {
    const p = join(dir, 'proto.qcow2');
    await createQcow2(p, { backingFile: 'base.raw' });
    const { open } = await import('node:fs/promises');
    const fh = await open(p, 'r+');
    const first = Buffer.alloc(65536);
    await fh.read(first, 0, first.length, 0);
    await fh.write(Buffer.from('nbd:base'), 0, 8, first.indexOf('base.raw'));
    await fh.close();
    await expect(openDiskImage(p)).rejects.toThrow(DiskImageError);
    await expect(openDiskImage(p)).rejects.toThrow(/"nbd:base" uses a protocol/);
  });
});
