// openDiskImage: open a file as raw or qcow2 (detected from the magic unless given), with its backing chain.
import { type FileHandle, open } from 'node:fs/promises';
import { DISK_IMAGE_FORMATS, type DiskImage, type DiskImageFormat } from './disk-image.js';
import { DiskImageError } from './disk-image-error.js';
import { readAt } from './file-io.js';
import { isQcow2Magic } from './qcow2/header.js';
import { openQcow2 } from './qcow2/open-qcow2.js';
import { RawImage } from './raw-image.js';

export interface OpenDiskImageOptions {
  /** Skip detection. A qcow2 file opened as 'raw' is its bytes, as in QEMU. */
  format?: DiskImageFormat;
  /** Default false. Backing images are always opened read-only. */
  readOnly?: boolean;
  /** Bytes of L2 tables a qcow2 image keeps cached (default 32 MiB). */
  l2CacheBytes?: number;
}

const DEFAULT_L2_CACHE_BYTES = 32 << 20;
/** Deeper chains are taken as a loop (an image that is its own backing, directly or not). */
export const MAX_BACKING_DEPTH = 32;

export function openDiskImage(path: string, options: OpenDiskImageOptions = {}): Promise<DiskImage> {
  return openChain(path, options, 0, '');
}

/** `role` says, for a backing image, whose backing it is (for the open error). */
async function openChain(path: string, options: OpenDiskImageOptions, depth: number, role: string): Promise<DiskImage> {
  if (depth > MAX_BACKING_DEPTH) {
    throw new DiskImageError(path, `backing chain deeper than ${MAX_BACKING_DEPTH} images (is there a loop?)`);
  }
  if (options.format !== undefined && !DISK_IMAGE_FORMATS.includes(options.format)) {
    throw new DiskImageError(path, `unknown image format "${String(options.format)}" (raw or qcow2)`);
  }
  const readOnly = options.readOnly ?? false;
  const fh = await open(path, readOnly ? 'r' : 'r+').catch((err: NodeJS.ErrnoException) => {
    const mode = readOnly ? '' : ' for writing';
    throw new DiskImageError(path, `cannot open${role}${mode}: ${err.code ?? err.message}`);
  });
  try {
    const format = options.format ?? (await detectFormat(fh));
    if (format === 'raw') return await RawImage.open(path, fh, readOnly);
    const cache = options.l2CacheBytes ?? DEFAULT_L2_CACHE_BYTES;
    const backingOptions = (format: DiskImageFormat | undefined): OpenDiskImageOptions => ({
      format,
      readOnly: true,
      l2CacheBytes: cache,
    });
    return await openQcow2(path, fh, readOnly, cache, (backingPath, backingFormat) =>
      openChain(backingPath, backingOptions(backingFormat), depth + 1, ` (backing file of ${path})`),
    );
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** 'qcow2' when the file starts with the qcow2 magic, else 'raw'. */
export async function detectFormat(fh: FileHandle): Promise<DiskImageFormat> {
  const magic = new Uint8Array(4);
  await readAt(fh, magic, 0, 4, 0);
  return isQcow2Magic(magic) ? 'qcow2' : 'raw';
}
