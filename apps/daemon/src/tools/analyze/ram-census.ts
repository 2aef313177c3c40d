// Counts the ram section's records per pass and hands page data to --ram-out. A pass is a round of the
// source's page scan (QEMU's and mig's cursor walks the blocks in MEM_SIZE order and wraps to the first
// block when it reaches the end): a new pass begins with a page whose (block, offset) is not after the
// previous page's. Dirty syncs are not in the stream, so this is what a reader can see of them.
import type { SectionRecordKind } from '@mig/savevm';
import { PAGE_SIZE, xbzrleDecode, type RamBlockSize } from '@mig/ram';
import { noPages, type PageCounts, type RamPass, type RamSummary } from './analysis-result.js';
import type { RamRecordVisitor } from './learning-ram-section.js';
import type { RamImageOut } from './ram-image-out.js';

export class RamCensus implements RamRecordVisitor {
  blocks: readonly RamBlockSize[] | undefined;
  readonly passes: RamPass[] = [];
  readonly completion: PageCounts = noPages();
  memSizeRecords = 0;
  eosRecords = 0;
  private pass: RamPass | undefined;
  private lastBlock = -1;
  private lastOffset = -1;
  private inEnd = false;
  /** Whether a ram section record was seen at all. */
  seen = false;
  /**
   * Without --ram-out an XBZRLE delta is still decoded, onto this page: whether an encoding is valid does not
   * depend on the bytes it patches, so a bad one is found either way.
   */
  private readonly scratch = new Uint8Array(PAGE_SIZE);

  constructor(
    private readonly streamOffset: () => number,
    private readonly out: RamImageOut | undefined,
  ) {}

  onSectionRecord(kind: SectionRecordKind): void {
    this.seen = true;
    this.inEnd = kind === 'end';
  }

  onMemSize(blocks: readonly RamBlockSize[]): void {
    this.memSizeRecords++;
    this.blocks ??= blocks;
    this.out?.open(blocks);
  }

  onPage(block: number, offset: number, buf: Uint8Array, at: number): void {
    this.step(block, offset).normal++;
    if (this.inEnd) this.completion.normal++;
    this.out?.page(block, offset, buf, at);
  }

  onZero(block: number, offset: number, fill: number): void {
    this.step(block, offset).zero++;
    if (this.inEnd) this.completion.zero++;
    this.out?.zero(block, offset, fill);
  }

  onXbzrle(block: number, offset: number, buf: Uint8Array, at: number, len: number): void {
    const pass = this.step(block, offset);
    pass.xbzrle++;
    pass.xbzrleBytes += len;
    if (this.inEnd) {
      this.completion.xbzrle++;
      this.completion.xbzrleBytes += len;
    }
    if (this.out) this.out.xbzrle(block, offset, buf, at, len);
    else xbzrleDecode(buf, at, len, this.scratch, 0, PAGE_SIZE);
  }

  onEos(): void {
    this.eosRecords++;
  }

  summary(): RamSummary {
    const totals = noPages();
    for (const p of this.passes) {
      totals.normal += p.normal;
      totals.zero += p.zero;
      totals.xbzrle += p.xbzrle;
      totals.xbzrleBytes += p.xbzrleBytes;
    }
    return {
      blocks: [...(this.blocks ?? [])],
      memSizeRecords: this.memSizeRecords,
      eosRecords: this.eosRecords,
      totals,
      passes: this.passes.map((p) => ({ ...p })),
      completion: { ...this.completion },
      ...(this.out ? { files: [...this.out.files] } : {}),
    };
  }

  /** The pass this page belongs to: a new one when the scan wrapped. */
  private step(block: number, offset: number): RamPass {
    let pass = this.pass;
    if (pass === undefined || block < this.lastBlock || (block === this.lastBlock && offset <= this.lastOffset)) {
      pass = { pass: this.passes.length + 1, streamOffset: this.streamOffset(), ...noPages() };
      this.passes.push(pass);
      this.pass = pass;
    }
    this.lastBlock = block;
    this.lastOffset = offset;
    return pass;
  }
}
