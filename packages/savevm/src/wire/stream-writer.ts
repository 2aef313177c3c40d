import { copyBytes } from './bytes.js';

export const DEFAULT_CHUNK_SIZE = 1 << 20;
/** Spare chunks kept for reuse (beyond this, retired chunks are left to the GC). */
const MAX_SPARE_CHUNKS = 16;
/** Retired chunks tracked while waiting for their bytes to be flushed. */
const MAX_RETIRED_CHUNKS = 64;

/**
 * Big-endian bytes appended into output chunks (1 MiB by default): the QEMUFile of the save side, without
 * I/O. `drain()` hands out what has been written since the last drain; those bytes are never written
 * again (the writer continues after them in the same chunk, or in another one when the chunk is full).
 *
 * It knows nothing of records: the framing (frame-writer.ts) and each section's encoder write through its
 * primitives. A caller that wants a record in one piece calls `reserve(n)` first (optional: a put that does
 * not fit continues in the next chunk).
 *
 * Chunks can be reused: once the caller knows that the stream's first N bytes have left the process (a
 * socket's flushed count), `recycle(N)` returns the full chunks that ended at or before N to a small spare
 * list. Reused chunks are already faulted in and cost no garbage collection, where a fresh 1 MiB chunk costs
 * 256 page faults and external-memory GC pressure.
 */
export class StreamWriter {
  private readonly chunkSize: number;
  private chunk: Uint8Array;
  private view: DataView;
  /** Write position in `chunk`. */
  private pos = 0;
  /** Start of the bytes in `chunk` not yet handed out. */
  private start = 0;
  private done: Uint8Array[] = [];
  /** Stream offset of `chunk[0]`. */
  private chunkBase = 0;
  /** Full chunks handed out, oldest first, with the stream offset just past their last byte. */
  private retired: { chunk: Uint8Array; end: number }[] = [];
  private spare: Uint8Array[] = [];

  constructor(chunkSize = DEFAULT_CHUNK_SIZE) {
    if (!(chunkSize >= 8192)) throw new RangeError(`stream writer chunk size ${chunkSize} is below 8192`);
    this.chunkSize = chunkSize;
    this.chunk = Buffer.allocUnsafeSlow(chunkSize);
    this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
  }

  /** Bytes written since construction: the stream offset of the next byte. */
  get bytesWritten(): number {
    return this.chunkBase + this.pos;
  }

  /** Bytes written but not yet drained. */
  get pendingOutput(): number {
    let n = this.pos - this.start;
    for (const c of this.done) n += c.length;
    return n;
  }

  /** Chunks written since the last drain, in order. The caller owns them until it recycles them. */
  drain(): Uint8Array[] {
    const out = this.done;
    this.done = [];
    if (this.pos > this.start) {
      out.push(this.chunk.subarray(this.start, this.pos));
      this.start = this.pos;
    }
    return out;
  }

  /**
   * The first `flushedBytes` bytes of the stream are out of the caller's hands (written to the OS): chunks
   * that ended there may be written again. Calling it is optional; without it every chunk is fresh.
   */
  recycle(flushedBytes: number): void {
    while (this.retired.length > 0 && this.retired[0]!.end <= flushedBytes) {
      const { chunk } = this.retired.shift()!;
      if (chunk.length === this.chunkSize && this.spare.length < MAX_SPARE_CHUNKS) this.spare.push(chunk);
    }
  }

  /** Makes room for `n` contiguous bytes (a new chunk when the current one cannot hold them). */
  reserve(n: number): void {
    if (this.pos + n <= this.chunk.length) return;
    if (this.pos > this.start) this.done.push(this.chunk.subarray(this.start, this.pos));
    this.chunkBase += this.pos;
    if (this.retired.length < MAX_RETIRED_CHUNKS) this.retired.push({ chunk: this.chunk, end: this.chunkBase });
    const reuse = n <= this.chunkSize ? this.spare.pop() : undefined;
    this.chunk = reuse ?? Buffer.allocUnsafeSlow(Math.max(this.chunkSize, n));
    this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
    this.pos = 0;
    this.start = 0;
  }

  // Each put checks for room itself (inline: the hot path pays one compare), so a record may also span chunks.
  u8(v: number): void {
    if (this.pos + 1 > this.chunk.length) this.reserve(1);
    this.chunk[this.pos++] = v;
  }

  be16(v: number): void {
    if (this.pos + 2 > this.chunk.length) this.reserve(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  be32(v: number): void {
    if (this.pos + 4 > this.chunk.length) this.reserve(4);
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
  }

  /** be64 of a non-negative safe integer. */
  be64(v: number): void {
    if (this.pos + 8 > this.chunk.length) this.reserve(8);
    const hi = Math.floor(v / 0x100000000);
    this.view.setUint32(this.pos, hi);
    this.view.setUint32(this.pos + 4, v - hi * 0x100000000);
    this.pos += 8;
  }

  /** `len` bytes copied from `src[srcOffset..]` (in one piece up to the chunk size). */
  bytes(src: Uint8Array, srcOffset = 0, len = src.length - srcOffset): void {
    if (this.pos + len > this.chunk.length) this.reserve(len);
    copyBytes(src, srcOffset, this.chunk, this.pos, len);
    this.pos += len;
  }

  /** `len` zero bytes. */
  zeros(len: number): void {
    this.reserve(len);
    this.chunk.fill(0, this.pos, this.pos + len);
    this.pos += len;
  }

  /** u8 length, then the bytes (QEMU's qemu_put_counted_string), 1..255 bytes. */
  counted(id: Uint8Array): void {
    if (id.length === 0 || id.length > 255) throw new RangeError(`counted string of ${id.length} bytes is outside 1..255`);
    this.reserve(1 + id.length);
    this.chunk[this.pos++] = id.length;
    copyBytes(id, 0, this.chunk, this.pos, id.length);
    this.pos += id.length;
  }
}
