import { PAGE_SIZE } from '../memory/constants.js';
import { copyBytes } from '../memory/copy.js';
import { QEMU_VM_FILE_MAGIC, QEMU_VM_FILE_VERSION, RamFlag, SectionType, XBZRLE_ENCODING_FLAG } from './constants.js';

export const DEFAULT_CHUNK_SIZE = 1 << 20;

/** One entry of a ram MEM_SIZE record. */
export interface RamBlockSize {
  readonly idstr: string;
  readonly usedLength: number;
}

/**
 * Appends migration-stream records into output chunks (1 MiB by default). `drain()` hands out what has
 * been written since the last drain; those bytes are never written again (the writer continues after
 * them in the same chunk, or in a freshly allocated one when the chunk is full).
 *
 * Every method writes one whole record or field; page data is copied from the caller's memory.
 *
 * Chunks can be reused: once the caller knows that the stream's first N bytes have left the process (a
 * socket's flushed count), `recycle(N)` returns the full chunks that ended at or before N to a small spare
 * list. Reused chunks are already faulted in and cost no garbage collection, where a fresh 1 MiB chunk costs
 * 256 page faults and external-memory GC pressure.
 */
/** Spare chunks kept for reuse (beyond this, retired chunks are left to the GC). */
const MAX_SPARE_CHUNKS = 16;
/** Retired chunks tracked while waiting for their bytes to be flushed. */
const MAX_RETIRED_CHUNKS = 64;

export class StreamWriter {
  private readonly chunkSize: number;
  private chunk: Uint8Array;
  private view: DataView;
  /** Write position in `chunk`. */
  private pos = 0;
  /** Start of the bytes in `chunk` not yet handed out. */
  private start = 0;
  private done: Uint8Array[] = [];
  private total = 0;
  /** Stream offset of `chunk[0]`. */
  private chunkBase = 0;
  /** Full chunks handed out, oldest first, with the stream offset just past their last byte. */
  private retired: { chunk: Uint8Array; end: number }[] = [];
  private spare: Uint8Array[] = [];
  /** Encoded idstrs, so the per-page path does no string encoding. */
  private readonly idCache = new Map<string, Uint8Array>();

  constructor(chunkSize = DEFAULT_CHUNK_SIZE) {
    if (!(chunkSize >= 8192)) throw new RangeError(`stream writer chunk size ${chunkSize} is below 8192`);
    this.chunkSize = chunkSize;
    this.chunk = Buffer.allocUnsafeSlow(chunkSize);
    this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
  }

  /** Bytes written since construction. */
  get bytesWritten(): number {
    return this.total;
  }

  /** Bytes written but not yet drained. */
  get pendingOutput(): number {
    let n = this.pos - this.start;
    for (const c of this.done) n += c.length;
    return n;
  }

  /** Chunks written since the last drain, in order. The caller owns them. */
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

  /** Makes room for `n` contiguous bytes. */
  private reserve(n: number): void {
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

  private u8(v: number): void {
    this.chunk[this.pos++] = v;
  }
  private be16(v: number): void {
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }
  private be32(v: number): void {
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
  }
  /** be64 of a non-negative safe integer. */
  private be64(v: number): void {
    const hi = Math.floor(v / 0x100000000);
    this.view.setUint32(this.pos, hi);
    this.view.setUint32(this.pos + 4, v - hi * 0x100000000);
    this.pos += 8;
  }
  private raw(src: Uint8Array, srcOffset: number, len: number): void {
    copyBytes(src, srcOffset, this.chunk, this.pos, len);
    this.pos += len;
  }

  private encodeId(idstr: string): Uint8Array {
    let b = this.idCache.get(idstr);
    if (b === undefined) {
      b = Buffer.from(idstr, 'utf8');
      if (b.length === 0 || b.length > 255) throw new RangeError(`idstr ${JSON.stringify(idstr)} must be 1..255 bytes`);
      this.idCache.set(idstr, b);
    }
    return b;
  }

  private idstr(id: Uint8Array): void {
    this.u8(id.length);
    this.raw(id, 0, id.length);
  }

  private finish(n: number): number {
    this.total += n;
    return n;
  }

  /** `QEVM` + version 3. */
  header(): number {
    this.reserve(8);
    this.be32(QEMU_VM_FILE_MAGIC);
    this.be32(QEMU_VM_FILE_VERSION);
    return this.finish(8);
  }

  /** CONFIGURATION: 0x07, be32 len, machine name. */
  configuration(machine: string): number {
    const name = Buffer.from(machine, 'utf8');
    const n = 5 + name.length;
    this.reserve(n);
    this.u8(SectionType.CONFIGURATION);
    this.be32(name.length);
    this.raw(name, 0, name.length);
    return this.finish(n);
  }

  /** SECTION_START or SECTION_FULL header. */
  sectionHeader(type: 0x01 | 0x04, sectionId: number, idstr: string, instanceId: number, versionId: number): number {
    const id = this.encodeId(idstr);
    const n = 1 + 4 + 1 + id.length + 8;
    this.reserve(n);
    this.u8(type);
    this.be32(sectionId);
    this.idstr(id);
    this.be32(instanceId);
    this.be32(versionId);
    return this.finish(n);
  }

  sectionStart(sectionId: number, idstr: string, instanceId: number, versionId: number): number {
    return this.sectionHeader(SectionType.START, sectionId, idstr, instanceId, versionId);
  }

  sectionFull(sectionId: number, idstr: string, instanceId: number, versionId: number): number {
    return this.sectionHeader(SectionType.FULL, sectionId, idstr, instanceId, versionId);
  }

  /** SECTION_PART (0x02) or SECTION_END (0x03) header. */
  sectionPart(sectionId: number): number {
    return this.shortHeader(SectionType.PART, sectionId);
  }

  sectionEnd(sectionId: number): number {
    return this.shortHeader(SectionType.END, sectionId);
  }

  /** Section footer: 0x7E, be32 section id. */
  footer(sectionId: number): number {
    return this.shortHeader(SectionType.FOOTER, sectionId);
  }

  private shortHeader(type: number, sectionId: number): number {
    this.reserve(5);
    this.u8(type);
    this.be32(sectionId);
    return this.finish(5);
  }

  eof(): number {
    this.reserve(1);
    this.u8(SectionType.EOF);
    return this.finish(1);
  }

  /** VMDESCRIPTION: 0x06, be32 len, JSON. */
  vmdesc(json: string): number {
    const b = Buffer.from(json, 'utf8');
    const n = 5 + b.length;
    this.reserve(n);
    this.u8(SectionType.VMDESCRIPTION);
    this.be32(b.length);
    this.raw(b, 0, b.length);
    return this.finish(n);
  }

  /** Raw section body bytes (e.g. a device's vmstate fields). */
  bytes(src: Uint8Array): number {
    this.reserve(src.length);
    this.raw(src, 0, src.length);
    return this.finish(src.length);
  }

  /** ram MEM_SIZE: be64 total|0x04, then per block u8 len, idstr, be64 used_length. */
  ramMemSize(blocks: readonly RamBlockSize[]): number {
    let total = 0;
    let n = 8;
    for (const b of blocks) {
      total += b.usedLength;
      n += 1 + this.encodeId(b.idstr).length + 8;
    }
    this.reserve(n);
    this.be64(total + RamFlag.MEM_SIZE);
    for (const b of blocks) {
      this.idstr(this.encodeId(b.idstr));
      this.be64(b.usedLength);
    }
    return this.finish(n);
  }

  /** ram EOS. */
  ramEos(): number {
    this.reserve(8);
    this.be64(RamFlag.EOS);
    return this.finish(8);
  }

  /** be64 offset|flags, then the idstr unless `sameBlock` (then CONTINUE is set). */
  private pageHeader(idstr: string, sameBlock: boolean, offset: number, flags: number, extra: number): number {
    if (sameBlock) {
      const n = 8 + extra;
      this.reserve(n);
      this.be64(offset + flags + RamFlag.CONTINUE);
      return n;
    }
    const id = this.encodeId(idstr);
    const n = 8 + 1 + id.length + extra;
    this.reserve(n);
    this.be64(offset + flags);
    this.idstr(id);
    return n;
  }

  /** ram PAGE: header, then 4096 bytes copied from `src[srcOffset..]`. */
  ramPage(idstr: string, sameBlock: boolean, offset: number, src: Uint8Array, srcOffset: number): number {
    const n = this.pageHeader(idstr, sameBlock, offset, RamFlag.PAGE, PAGE_SIZE);
    this.raw(src, srcOffset, PAGE_SIZE);
    return this.finish(n);
  }

  /** ram ZERO: header, then the fill byte. */
  ramZero(idstr: string, sameBlock: boolean, offset: number, fill = 0): number {
    const n = this.pageHeader(idstr, sameBlock, offset, RamFlag.ZERO, 1);
    this.u8(fill);
    return this.finish(n);
  }

  /** ram XBZRLE: header, u8 0x01, be16 len, then `len` encoded bytes from `src[srcOffset..]`. */
  ramXbzrle(idstr: string, sameBlock: boolean, offset: number, src: Uint8Array, srcOffset: number, len: number): number {
    if (len < 0 || len > PAGE_SIZE) throw new RangeError(`XBZRLE data length ${len} is outside 0..${PAGE_SIZE}`);
    const n = this.pageHeader(idstr, sameBlock, offset, RamFlag.XBZRLE, 3 + len);
    this.u8(XBZRLE_ENCODING_FLAG);
    this.be16(len);
    this.raw(src, srcOffset, len);
    return this.finish(n);
  }
}
