// The `ram` section for a reader that knows no RAM layout in advance: @mig/ram's RamSectionReader checks
// MEM_SIZE against the target's blocks, given to its constructor. This section reads the block list of the
// first MEM_SIZE record without consuming it, builds a RamSectionReader over exactly those blocks, and hands
// it every record from there on (the MEM_SIZE record included, which then matches by construction).
import { be32, hex, type LoadContext, type LoadSection, type SectionRecordKind } from '@mig/savevm';
import { RAM_FLAGS_MASK, RAM_SECTION, RamFlag, RamSectionReader, type RamBlockSize, type RamVisitor } from '@mig/ram';

/** A RamVisitor that is also told which kind of section record each body belongs to. */
export interface RamRecordVisitor extends RamVisitor {
  onSectionRecord?(kind: SectionRecordKind): void;
}

/** MEM_SIZE lists at most this many blocks (a bound against a damaged record, far above any real guest). */
const MAX_BLOCKS = 4096;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class LearningRamSection implements LoadSection {
  readonly idstr = RAM_SECTION.idstr;
  readonly instanceId = RAM_SECTION.instanceId;
  readonly version = RAM_SECTION.version;
  readonly iterative = true;
  private reader: RamSectionReader | undefined;

  constructor(private readonly visitor: RamRecordVisitor) {}

  /** The blocks MEM_SIZE announced, once it was read. */
  blocks: readonly RamBlockSize[] | undefined;

  begin(kind: SectionRecordKind, versionId: number, context: LoadContext): void {
    context.record = 'ram record';
    this.visitor.onSectionRecord?.(kind);
    this.reader?.begin(kind, versionId, context);
  }

  parse(b: Uint8Array, p: number, end: number, context: LoadContext): number {
    if (this.reader === undefined) {
      const need = this.learn(b, p, end, context);
      if (need < 0) return need;
    }
    return this.reader!.parse(b, p, end, context);
  }

  finish(context: LoadContext): void {
    if (this.reader === undefined) throw context.error("the 'ram' section carried no MEM_SIZE record");
    this.reader.finish(context);
  }

  /** Reads MEM_SIZE's block list at b[p..end): 0 once the reader exists, or -(bytes needed). */
  private learn(b: Uint8Array, p: number, end: number, context: LoadContext): number {
    context.record = 'ram MEM_SIZE';
    if (end - p < 8) return -8;
    const lo = be32(b, p + 4);
    const flags = lo & RAM_FLAGS_MASK;
    if (flags !== RamFlag.MEM_SIZE) {
      context.record = 'ram record';
      throw context.error(`the first record of the 'ram' section has flags ${hex(flags)}, not MEM_SIZE: its RAM blocks are unknown`);
    }
    const total = be32(b, p) * 0x100000000 + (lo - flags);
    const blocks: RamBlockSize[] = [];
    let listed = 0;
    let q = p + 8;
    while (listed < total) {
      if (blocks.length === MAX_BLOCKS) throw context.error(`MEM_SIZE lists more than ${MAX_BLOCKS} RAM blocks`);
      if (end - q < 1) return -(q - p + 1);
      const idLen = b[q]!;
      if (end - q < 1 + idLen + 8) return -(q - p + 1 + idLen + 8);
      const idstr = decodeIdstr(b, q + 1, q + 1 + idLen, context);
      const usedLength = be32(b, q + 1 + idLen) * 0x100000000 + be32(b, q + 5 + idLen);
      blocks.push({ idstr, usedLength });
      listed += usedLength;
      q += 1 + idLen + 8;
    }
    if (listed !== total) throw context.error(`MEM_SIZE's blocks add up to ${listed} bytes, the record says ${total}`);
    this.blocks = blocks;
    this.reader = new RamSectionReader(blocks, this.visitor);
    return 0;
  }
}

function decodeIdstr(b: Uint8Array, start: number, end: number, context: LoadContext): string {
  try {
    return utf8.decode(b.subarray(start, end));
  } catch {
    throw context.error(`a RAM block name in MEM_SIZE is not UTF-8 (${Buffer.from(b.subarray(start, end)).toString('hex')})`);
  }
}
