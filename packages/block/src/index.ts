// @mig/block: disk images for block migration (raw and qcow2: read, write, zeroes, allocation status) and
// QEMU 7.2's `block` section of the savevm stream (bulk and dirty phases, inc, zero blocks).
export type { AllocationExtent, DiskImage, DiskImageFormat } from './disk-image.js';
export { DISK_IMAGE_FORMATS } from './disk-image.js';
export { CorruptImageError, DiskImageError, UnsupportedFeatureError } from './disk-image-error.js';
export { MAX_BACKING_DEPTH, detectFormat, openDiskImage, type OpenDiskImageOptions } from './open-disk-image.js';
export { resolveBackingPath } from './backing-path.js';
export { RawImage } from './raw-image.js';
export { Qcow2Image } from './qcow2/qcow2-image.js';
export { createQcow2, type CreateQcow2Options } from './qcow2/create-qcow2.js';
export * from './migration/index.js';
