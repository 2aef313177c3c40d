import type { RamLoadControl } from '@mig/core';
import { copyBytes } from '@mig/savevm';
import { PAGE_SIZE } from '../memory/constants.js';
import type { GuestRam } from '../memory/guest-ram.js';
import type { RamBlock } from '../memory/ram-block.js';
import { isFilledPage } from '../memory/zero-page.js';
import { RamSectionReader, type RamVisitor } from '../wire/ram-section-reader.js';

/**
 * Decodes one XBZRLE page: applies `len` encoded bytes at `src[srcOffset..]` onto the 4096-byte page at
 * `dest[destOffset..]` (which holds the previous content). Throws on a malformed encoding.
 */
export type XbzrlePageHandler = (dest: Uint8Array, destOffset: number, src: Uint8Array, srcOffset: number, len: number) => void;

export interface RamLoaderOptions {
  readonly ram: GuestRam;
  readonly onXbzrle?: XbzrlePageHandler;
  /** The transport's RAM hooks (rdma: HOOK records and the block list go to its registration handling). */
  readonly control?: RamLoadControl;
}

/**
 * The target's RAM: applies the `ram` section's records into its RamBlocks, page data straight from the
 * stream chunk into guest memory. `section` is what to register with the savevm StreamReader.
 */
export class RamLoader implements RamVisitor {
  readonly section: RamSectionReader;
  private readonly blocks: readonly RamBlock[];
  private readonly xbzrle: XbzrlePageHandler | undefined;

  /** Counters of records applied. */
  normalPages = 0;
  zeroPages = 0;
  /** ZERO records whose page already held the fill byte (not written, as QEMU does). */
  zeroPagesSkipped = 0;
  xbzrlePages = 0;

  constructor(options: RamLoaderOptions) {
    this.blocks = options.ram.blocks;
    this.xbzrle = options.onXbzrle;
    this.section = new RamSectionReader(options.ram.blocks, this, options.control);
  }

  onPage(blockIndex: number, offset: number, buf: Uint8Array, bufOffset: number): void {
    copyBytes(buf, bufOffset, this.blocks[blockIndex]!.bytes, offset, PAGE_SIZE);
    this.normalPages++;
  }

  onZero(blockIndex: number, offset: number, fill: number): void {
    const bytes = this.blocks[blockIndex]!.bytes;
    if (isFilledPage(bytes, offset, fill)) this.zeroPagesSkipped++;
    else bytes.fill(fill, offset, offset + PAGE_SIZE);
    this.zeroPages++;
  }

  onXbzrle(blockIndex: number, offset: number, buf: Uint8Array, bufOffset: number, len: number): void {
    if (!this.xbzrle) throw new Error('XBZRLE page received but XBZRLE decoding is not available');
    const block = this.blocks[blockIndex]!;
    try {
      this.xbzrle(block.bytes, offset, buf, bufOffset, len);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(`failed to decode XBZRLE page at offset 0x${offset.toString(16)} of '${block.idstr}': ${why}`, { cause: e });
    }
    this.xbzrlePages++;
  }
}
