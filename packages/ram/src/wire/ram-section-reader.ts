import type { RamLoadControl } from '@mig/core';
import { be32, hex, printable, type LoadContext, type LoadSection, type SectionRecordKind } from '@mig/savevm';
import { PAGE_SIZE } from '../memory/constants.js';
import { RAM_FLAGS_MASK, RAM_KNOWN_FLAGS, RAM_SECTION, RamFlag, XBZRLE_ENCODING_FLAG } from './constants.js';
import type { RamBlockSize } from './ram-record-writer.js';

/**
 * What the ram section's records say, one callback per record. Buffers are only valid during the call (the
 * caller's chunk or the reader's tail buffer); page data is handed over in place.
 */
export interface RamVisitor {
  /** MEM_SIZE, after it was checked against the target: the target's blocks in the stream's order. */
  onMemSize?(blocks: readonly RamBlockSize[]): void;
  /** A PAGE record: 4096 bytes at `buf[bufOffset..]` belong at `offset` of target block `blockIndex`. */
  onPage?(blockIndex: number, offset: number, buf: Uint8Array, bufOffset: number): void;
  onZero?(blockIndex: number, offset: number, fill: number): void;
  /** An XBZRLE record: `len` encoded bytes at `buf[bufOffset..]` (flag byte and length already checked). */
  onXbzrle?(blockIndex: number, offset: number, buf: Uint8Array, bufOffset: number, len: number): void;
  onEos?(): void;
}

const FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [RamFlag.FULL, 'FULL (obsolete)'],
  [RamFlag.HOOK, 'HOOK (RDMA)'],
  [RamFlag.COMPRESS_PAGE, 'COMPRESS_PAGE'],
];


/**
 * The load side of QEMU 7.2's `ram` section (ram_load_precopy): be64 `offset | flags` records until EOS in
 * every START/PART/END body. It checks MEM_SIZE against the target's blocks, resolves block names (the
 * CONTINUE block carries across sections) and bounds every offset before a callback sees it.
 */
export class RamSectionReader implements LoadSection {
  readonly idstr = RAM_SECTION.idstr;
  readonly instanceId = RAM_SECTION.instanceId;
  readonly version = RAM_SECTION.version;
  readonly iterative = true;

  private readonly blocks: readonly RamBlockSize[];
  private readonly blockIds: readonly Uint8Array[];
  private readonly ramTotal: number;
  private readonly v: RamVisitor;
  private readonly control: RamLoadControl | undefined;
  /** The flags this reader accepts: HOOK only with a control hook to hand it to. */
  private readonly knownFlags: number;
  private lastBlock = -1;
  private memSizeSeen = false;

  /**
   * `control`: the transport's RAM hooks (rdma). With them a HOOK record goes to `onHook` and each block of
   * MEM_SIZE to `onBlockRegistered`, as QEMU's ram_control_load_hook; without them HOOK is refused.
   */
  constructor(blocks: readonly RamBlockSize[], visitor: RamVisitor, control?: RamLoadControl) {
    this.blocks = blocks;
    this.blockIds = blocks.map((b) => Buffer.from(b.idstr, 'utf8'));
    this.ramTotal = blocks.reduce((s, b) => s + b.usedLength, 0);
    this.v = visitor;
    this.control = control;
    this.knownFlags = RAM_KNOWN_FLAGS | (control === undefined ? 0 : RamFlag.HOOK);
  }

  begin(_kind: SectionRecordKind, _versionId: number, context: LoadContext): void {
    context.record = 'ram record';
  }

  finish(context: LoadContext): void {
    if (!this.memSizeSeen) throw context.error("the 'ram' section carried no MEM_SIZE record");
  }

  parse(b: Uint8Array, p: number, end: number, context: LoadContext): number {
    if (end - p < 8) {
      context.record = 'ram record';
      return -8;
    }
    const hi = be32(b, p);
    const lo = be32(b, p + 4);
    const flags = lo & RAM_FLAGS_MASK;
    const addr = hi * 0x100000000 + (lo - flags);
    if ((flags & ~this.knownFlags) !== 0) throw this.unknownFlags(flags, context);
    const base = flags & ~RamFlag.CONTINUE;
    if (base === RamFlag.PAGE || base === RamFlag.ZERO || base === RamFlag.XBZRLE) {
      return this.parsePageRecord(b, p, end, addr, flags, base, context);
    }
    if (flags === RamFlag.EOS) {
      context.record = 'ram EOS';
      context.endBody();
      this.v.onEos?.();
      return 8;
    }
    if (flags === RamFlag.MEM_SIZE) {
      context.record = 'ram MEM_SIZE';
      return this.parseMemSize(b, p, end, addr, context);
    }
    if (base === RamFlag.HOOK && this.control !== undefined) return this.hook(context);
    context.record = 'ram record';
    throw context.error(`unknown combination of RAM flags ${hex(flags)}`);
  }

  /** RAM_SAVE_FLAG_HOOK (be64 0x80, no address): the transport's registration runs at this point. */
  private hook(context: LoadContext): number {
    context.record = 'ram HOOK';
    try {
      this.control!.onHook();
    } catch (e) {
      throw context.error(e instanceof Error ? e.message : String(e), e);
    }
    return 8;
  }

  private unknownFlags(flags: number, context: LoadContext): Error {
    context.record = 'ram record';
    const unknown = flags & ~this.knownFlags;
    const named = FLAG_NAMES.filter(([f]) => (unknown & f) !== 0).map(([, n]) => n);
    return context.error(`unknown RAM flag(s) ${hex(unknown)}${named.length ? ` (${named.join(', ')}: not supported)` : ''} in ${hex(flags)}`);
  }

  /** PAGE, ZERO or XBZRLE, with or without CONTINUE: the hot path. */
  private parsePageRecord(b: Uint8Array, p: number, end: number, addr: number, flags: number, base: number, context: LoadContext): number {
    context.record = base === RamFlag.PAGE ? 'ram PAGE' : base === RamFlag.ZERO ? 'ram ZERO' : 'ram XBZRLE';
    let blockIndex: number;
    let q: number;
    if ((flags & RamFlag.CONTINUE) !== 0) {
      blockIndex = this.lastBlock;
      if (blockIndex < 0) throw context.error('CONTINUE flag with no previous RAM block');
      q = p + 8;
    } else {
      if (end - p < 9) return -9;
      const idLen = b[p + 8]!;
      if (end - p < 9 + idLen) return -(9 + idLen);
      blockIndex = this.findBlock(b, p + 9, idLen);
      if (blockIndex < 0) throw context.error(`unknown RAM block '${printable(b, p + 9, p + 9 + idLen)}'`);
      q = p + 9 + idLen;
    }
    const block = this.blocks[blockIndex]!;
    if (addr + PAGE_SIZE > block.usedLength) {
      throw context.error(`page offset ${hex(addr)} is outside RAM block '${block.idstr}' (${hex(block.usedLength)} bytes)`);
    }
    if (base === RamFlag.PAGE) {
      if (end - q < PAGE_SIZE) return -(q - p + PAGE_SIZE);
      this.lastBlock = blockIndex;
      this.v.onPage?.(blockIndex, addr, b, q);
      return q - p + PAGE_SIZE;
    }
    if (base === RamFlag.ZERO) {
      if (end - q < 1) return -(q - p + 1);
      this.lastBlock = blockIndex;
      this.v.onZero?.(blockIndex, addr, b[q]!);
      return q - p + 1;
    }
    if (end - q < 3) return -(q - p + 3);
    if (b[q] !== XBZRLE_ENCODING_FLAG) throw context.error(`wrong XBZRLE encoding flag ${hex(b[q]!)} (expected 0x1)`);
    const len = (b[q + 1]! << 8) | b[q + 2]!;
    if (len > PAGE_SIZE) throw context.error(`XBZRLE data length ${len} exceeds the page size ${PAGE_SIZE}`);
    if (end - q < 3 + len) return -(q - p + 3 + len);
    this.lastBlock = blockIndex;
    try {
      this.v.onXbzrle?.(blockIndex, addr, b, q + 3, len);
    } catch (e) {
      throw context.error(e instanceof Error ? e.message : String(e), e); // the visitor's words, at this record
    }
    return q - p + 3 + len;
  }

  /** Index of the target block whose idstr equals b[p..p+len), or -1. No allocation. */
  private findBlock(b: Uint8Array, p: number, len: number): number {
    const ids = this.blockIds;
    outer: for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id.length !== len) continue;
      for (let k = 0; k < len; k++) if (id[k] !== b[p + k]) continue outer;
      return i;
    }
    return -1;
  }

  private parseMemSize(b: Uint8Array, p: number, end: number, total: number, context: LoadContext): number {
    if (total !== this.ramTotal) {
      throw context.error(`RAM size mismatch: stream has ${total} bytes (${hex(total)}), target has ${this.ramTotal}`);
    }
    const seen = new Uint8Array(this.blocks.length);
    const listed: RamBlockSize[] = [];
    let remaining = total;
    let q = p + 8;
    while (remaining > 0) {
      if (end - q < 1) return -(q - p + 1);
      const idLen = b[q]!;
      if (end - q < 1 + idLen + 8) return -(q - p + 1 + idLen + 8);
      const i = this.findBlock(b, q + 1, idLen);
      const idstr = i >= 0 ? this.blocks[i]!.idstr : printable(b, q + 1, q + 1 + idLen);
      if (i < 0) throw context.error(`unknown ramblock "${idstr}", cannot accept migration`);
      if (seen[i]) throw context.error(`ramblock "${idstr}" is listed twice`);
      seen[i] = 1;
      listed.push(this.blocks[i]!);
      const length = be32(b, q + 1 + idLen) * 0x100000000 + be32(b, q + 5 + idLen);
      const want = this.blocks[i]!.usedLength;
      if (length !== want) throw context.error(`length mismatch: ${idstr}: ${hex(length)} in != ${hex(want)}`);
      remaining -= length;
      q += 1 + idLen + 8;
    }
    this.memSizeSeen = true;
    this.registerBlocks(listed, context);
    this.v.onMemSize?.(listed);
    return q - p;
  }

  /** RAM_CONTROL_BLOCK_REG per block, in the stream's order, once the whole record was read. */
  private registerBlocks(listed: readonly RamBlockSize[], context: LoadContext): void {
    if (this.control === undefined) return;
    for (const block of listed) {
      try {
        this.control.onBlockRegistered(block.idstr);
      } catch (e) {
        throw context.error(e instanceof Error ? e.message : String(e), e);
      }
    }
  }
}
