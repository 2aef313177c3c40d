// Deterministic raw disk images for block-migration tests: seeded random data with zero regions.
import { checkFillOptions, fillSeeded } from './fill.js';

export const SECTOR_SIZE = 512;
/** QEMU 7.2's block migration moves disks in chunks of this size (BLK_MIG_BLOCK_SIZE). */
export const BLOCK_CHUNK = 1 << 20;

export interface RawDiskOptions {
  /** Same seed → same bytes (a disk and a RAM file with one seed still differ). */
  seed: number;
  /** Fraction of units, 0..1, that are all zero; the rest are random. Default 0. Half-zero: 0.5. */
  zeroFraction?: number;
  /**
   * The unit that is zero or random as a whole: a power of two from 512 to 1 MiB. Default 1 MiB, the block
   * migration chunk, so zero units are what `zero-blocks` can skip; use 64 KiB to put zero qcow2 clusters
   * inside data chunks.
   */
  unitBytes?: number;
  /** Exactly these units (0-based indices) are zero, the others random; zeroFraction is then ignored. */
  zeroUnits?: readonly number[];
}

export interface RawDiskResult {
  sizeBytes: number;
  unitBytes: number;
  /** Units (a last partial unit included) that are all zero, and those that are random. */
  zeroUnits: number;
  dataUnits: number;
}

/**
 * Writes a raw disk image of `sizeBytes` (a positive multiple of 512, need not be whole chunks) to `path`.
 * The content is fully determined by (seed, zeroFraction, unitBytes, sizeBytes).
 */
export async function createRawDisk(path: string, sizeBytes: number, opts: RawDiskOptions): Promise<RawDiskResult> {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % SECTOR_SIZE !== 0) {
    throw new RangeError(`createRawDisk: sizeBytes must be a positive multiple of ${SECTOR_SIZE}, got ${sizeBytes}`);
  }
  const zeroFraction = opts.zeroFraction ?? 0;
  checkFillOptions('createRawDisk', { seed: opts.seed, zeroFraction });
  const unitBytes = opts.unitBytes ?? BLOCK_CHUNK;
  const units = Math.ceil(sizeBytes / unitBytes);
  for (const u of opts.zeroUnits ?? []) {
    if (!Number.isInteger(u) || u < 0 || u >= units) throw new RangeError(`createRawDisk: zeroUnits holds ${u}, but the disk has units 0..${units - 1}`);
  }
  const zeroUnits = opts.zeroUnits !== undefined ? new Set(opts.zeroUnits) : undefined;
  const r = await fillSeeded(path, sizeBytes, { seed: opts.seed, zeroFraction, unitBytes, label: 'mig-disk', zeroUnits });
  return { sizeBytes, unitBytes, ...r };
}
