// Helpers shared by this package's tests: seeded content, small hand-made streams, an event recorder.
import { createHash } from 'node:crypto';
import {
  GlobalStateLoadSection,
  GlobalStateSaveSection,
  SectionType,
  StreamReader,
  StreamWriter,
  TimerLoadSection,
  TimerSaveSection,
  SavevmSaver,
  writeConfiguration,
  writeEof,
  writeFileHeader,
  writeSectionFooter,
  writeSectionHeader,
  writeSectionShortHeader,
  writeVmdesc,
  type FramingObserver,
  type LoadContext,
  type LoadSection,
  type SaveSection,
} from '@mig/savevm';
import type { DirtyBitmap } from '@mig/core';
import type { GuestRam } from '../src/memory/guest-ram.js';
import { RamLoader, type XbzrlePageHandler } from '../src/stream/ram-loader.js';
import { RamSaveSection } from '../src/stream/ram-save-section.js';
import { RAM_SECTION } from '../src/wire/constants.js';
import {
  encodeBlockId,
  writeRamEos,
  writeRamMemSize,
  writeRamPage,
  writeRamXbzrle,
  writeRamZero,
  type RamBlockSize,
} from '../src/wire/ram-record-writer.js';
import { RamSectionReader, type RamVisitor } from '../src/wire/ram-section-reader.js';

/** mulberry32: small seeded PRNG (32-bit outputs). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Fills `mem` page by page with a seeded mix of zero, random, constant and sparse pages. */
export function fillMixed(mem: Uint8Array, seed: number): void {
  const rnd = prng(seed);
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  for (let off = 0; off < mem.length; off += 4096) {
    const k = rnd() % 4;
    if (k === 0) mem.fill(0, off, off + 4096);
    else if (k === 1) for (let i = 0; i < 4096; i += 4) dv.setUint32(off + i, rnd());
    else if (k === 2) mem.fill(1 + (rnd() % 255), off, off + 4096);
    else {
      mem.fill(0, off, off + 4096);
      mem[off + (rnd() % 4096)] = 1 + (rnd() % 255);
    }
  }
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks));
}

export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex'));
}

/**
 * Hand-made streams for tests: the framing and ram records by name over one StreamWriter (ids by idstr,
 * `sameBlock` for CONTINUE), so a test reads like the record list it builds.
 */
export class RecordWriter {
  readonly w: StreamWriter;
  constructor(chunkSize?: number) {
    this.w = new StreamWriter(chunkSize);
  }
  header(): void { writeFileHeader(this.w); }
  configuration(machine: string): void { writeConfiguration(this.w, machine); }
  sectionStart(sectionId: number, idstr: string, instanceId: number, version: number): void {
    writeSectionHeader(this.w, SectionType.START, { sectionId, idstr, instanceId, version });
  }
  sectionFull(sectionId: number, idstr: string, instanceId: number, version: number): void {
    writeSectionHeader(this.w, SectionType.FULL, { sectionId, idstr, instanceId, version });
  }
  sectionPart(sectionId: number): void { writeSectionShortHeader(this.w, SectionType.PART, sectionId); }
  sectionEnd(sectionId: number): void { writeSectionShortHeader(this.w, SectionType.END, sectionId); }
  footer(sectionId: number): void { writeSectionFooter(this.w, sectionId); }
  eof(): void { writeEof(this.w); }
  vmdesc(json: string): void { writeVmdesc(this.w, json); }
  bytes(b: Uint8Array): void { this.w.bytes(b); }
  ramMemSize(blocks: readonly RamBlockSize[]): void { writeRamMemSize(this.w, blocks); }
  ramEos(): void { writeRamEos(this.w); }
  ramPage(idstr: string, sameBlock: boolean, offset: number, src: Uint8Array, at: number): void {
    writeRamPage(this.w, sameBlock ? null : encodeBlockId(idstr), offset, src, at);
  }
  ramZero(idstr: string, sameBlock: boolean, offset: number, fill = 0): void {
    writeRamZero(this.w, sameBlock ? null : encodeBlockId(idstr), offset, fill);
  }
  ramXbzrle(idstr: string, sameBlock: boolean, offset: number, src: Uint8Array, at: number, len: number): void {
    writeRamXbzrle(this.w, sameBlock ? null : encodeBlockId(idstr), offset, src, at, len);
  }
  drain(): Uint8Array[] { return this.w.drain(); }
  get bytesWritten(): number { return this.w.bytesWritten; }
}

/** Timer and globalstate load sections that also report what they read. */
class RecordingTimer extends TimerLoadSection {
  constructor(private readonly events: string[]) { super(); }
  override parse(b: Uint8Array, p: number, end: number, context: LoadContext): number {
    const n = super.parse(b, p, end, context);
    if (n > 0) this.events.push(`timer ${this.cpuTicksOffset} ${this.cpuClockOffset}`);
    return n;
  }
}
class RecordingGlobalState extends GlobalStateLoadSection {
  constructor(private readonly events: string[]) { super(); }
  override parse(b: Uint8Array, p: number, end: number, context: LoadContext): number {
    const n = super.parse(b, p, end, context);
    if (n > 0) this.events.push(`globalstate ${this.runstate}`);
    return n;
  }
}

/** The framing observer and ram visitor that record every callback as a string (page contents by hash). */
export function recorder(): { events: string[]; observer: FramingObserver; visitor: RamVisitor; sections(blocks: readonly RamBlockSize[], visitor?: RamVisitor): LoadSection[] } {
  const events: string[] = [];
  const observer: FramingObserver = {
    onHeader: (v) => events.push(`header ${v}`),
    onConfiguration: (m) => events.push(`config ${m}`),
    onSectionStart: (id, s, inst, ver) => events.push(`start ${id} ${s} ${inst} ${ver}`),
    onSectionFull: (id, s, inst, ver) => events.push(`full ${id} ${s} ${inst} ${ver}`),
    onSectionPart: (id) => events.push(`part ${id}`),
    onSectionEnd: (id) => events.push(`end ${id}`),
    onFooter: (id) => events.push(`footer ${id}`),
    onEof: () => events.push('eof'),
    onVmdesc: (j) => events.push(`vmdesc ${j.length}`),
  };
  const visitor: RamVisitor = {
    onMemSize: (blocks: readonly RamBlockSize[]) =>
      events.push(`memsize ${blocks.map((b) => `${b.idstr}:${b.usedLength}`).join(',')}`),
    onPage: (bi, off, buf, at) => events.push(`page ${bi} ${off} ${sha256(buf.subarray(at, at + 4096)).slice(0, 16)}`),
    onZero: (bi, off, fill) => events.push(`zero ${bi} ${off} ${fill}`),
    onXbzrle: (bi, off, buf, at, len) =>
      events.push(`xbzrle ${bi} ${off} ${Buffer.from(buf.subarray(at, at + len)).toString('hex')}`),
    onEos: () => events.push('eos'),
  };
  const sections = (blocks: readonly RamBlockSize[], v: RamVisitor = visitor): LoadSection[] => [
    new RecordingTimer(events),
    new RamSectionReader(blocks, v),
    new RecordingGlobalState(events),
  ];
  return { events, observer, visitor, sections };
}

/** The source of a QEMU 7.2 `-machine none` stream: timer (0), ram (2), globalstate (4), plus `extra` sections. */
export function machineNoneSaver(options: {
  ram: GuestRam;
  dirty: DirtyBitmap | readonly DirtyBitmap[];
  xbzrle?: number;
  now?: () => number;
  chunkSize?: number;
  extra?: readonly SaveSection[];
}): { saver: SavevmSaver; ram: RamSaveSection } {
  const ram = new RamSaveSection({
    ram: options.ram, dirty: options.dirty,
    ...(options.xbzrle === undefined ? {} : { xbzrle: options.xbzrle }),
    ...(options.now ? { now: options.now } : {}),
  });
  const sections: SaveSection[] = [new TimerSaveSection(), ram, ...(options.extra ?? []), new GlobalStateSaveSection()];
  const saver = new SavevmSaver({ machine: 'none', sections, ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}) });
  return { saver, ram };
}

/** The target of such a stream: push chunks in, `end()` checks it was whole and returns the source's runstate. */
export class MachineNoneLoader {
  readonly ram: RamLoader;
  readonly globalstate = new GlobalStateLoadSection();
  readonly reader: StreamReader;

  constructor(options: { ram: GuestRam; onXbzrle?: XbzrlePageHandler; machine?: string; extra?: readonly LoadSection[]; observer?: FramingObserver }) {
    this.ram = new RamLoader({ ram: options.ram, ...(options.onXbzrle ? { onXbzrle: options.onXbzrle } : {}) });
    this.reader = new StreamReader({
      machine: options.machine ?? 'none',
      sections: [new TimerLoadSection(), this.ram.section, this.globalstate, ...(options.extra ?? [])],
      ...(options.observer ? { observer: options.observer } : {}),
    });
  }
  push(chunk: Uint8Array): void { this.reader.push(chunk); }
  end(): { runstate?: string } {
    this.reader.end();
    return this.globalstate.runstate === undefined ? {} : { runstate: this.globalstate.runstate };
  }
  get bytesReceived(): number { return this.reader.bytesReceived; }
  get complete(): boolean { return this.reader.complete; }
}

export { RAM_SECTION };
