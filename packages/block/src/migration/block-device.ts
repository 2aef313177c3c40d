// What block migration needs of a drive on each side, apart from how the drive is stored: the section code
// reads and writes through these, so a daemon can keep its images in one thread and hand the migration
// worker a proxy, and tests can hand it a DiskImage directly.
import type { DirtyBitmap } from '@mig/core';
import type { AllocationExtent, DiskImage } from '../disk-image.js';

/** A drive on the source. */
export interface BlockSourceDevice {
  /** The drive id (`-drive id=`), 1..255 bytes: each record names it. */
  readonly name: string;
  /** The guest-visible size in bytes. */
  readonly size: number;
  /** Reads `len` bytes at `offset` into `buf[0..len)`; `len` ≤ 1 MiB and never past the end. */
  read(offset: number, buf: Uint8Array, len: number): Promise<void>;
  /** What the top image itself allocates in [offset, offset + len) (for `inc`: QEMU asks the top node only). */
  allocation(offset: number, len: number): Promise<readonly AllocationExtent[]>;
  /** The guest's writes, one bit per 1 MiB chunk, set once each write is done (harvested by the section). */
  readonly dirty: DirtyBitmap;
}

/** A drive on the target. */
export interface BlockTargetDevice {
  readonly name: string;
  readonly size: number;
  /** A read-only drive cannot take a migration's writes (QEMU: Operation not permitted). */
  readonly readOnly: boolean;
  write(offset: number, buf: Uint8Array, len: number): Promise<void>;
  writeZeroes(offset: number, len: number): Promise<void>;
  /** Makes every completed write durable. */
  flush(): Promise<void>;
}

/** A DiskImage as a migration source drive. */
export function imageSourceDevice(name: string, image: DiskImage, dirty: DirtyBitmap): BlockSourceDevice {
  return {
    name,
    size: image.virtualSize,
    dirty,
    read: (offset, buf, len) => image.read(offset, buf, 0, len),
    allocation: (offset, len) => image.allocationStatus(offset, len),
  };
}

/** A DiskImage as a migration target drive. */
export function imageTargetDevice(name: string, image: DiskImage): BlockTargetDevice {
  return {
    name,
    size: image.virtualSize,
    readOnly: image.readOnly,
    write: (offset, buf, len) => image.write(offset, buf, 0, len),
    writeZeroes: (offset, len) => image.writeZeroes(offset, len),
    flush: () => image.flush(),
  };
}
