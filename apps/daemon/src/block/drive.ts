// One `-drive`: its image, opened once in the main thread (one owner keeps qcow2's metadata caches coherent),
// and the shared dirty bitmap block migration reads. Every guest write goes through write/writeZeroes, which
// mark the written 1 MiB chunks dirty only after the image write has completed: a migration that reads a chunk
// after clearing its bit either sees the new data or sees the bit set again (data first, then the bit).
import { DirtyBitmap } from '@mig/core';
import { CHUNK_SIZE, type AllocationExtent, type DiskImage } from '@mig/block';
import { DriveError } from './drive-error.js';
import type { WorkerDriveInfo } from './drive-protocol.js';

/** Admits guest writes (or refuses them, throwing a DriveError) and counts those in flight (Drives). */
export interface GuestWriteGate {
  /** Throws when guest writes are refused now; otherwise counts one more in flight. */
  enter(drive: Drive): void;
  leave(): void;
}

export class Drive {
  /** The guest-visible size in bytes. */
  readonly size: number;
  /** One bit per 1 MiB chunk the guest wrote, on a SharedArrayBuffer (a migration worker maps it too). */
  readonly dirty: DirtyBitmap;

  constructor(
    /** The `-drive id=`: QMP's `device`, qemu-io's drive name, the block stream's device name. */
    readonly id: string,
    /** The format node's name (`#block123`), fixed for the drive's life. */
    readonly nodeName: string,
    /** The file as given on the command line (query-block's `file`). */
    readonly file: string,
    readonly image: DiskImage,
    private readonly gate: GuestWriteGate,
  ) {
    this.size = image.virtualSize;
    this.dirty = DirtyBitmap.createShared(Math.ceil(this.size / CHUNK_SIZE), CHUNK_SIZE);
  }

  get readOnly(): boolean {
    return this.image.readOnly;
  }

  // Every entry point is async: an image's argument checks throw synchronously, callers get a rejection.

  /** Fills buf[0, len) with the drive's bytes at `offset`. */
  async read(offset: number, buf: Uint8Array, len: number): Promise<void> {
    return this.image.read(offset, buf, 0, len);
  }

  /** A guest write of buf[0, len) at `offset`: refused while the image is inactive; marks its chunks dirty once done. */
  async write(offset: number, buf: Uint8Array, len: number): Promise<void> {
    this.#enter();
    try {
      await this.image.write(offset, buf, 0, len);
      this.dirty.markRange(offset, len);
    } finally {
      this.gate.leave();
    }
  }

  /** A guest write of zeroes over [offset, offset + len), as write(). */
  async writeZeroes(offset: number, len: number): Promise<void> {
    this.#enter();
    try {
      await this.image.writeZeroes(offset, len);
      this.dirty.markRange(offset, len);
    } finally {
      this.gate.leave();
    }
  }

  /** An incoming migration's write: not the guest's, so no dirty bit, and allowed while the guest waits for it. */
  async migrationWrite(offset: number, buf: Uint8Array, len: number): Promise<void> {
    this.#checkWritable();
    return this.image.write(offset, buf, 0, len);
  }

  async migrationWriteZeroes(offset: number, len: number): Promise<void> {
    this.#checkWritable();
    return this.image.writeZeroes(offset, len);
  }

  /** What the top image itself allocates in [offset, offset + len). */
  async allocation(offset: number, len: number): Promise<AllocationExtent[]> {
    return this.image.allocationStatus(offset, len);
  }

  async flush(): Promise<void> {
    return this.image.flush();
  }

  /** What a migration worker is given of this drive (with a DriveHost's port): see remote-drives.ts. */
  workerInfo(): WorkerDriveInfo {
    return { name: this.id, size: this.size, readOnly: this.readOnly, dirty: this.dirty.words.buffer as SharedArrayBuffer };
  }

  #enter(): void {
    this.#checkWritable();
    this.gate.enter(this);
  }

  #checkWritable(): void {
    if (this.readOnly) throw new DriveError(this.id, 'read-only', `drive '${this.id}' is read-only (readonly=on)`);
  }
}
