// mig → mig block migration in one process: the block section written by BlockSaveSection beside ram, read
// back by BlockLoader into other images — with guest writes during the bulk and dirty phases, zero-blocks,
// inc over a qcow2 overlay, several drives and a short last chunk. Disks compared by sha256.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirtyBitmap } from '@mig/core';
import { cleanupAll, createBlankDisk, createQcow2Overlay, createRawDisk, qemuImgCheck, sha256Disk, tmpDir } from '@mig/test-helpers';
import type { DiskImage } from '../src/disk-image.js';
import { openDiskImage } from '../src/open-disk-image.js';
import { imageSourceDevice, imageTargetDevice, type BlockSourceDevice } from '../src/migration/block-device.js';
import { CHUNK_SIZE } from '../src/migration/constants.js';
import type { BlockSaveSection } from '../src/migration/block-save-section.js';
import { loadStream, machineNoneSource, machineNoneTarget } from './migration-streams.js';
import { prng, randomInt } from './patterns.js';
import { requireQemuUtils } from './qemu-tools.js';

const hasTools = requireQemuUtils();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A source drive over an image whose guest writes go through `write` (data first, then the dirty bit). */
async function sourceDrive(name: string, file: string) {
  const image = await openDiskImage(file);
  const dirty = new DirtyBitmap(Math.ceil(image.virtualSize / CHUNK_SIZE), undefined, 0, CHUNK_SIZE);
  const device = imageSourceDevice(name, image, dirty);
  const write = async (offset: number, data: Uint8Array) => {
    await image.write(offset, data, 0, data.length);
    dirty.markRange(offset, data.length);
  };
  return { image, dirty, device, write };
}

/**
 * Runs the source as the precopy loop would, by hand: setup, then iterate in `budget` batches (awaiting
 * whenReady when nothing could go out), with `between(step)` after each batch (guest writes), syncing when the
 * section has nothing left but the bulk is done; then the last sync, the rest, complete.
 */
async function migrate(
  source: ReturnType<typeof machineNoneSource>,
  between: (step: number) => Promise<void> = async () => {},
  budget = 3 * CHUNK_SIZE,
): Promise<Uint8Array> {
  const { saver } = source;
  const out: Uint8Array[] = [];
  const drain = () => out.push(...saver.drainOutput().map((c) => Uint8Array.from(c)));
  saver.setup();
  saver.syncDirty();
  drain();
  for (let step = 0; step < 10_000; step++) {
    if (saver.pendingBytes(0) === 0) break;
    const n = saver.iterate(budget);
    drain();
    if (n === 0) await saver.whenReady();
    await between(step);
    if (saver.pendingBytes(0) === 0) saver.syncDirty();
  }
  saver.syncDirty();
  while (saver.pendingBytes(0) > 0) {
    if (saver.iterate(budget) === 0) await saver.whenReady();
    drain();
  }
  saver.complete('running');
  drain();
  return new Uint8Array(Buffer.concat(out));
}

async function targetOf(dir: string, drives: { name: string; size: number; format: 'raw' | 'qcow2'; base?: string }[]) {
  const images: DiskImage[] = [];
  const files: string[] = [];
  for (const d of drives) {
    const file = join(dir, `dst-${d.name}.${d.format}`);
    if (d.base) await createQcow2Overlay(file, d.base);
    else await createBlankDisk(file, d.size, d.format);
    files.push(file);
    images.push(await openDiskImage(file));
  }
  const target = machineNoneTarget(64 * 4096, { devices: images.map((img, i) => imageTargetDevice(drives[i]!.name, img)) });
  return { ...target, images, files };
}

describe.skipIf(!hasTools)('block migration, mig → mig (one process)', () => {
  afterAll(cleanupAll);

  it('copies raw drives (one not whole MiB) while the guest writes in the bulk and the dirty phase', async () => {
    const dir = await tmpDir('mig-blk-');
    const sizes = [6 * CHUNK_SIZE, 2 * CHUNK_SIZE + 64 * 1024];
    const drives = await Promise.all(sizes.map(async (size, i) => {
      const file = join(dir, `src-d${i}.raw`);
      await createRawDisk(file, size, { seed: 10 + i, zeroFraction: 0.4, unitBytes: 64 * 1024 });
      return sourceDrive(`d${i}`, file);
    }));
    const source = machineNoneSource({ devices: drives.map((d) => d.device) });
    const rnd = prng(7);
    let writes = 0;
    const stream = await migrate(source, async (step) => {
      if (step >= 12) return; // a guest that writes for a while (bulk and dirty phase), then idles
      for (const d of drives) {
        const off = randomInt(rnd, d.image.virtualSize / 512 - 8) * 512;
        await d.write(off, new Uint8Array(4096).fill(1 + randomInt(rnd, 255)));
        writes++;
      }
    });
    expect(writes).toBeGreaterThan(4);
    expect(source.blockSection.dirtyChunksSent).toBeGreaterThan(0);
    const target = await targetOf(dir, sizes.map((size, i) => ({ name: `d${i}`, size, format: 'raw' as const })));
    await loadStream(target.reader, stream);
    for (const img of [...target.images, ...drives.map((d) => d.image)]) await img.close();
    for (let i = 0; i < sizes.length; i++) {
      expect(sha(await readFile(target.files[i]!))).toBe(sha(await readFile(join(dir, `src-d${i}.raw`))));
    }
    expect(target.blockLoader.padding).toEqual([]); // mig pads the short last chunk with zeros
    expect(source.blockSection.transferredBytes).toBeGreaterThan(8 * CHUNK_SIZE);
  });

  it('zero-blocks: zero chunks go as flags, and the stream shrinks by about the zero share', async () => {
    const dir = await tmpDir('mig-blk-zero-');
    const file = join(dir, 'src.raw');
    await createRawDisk(file, 16 * CHUNK_SIZE, { seed: 3, zeroUnits: [1, 2, 5, 6, 7, 8, 12, 15] });
    const run = async (zeroBlocks: boolean) => {
      const d = await sourceDrive('d0', file);
      const source = machineNoneSource({ devices: [d.device], zeroBlocks });
      const stream = await migrate(source);
      await d.image.close();
      return { stream, section: source.blockSection };
    };
    const plain = await run(false);
    const zero = await run(true);
    expect(zero.section.zeroChunksSent).toBe(8);
    expect(plain.section.zeroChunksSent).toBe(0);
    expect(zero.stream.length / plain.stream.length).toBeCloseTo(0.5, 1);
    const target = await targetOf(dir, [{ name: 'd0', size: 16 * CHUNK_SIZE, format: 'raw' }]);
    await loadStream(target.reader, zero.stream);
    await target.images[0]!.close();
    expect(target.blockLoader.zeroChunks).toBe(8);
    expect(sha(await readFile(target.files[0]!))).toBe(sha(await readFile(file)));
  });

  it('inc: only the chunks the qcow2 overlay allocates, into an overlay on the same base; qemu-img check clean', async () => {
    const dir = await tmpDir('mig-blk-inc-');
    const base = join(dir, 'base.raw');
    await createRawDisk(base, 8 * CHUNK_SIZE, { seed: 4 });
    const top = join(dir, 'src.qcow2');
    await createQcow2Overlay(top, base);
    const d = await sourceDrive('d0', top);
    await d.write(CHUNK_SIZE + 4096, new Uint8Array(8192).fill(0x5a)); // before the migration: chunk 1
    await d.write(6 * CHUNK_SIZE - 512, new Uint8Array(1024).fill(0x6b)); // chunks 5 and 6
    const source = machineNoneSource({ devices: [d.device], incremental: true });
    const stream = await migrate(source, async (step) => {
      if (step === 0) await d.write(3 * CHUNK_SIZE, new Uint8Array(512).fill(0x7c)); // during: chunk 3
    });
    await d.image.close();
    expect(source.blockSection.chunksSent).toBeGreaterThanOrEqual(4);
    expect(source.blockSection.chunksSent).toBeLessThanOrEqual(5);
    const target = await targetOf(dir, [{ name: 'd0', size: 8 * CHUNK_SIZE, format: 'qcow2', base }]);
    await loadStream(target.reader, stream);
    await target.images[0]!.close();
    expect(await sha256Disk(target.files[0]!, 'qcow2')).toBe(await sha256Disk(top, 'qcow2'));
    const check = await qemuImgCheck(target.files[0]!);
    expect([check.checkErrors, check.corruptions, check.leaks]).toEqual([0, 0, 0]);
  });

  it('holds the switchover back during the bulk phase and counts what it has not read as pending', async () => {
    const dir = await tmpDir('mig-blk-pending-');
    const file = join(dir, 'src.raw');
    await createRawDisk(file, 4 * CHUNK_SIZE, { seed: 5 });
    const d = await sourceDrive('d0', file);
    const { saver, blockSection } = machineNoneSource({ devices: [d.device], depth: 2 });
    saver.setup();
    expect(blockSection.pending(0)).toBe(4 * CHUNK_SIZE);
    expect(blockSection.pending(100 * CHUNK_SIZE)).toBe(101 * CHUNK_SIZE); // threshold + 1 MiB during the bulk
    while (!blockSection.bulkCompleted || blockSection.pending(0) > 0) {
      if (saver.iterate(CHUNK_SIZE) === 0) await saver.whenReady();
    }
    expect(blockSection.pending(100 * CHUNK_SIZE)).toBe(0);
    await d.image.close();
  });

  it('refuses to complete while chunks are still due (a write during the switchover fails the migration)', async () => {
    const dir = await tmpDir('mig-blk-late-');
    const file = join(dir, 'src.raw');
    await createRawDisk(file, 2 * CHUNK_SIZE, { seed: 6 });
    const d = await sourceDrive('d0', file);
    const { saver } = machineNoneSource({ devices: [d.device] });
    saver.setup();
    while (saver.pendingBytes(0) > 0) if (saver.iterate(8 * CHUNK_SIZE) === 0) await saver.whenReady();
    await d.write(100, new Uint8Array(10).fill(9)); // after the last batch, before complete
    expect(() => saver.complete('running')).toThrow(/1 chunk\(s\) of the disks are still to send/);
    await d.image.close();
  });

  it('a read that fails stops the section, naming drive and offset', async () => {
    const dirty = new DirtyBitmap(2, undefined, 0, CHUNK_SIZE);
    const failing: BlockSourceDevice = {
      name: 'd0', size: 2 * CHUNK_SIZE, dirty,
      read: (offset) => (offset === CHUNK_SIZE ? Promise.reject(new Error('EIO: i/o error')) : Promise.resolve()),
      allocation: async () => [],
    };
    const { saver } = machineNoneSource({ devices: [failing] });
    saver.setup();
    let err: unknown;
    try {
      for (let i = 0; i < 100 && saver.pendingBytes(0) > 0; i++) if (saver.iterate(8 * CHUNK_SIZE) === 0) await saver.whenReady();
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/reading 1048576 bytes at byte 1048576 of block device 'd0' failed: EIO: i\/o error/);
  });

  it('keeps chunk order: a chunk read in the bulk and again after a write reaches the target in that order', async () => {
    const dir = await tmpDir('mig-blk-order-');
    const file = join(dir, 'src.raw');
    await createRawDisk(file, 3 * CHUNK_SIZE, { seed: 8 });
    const d = await sourceDrive('d0', file);
    const source = machineNoneSource({ devices: [d.device], depth: 3 });
    const stream = await migrate(source, async (step) => {
      if (step < 3) await d.write(0, new Uint8Array(512).fill(step + 1));
    }, CHUNK_SIZE);
    await d.image.close();
    const section: BlockSaveSection = source.blockSection;
    expect(section.dirtyChunksSent).toBeGreaterThan(0);
    const target = await targetOf(dir, [{ name: 'd0', size: 3 * CHUNK_SIZE, format: 'raw' }]);
    await loadStream(target.reader, stream, 4096);
    await target.images[0]!.close();
    expect(sha(await readFile(target.files[0]!))).toBe(sha(await readFile(file)));
  });
});
