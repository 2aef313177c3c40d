import { PAGE_SIZE } from '../memory/constants.js';
import { copyBytes } from '../memory/copy.js';
import type { GuestRam } from '../memory/guest-ram.js';
import type { RamBlock } from '../memory/ram-block.js';
import { isFilledPage } from '../memory/zero-page.js';
import { StreamError } from '../wire/stream-error.js';
import { StreamReader, type StreamVisitor } from '../wire/stream-reader.js';

/**
 * Decodes one XBZRLE page: applies `len` encoded bytes at `src[srcOffset..]` onto the 4096-byte page at
 * `dest[destOffset..]` (which holds the previous content). Throws on a malformed encoding.
 */
export type XbzrlePageHandler = (dest: Uint8Array, destOffset: number, src: Uint8Array, srcOffset: number, len: number) => void;

export interface StreamLoaderOptions {
  /** Local machine type; the stream's CONFIGURATION must match. */
  readonly machine: string;
  readonly ram: GuestRam;
  readonly onXbzrle?: XbzrlePageHandler;
}

export interface LoadResult {
  /** The source's run state from the globalstate section, when the stream carried one. */
  readonly runstate?: string;
}

/**
 * The target side: `push(chunk)` parses the stream and applies RAM records into the target's RamBlocks.
 * Every defect of the stream (and every failure of the XBZRLE handler) surfaces as a StreamError.
 */
export class StreamLoader implements StreamVisitor {
  private readonly blocks: readonly RamBlock[];
  private readonly reader: StreamReader;
  private readonly xbzrle: XbzrlePageHandler | undefined;
  private runstate: string | undefined;

  /** Counters of records applied. */
  normalPages = 0;
  zeroPages = 0;
  /** ZERO records whose page already held the fill byte (not written, as QEMU does). */
  zeroPagesSkipped = 0;
  xbzrlePages = 0;

  constructor(options: StreamLoaderOptions) {
    this.blocks = options.ram.blocks;
    this.xbzrle = options.onXbzrle;
    this.reader = new StreamReader({ machine: options.machine, ramBlocks: options.ram.blocks, visitor: this });
  }

  /** Stream bytes received so far. */
  get bytesReceived(): number {
    return this.reader.bytesReceived;
  }

  /** True once the stream's EOF has been read. */
  get complete(): boolean {
    return this.reader.complete;
  }

  get result(): LoadResult {
    return this.runstate === undefined ? {} : { runstate: this.runstate };
  }

  push(chunk: Uint8Array): void {
    this.reader.push(chunk);
  }

  /** Checks the stream was complete and returns what it carried besides RAM. */
  end(): LoadResult {
    this.reader.end();
    return this.result;
  }

  onRamPage(blockIndex: number, offset: number, buf: Uint8Array, bufOffset: number): void {
    copyBytes(buf, bufOffset, this.blocks[blockIndex]!.bytes, offset, PAGE_SIZE);
    this.normalPages++;
  }

  onRamZero(blockIndex: number, offset: number, fill: number): void {
    const bytes = this.blocks[blockIndex]!.bytes;
    if (isFilledPage(bytes, offset, fill)) this.zeroPagesSkipped++;
    else bytes.fill(fill, offset, offset + PAGE_SIZE);
    this.zeroPages++;
  }

  onRamXbzrle(blockIndex: number, offset: number, buf: Uint8Array, bufOffset: number, len: number): void {
    if (!this.xbzrle) {
      throw new StreamError(this.reader.recordOffset, 'ram XBZRLE', 'XBZRLE page received but XBZRLE decoding is not available');
    }
    try {
      this.xbzrle(this.blocks[blockIndex]!.bytes, offset, buf, bufOffset, len);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new StreamError(this.reader.recordOffset, 'ram XBZRLE', `failed to decode XBZRLE page at offset 0x${offset.toString(16)} of '${this.blocks[blockIndex]!.idstr}': ${why}`, { cause: e });
    }
    this.xbzrlePages++;
  }

  onGlobalState(runstate: string): void {
    this.runstate = runstate;
  }
}
