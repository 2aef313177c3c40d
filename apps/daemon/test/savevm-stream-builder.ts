// Builds savevm streams for tests through the project's own writers: header, CONFIGURATION, ram (and block)
// section records, timer and globalstate, EOF, VMDESCRIPTION; keeps the RAM a target would hold after each
// record, so a test can compare what an analyzer extracts with it.
import {
  GlobalStateSaveSection,
  SectionType,
  StreamWriter,
  TimerSaveSection,
  writeConfiguration,
  writeEof,
  writeFileHeader,
  writeSectionFooter,
  writeSectionHeader,
  writeSectionShortHeader,
  writeVmdesc,
  vmdescJson,
} from '@mig/savevm';
import {
  PAGE_SIZE,
  RAM_SECTION,
  encodeBlockId,
  writeRamEos,
  writeRamMemSize,
  writeRamPage,
  writeRamXbzrle,
  writeRamZero,
  xbzrleEncode,
  type RamBlockSize,
} from '@mig/ram';

export class RamStreamBuilder {
  readonly w = new StreamWriter();
  /** What a target's RAM holds after the records written so far, per block. */
  readonly ram: Uint8Array[];
  private readonly ids: Uint8Array[];
  private last = -1;
  private readonly scratch = new Uint8Array(PAGE_SIZE * 2);

  constructor(readonly blocks: readonly RamBlockSize[], machine = 'none') {
    this.ram = blocks.map((b) => new Uint8Array(b.usedLength));
    this.ids = blocks.map((b) => encodeBlockId(b.idstr));
    writeFileHeader(this.w);
    writeConfiguration(this.w, machine);
  }

  /** SECTION_START of ram with MEM_SIZE, or PART / END; `body` writes the records, EOS and footer follow. */
  section(kind: 'start' | 'part' | 'end', body: () => void = () => {}): this {
    if (kind === 'start') writeSectionHeader(this.w, SectionType.START, RAM_SECTION);
    else writeSectionShortHeader(this.w, kind === 'part' ? SectionType.PART : SectionType.END, RAM_SECTION.sectionId);
    if (kind === 'start') writeRamMemSize(this.w, this.blocks);
    body();
    writeRamEos(this.w);
    writeSectionFooter(this.w, RAM_SECTION.sectionId);
    return this;
  }

  page(block: number, offset: number, data: Uint8Array): void {
    writeRamPage(this.w, this.id(block), offset, data, 0);
    this.ram[block]!.set(data.subarray(0, PAGE_SIZE), offset);
  }

  zero(block: number, offset: number, fill = 0): void {
    writeRamZero(this.w, this.id(block), offset, fill);
    this.ram[block]!.fill(fill, offset, offset + PAGE_SIZE);
  }

  /** An XBZRLE record that turns what the page holds now into `data`. */
  xbzrle(block: number, offset: number, data: Uint8Array): number {
    const len = xbzrleEncode(this.ram[block]!, offset, data, 0, PAGE_SIZE, this.scratch, 0, PAGE_SIZE);
    if (len < 0) throw new Error('test page does not encode within a page');
    writeRamXbzrle(this.w, this.id(block), offset, this.scratch, 0, len);
    this.ram[block]!.set(data.subarray(0, PAGE_SIZE), offset);
    return len;
  }

  /** timer, globalstate, EOF and a VMDESCRIPTION like QEMU's; returns the whole stream. */
  finish(runstate = 'running'): Uint8Array {
    const timer = new TimerSaveSection(0);
    const gs = new GlobalStateSaveSection(4);
    for (const s of [timer, gs]) {
      writeSectionHeader(this.w, SectionType.FULL, s);
      s.save(this.w, { runstate });
      writeSectionFooter(this.w, s.sectionId);
    }
    writeEof(this.w);
    writeVmdesc(this.w, vmdescJson(PAGE_SIZE, [timer.vmdesc(), gs.vmdesc()]));
    return Buffer.concat(this.w.drain());
  }

  private id(block: number): Uint8Array | null {
    const same = block === this.last;
    this.last = block;
    return same ? null : this.ids[block]!;
  }
}

/** A page of `byte` with a marker word at `at` (different pages, cheap to write). */
export function patternPage(byte: number, marker = 0, at = 0): Uint8Array {
  const p = new Uint8Array(PAGE_SIZE).fill(byte);
  new DataView(p.buffer).setUint32(at, marker);
  return p;
}
