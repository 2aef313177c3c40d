// A raw image: the file is the disk. Every range counts as allocated (a raw file has no layer below it).
import type { FileHandle } from 'node:fs/promises';
import type { AllocationExtent, DiskImage } from './disk-image.js';
import { readAt, writeAt } from './file-io.js';
import { checkBufferRange, checkDiskRange, checkWritable } from './io-range.js';

const ZERO_CHUNK = 1 << 20;

export class RawImage implements DiskImage {
  readonly format = 'raw' as const;
  readonly backing = undefined;
  private zeroChunk: Uint8Array | undefined;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly virtualSize: number,
    readonly readOnly: boolean,
  ) {}

  static async open(path: string, fh: FileHandle, readOnly: boolean): Promise<RawImage> {
    const { size } = await fh.stat();
    return new RawImage(path, fh, size, readOnly);
  }

  read(offset: number, buf: Uint8Array, bufOffset: number, len: number): Promise<void> {
    this.checkOpen();
    checkBufferRange(this, 'read', offset, buf, bufOffset, len);
    return readAt(this.fh, buf, bufOffset, len, offset);
  }

  write(offset: number, buf: Uint8Array, bufOffset: number, len: number): Promise<void> {
    this.checkOpen();
    checkWritable(this, 'write');
    checkBufferRange(this, 'write', offset, buf, bufOffset, len);
    return writeAt(this.fh, buf, bufOffset, len, offset);
  }

  /** Plain zero writes: portable, and a raw file has no metadata to express zeros with. */
  async writeZeroes(offset: number, len: number): Promise<void> {
    this.checkOpen();
    checkWritable(this, 'writeZeroes');
    checkDiskRange(this, 'writeZeroes', offset, len);
    const zeros = this.zeros(len);
    while (len > 0) {
      const n = Math.min(len, zeros.length);
      await writeAt(this.fh, zeros, 0, n, offset);
      offset += n;
      len -= n;
    }
  }

  async allocationStatus(offset: number, len: number): Promise<AllocationExtent[]> {
    this.checkOpen();
    checkDiskRange(this, 'allocationStatus', offset, len);
    return len === 0 ? [] : [{ offset, length: len, allocated: true, zero: false }];
  }

  flush(): Promise<void> {
    this.checkOpen();
    return this.fh.datasync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  /** A zero buffer of up to ZERO_CHUNK bytes, grown on demand and kept for the next call. */
  private zeros(len: number): Uint8Array {
    const want = Math.min(ZERO_CHUNK, Math.max(len, 1));
    if (this.zeroChunk === undefined || this.zeroChunk.length < want) this.zeroChunk = new Uint8Array(want);
    return this.zeroChunk;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`${this.path}: image is closed`);
  }
}
