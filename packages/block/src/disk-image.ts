// The disk-image contract block migration works against: one virtual disk, byte addressed, async I/O
// into caller-owned buffers so the hot path allocates nothing per chunk.

export type DiskImageFormat = 'raw' | 'qcow2';

export const DISK_IMAGE_FORMATS: readonly DiskImageFormat[] = ['raw', 'qcow2'];

/**
 * One range of `allocationStatus`. `allocated`: this image itself answers for the range (data, or a qcow2
 * zero cluster); unallocated ranges read from the backing image, or zeros without one. `zero`: the range
 * is known to read as zeros (zero cluster, or unallocated with no backing image).
 */
export interface AllocationExtent {
  offset: number;
  length: number;
  allocated: boolean;
  zero: boolean;
}

export interface DiskImage {
  /** The path it was opened from, for messages. */
  readonly path: string;
  readonly format: DiskImageFormat;
  /** Size of the virtual disk in bytes. */
  readonly virtualSize: number;
  readonly readOnly: boolean;
  /** The backing image (qcow2 overlays), opened read-only and closed with this one. */
  readonly backing: DiskImage | undefined;
  /** Fills buf[bufOffset, bufOffset+len) with the disk's bytes at offset. */
  read(offset: number, buf: Uint8Array, bufOffset: number, len: number): Promise<void>;
  /** Writes buf[bufOffset, bufOffset+len) at offset. Several may be in flight. */
  write(offset: number, buf: Uint8Array, bufOffset: number, len: number): Promise<void>;
  /** Makes [offset, offset+len) read as zeros, without data writes where the format allows. */
  writeZeroes(offset: number, len: number): Promise<void>;
  /** Which parts of [offset, offset+len) this image itself allocates (not its backing), in order, merged. */
  allocationStatus(offset: number, len: number): Promise<AllocationExtent[]>;
  /** Makes every completed write durable. */
  flush(): Promise<void>;
  /** Waits for metadata updates in progress, then closes this image and its backing chain. */
  close(): Promise<void>;
}
