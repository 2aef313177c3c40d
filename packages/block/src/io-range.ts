// Argument checks shared by every image's read/write entry points.
import { DiskImageError } from './disk-image-error.js';

interface Target {
  readonly path: string;
  readonly virtualSize: number;
}

/** Throws a RangeError naming the image unless [offset, offset+len) lies inside the virtual disk. */
export function checkDiskRange(image: Target, op: string, offset: number, len: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(len) || offset < 0 || len < 0) {
    throw new RangeError(`${image.path}: ${op}: offset ${offset} and length ${len} must be non-negative integers`);
  }
  if (offset + len > image.virtualSize) {
    throw new RangeError(
      `${image.path}: ${op}: range ${offset}+${len} ends past the virtual size ${image.virtualSize}`,
    );
  }
}

/** Like checkDiskRange, plus the caller's buffer must hold [bufOffset, bufOffset+len). */
export function checkBufferRange(
  image: Target,
  op: string,
  offset: number,
  buf: Uint8Array,
  bufOffset: number,
  len: number,
): void {
  checkDiskRange(image, op, offset, len);
  if (!Number.isSafeInteger(bufOffset) || bufOffset < 0 || bufOffset + len > buf.length) {
    throw new RangeError(
      `${image.path}: ${op}: buffer range ${bufOffset}+${len} does not fit a buffer of ${buf.length} bytes`,
    );
  }
}

export function checkWritable(image: Target & { readonly readOnly: boolean }, op: string): void {
  if (image.readOnly) throw new DiskImageError(image.path, `${op}: image is open read-only`);
}
