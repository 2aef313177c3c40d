// query-block's answer for a drive, in QEMU 7.2's shape (checked member by member against QEMU's reply for a
// raw drive, a qcow2 drive and a qcow2 overlay on a raw base). What mig has no counterpart for is answered
// as QEMU answers for a -drive if=none without a device: no throttling, writeback cache, no qdev, no tray.
// QEMU's `format-specific` (qcow2 header details) is left out.
import { stat } from 'node:fs/promises';
import { Qcow2Image, type DiskImage } from '@mig/block';
import type { BlockInfo, ImageInfo } from '@mig/qmp';
import type { Drive } from './drive.js';

/** The host bytes a file occupies (st_blocks), as QEMU's `actual-size`; omitted when it cannot be read. */
async function actualSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).blocks * 512;
  } catch {
    return undefined;
  }
}

/** ImageInfo of `image` and, nested, of its backing chain. `filename` is the path it was opened by. */
export async function imageInfo(image: DiskImage, filename = image.path): Promise<ImageInfo> {
  const info: ImageInfo = { 'virtual-size': image.virtualSize, filename, format: image.format, 'dirty-flag': false };
  const actual = await actualSize(image.path);
  if (actual !== undefined) info['actual-size'] = actual;
  if (image instanceof Qcow2Image) {
    info['cluster-size'] = image.clusterSize;
    if (image.backingFile !== undefined) info['backing-filename'] = image.backingFile;
  }
  if (image.backing !== undefined) {
    info['full-backing-filename'] = image.backing.path;
    info['backing-filename-format'] = image.backing.format;
    info['backing-image'] = await imageInfo(image.backing);
  }
  return info;
}

function backingDepth(image: DiskImage): number {
  let depth = 0;
  for (let b = image.backing; b !== undefined; b = b.backing) depth++;
  return depth;
}

/** One entry of query-block. */
export async function blockInfo(drive: Drive): Promise<BlockInfo> {
  const { image } = drive;
  const inserted: NonNullable<BlockInfo['inserted']> = {
    file: drive.file,
    'node-name': drive.nodeName,
    ro: drive.readOnly,
    drv: image.format,
    backing_file_depth: backingDepth(image),
    encrypted: false,
    detect_zeroes: 'off',
    bps: 0,
    bps_rd: 0,
    bps_wr: 0,
    iops: 0,
    iops_rd: 0,
    iops_wr: 0,
    image: await imageInfo(image, drive.file),
    cache: { writeback: true, direct: false, 'no-flush': false },
    write_threshold: 0,
  };
  if (image.backing !== undefined) inserted.backing_file = image.backing.path;
  return { device: drive.id, type: 'unknown', removable: true, locked: false, inserted };
}
