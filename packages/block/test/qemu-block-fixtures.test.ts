// QEMU 7.2's own block migration streams (test/fixtures, made by make-block-fixtures.mjs) into mig's loader:
// every drive comes out as QEMU's source had it — also disks that are not whole MiB, which QEMU's own loader
// cannot take (EIO), a chunk sent twice (the later wins), zero blocks, and an `inc` overlay on a shared base.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, createBlankDisk, createQcow2Overlay, createRawDisk, sha256Disk, tmpDir } from '@mig/test-helpers';
import { openDiskImage } from '../src/open-disk-image.js';
import { imageTargetDevice } from '../src/migration/block-device.js';
import type { DiskImage } from '../src/disk-image.js';
import { loadStream, machineNoneTarget } from './migration-streams.js';
import { requireQemuUtils } from './qemu-tools.js';

interface Drive {
  id: string;
  format: 'raw' | 'qcow2';
  sizeBytes: number;
  readOnly: boolean;
  sha256: string;
  base?: { format: 'raw'; sizeBytes: number; content: { seed: number; zeroUnits?: number[]; unitBytes?: number } };
}
interface Meta {
  drives: Drive[];
  stream: { file: string; sha256: string };
  blockRecords: { kind: string }[];
  resentChunks?: unknown[];
}

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const load = (name: string): { meta: Meta; stream: Uint8Array } => {
  const meta = JSON.parse(readFileSync(fixture(`${name}.json`), 'utf8')) as Meta;
  return { meta, stream: new Uint8Array(gunzipSync(readFileSync(fixture(meta.stream.file)))) };
};

const hasTools = requireQemuUtils();

describe.skipIf(!hasTools)("QEMU 7.2's block streams into mig's loader", () => {
  afterAll(cleanupAll);

  /** Fresh target drives as the sidecar describes them (inc: an overlay on the rebuilt base), loaded, hashed. */
  async function loadInto(name: string): Promise<{ meta: Meta; hashes: Record<string, string>; loader: ReturnType<typeof machineNoneTarget> }> {
    const { meta, stream } = load(name);
    expect(createHash('sha256').update(stream).digest('hex')).toBe(meta.stream.sha256);
    const dir = await tmpDir(`mig-block-fixture-${name}-`);
    const images: DiskImage[] = [];
    const files: Record<string, string> = {};
    for (const d of meta.drives.filter((x) => !x.readOnly)) {
      const file = join(dir, `${d.id}.${d.format}`);
      if (d.base) {
        const base = join(dir, `${d.id}-base.raw`);
        await createRawDisk(base, d.base.sizeBytes, d.base.content);
        await createQcow2Overlay(file, base);
      } else {
        await createBlankDisk(file, d.sizeBytes, d.format);
      }
      files[d.id] = file;
      images.push(await openDiskImage(file));
    }
    const target = machineNoneTarget(4 << 20, {
      devices: images.map((img, i) => imageTargetDevice(meta.drives.filter((x) => !x.readOnly)[i]!.id, img)),
    });
    await loadStream(target.reader, stream);
    for (const img of images) await img.close();
    const hashes: Record<string, string> = {};
    for (const d of meta.drives.filter((x) => !x.readOnly)) hashes[d.id] = await sha256Disk(files[d.id]!, d.format);
    return { meta, hashes, loader: target };
  }

  const expected = (meta: Meta) => Object.fromEntries(meta.drives.filter((d) => !d.readOnly).map((d) => [d.id, d.sha256]));

  it('blk, raw 3 MiB + 64 KiB (the last chunk carries 1 MiB for 64 KiB of disk)', async () => {
    const { meta, hashes, loader } = await loadInto('blk-raw-3m64k');
    expect(hashes).toEqual(expected(meta));
    expect(loader.blockLoader.chunks).toBe(4);
    expect(loader.blockLoader.progress).toBe(100);
    expect(loader.globalstate.runstate).toBe('prelaunch');
  });

  it('blk with zero-blocks: the zero chunk as a flag', async () => {
    const { meta, hashes, loader } = await loadInto('blk-raw-3m64k-zero-blocks');
    expect(hashes).toEqual(expected(meta));
    expect(loader.blockLoader.zeroChunks).toBe(1);
  });

  it('blk, a chunk the guest rewrote during the migration: sent twice, the later wins', async () => {
    const { meta, hashes, loader } = await loadInto('blk-raw-dirty');
    expect(meta.resentChunks?.length).toBeGreaterThan(0);
    expect(hashes).toEqual(expected(meta));
    expect(loader.blockLoader.chunks).toBeGreaterThan(4);
  });

  it('blk, two drives (raw, qcow2 of 1 MiB + 512 B) and a read-only one that is not sent', async () => {
    const { meta, hashes } = await loadInto('blk-two-drives-ro');
    expect(hashes).toEqual(expected(meta));
  });

  it('inc: the chunks the overlay allocates, into an overlay on the same base', async () => {
    const { meta, hashes, loader } = await loadInto('inc-qcow2-over-raw');
    expect(hashes).toEqual(expected(meta));
    expect(loader.blockLoader.chunks).toBe(2);
  });
});
