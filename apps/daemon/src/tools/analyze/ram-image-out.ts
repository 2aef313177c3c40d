// `--ram-out DIR`: each RAM block of the stream as the file DIR/IDSTR, its bytes as a target would hold them
// after the load (XBZRLE pages decoded onto what the file held). Pages go to disk as they come.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PAGE_SIZE, xbzrleDecode, type RamBlockSize } from '@mig/ram';
import { outputPath } from './output-path.js';
import { UnitBitmap } from './page-bitmap.js';
import type { PositionalWriter } from './positional-writer.js';

export interface RamImageFile {
  readonly idstr: string;
  readonly path: string;
  readonly bytes: number;
}

export class RamImageOut {
  readonly files: RamImageFile[] = [];
  private fileIndex: number[] = [];
  /** Pages that hold data: a ZERO record of a page never written needs no write (the file is sparse). */
  private written: UnitBitmap[] = [];

  constructor(
    private readonly dir: string,
    private readonly writer: PositionalWriter,
  ) {}

  /** MEM_SIZE: one file per block, truncated to the block's length. */
  open(blocks: readonly RamBlockSize[]): void {
    if (this.files.length > 0) return; // a second MEM_SIZE is checked against the first by the reader
    for (const b of blocks) {
      const path = outputPath(this.dir, b.idstr);
      mkdirSync(dirname(path), { recursive: true });
      this.fileIndex.push(this.writer.open(path, b.usedLength));
      this.written.push(new UnitBitmap(b.usedLength / PAGE_SIZE));
      this.files.push({ idstr: b.idstr, path, bytes: b.usedLength });
    }
  }

  page(block: number, offset: number, buf: Uint8Array, at: number): void {
    this.writer.write(this.fileIndex[block]!, offset, buf, at, PAGE_SIZE);
    this.written[block]!.set(offset / PAGE_SIZE);
  }

  zero(block: number, offset: number, fill: number): void {
    const written = this.written[block]!;
    if (fill === 0 && !written.has(offset / PAGE_SIZE)) return;
    this.writer.fill(this.fileIndex[block]!, offset, fill, PAGE_SIZE);
    written.set(offset / PAGE_SIZE);
  }

  /** Decodes the XBZRLE delta onto the page's current bytes (throws XbzrleDecodeError on a bad encoding). */
  xbzrle(block: number, offset: number, buf: Uint8Array, at: number, len: number): void {
    const slot = this.writer.stageCurrent(this.fileIndex[block]!, offset, PAGE_SIZE);
    xbzrleDecode(buf, at, len, this.writer.stage, slot, PAGE_SIZE);
    this.written[block]!.set(offset / PAGE_SIZE);
  }
}
