// The savevm framing records, written through a StreamWriter (QEMU's savevm.c save_section_header & co).
import { QEMU_VM_FILE_MAGIC, QEMU_VM_FILE_VERSION, SectionType } from './constants.js';
import type { StreamWriter } from './stream-writer.js';

/** Who a section is in the stream: QEMU's SaveStateEntry identity. */
export interface SectionIdentity {
  readonly idstr: string;
  readonly instanceId: number;
  readonly version: number;
  /** The id the source gives the section in this stream (PART/END and footers name it). */
  readonly sectionId: number;
}

const encodedIds = new Map<string, Uint8Array>();

/** The section's idstr as stream bytes, encoded once per name. */
function idBytes(idstr: string): Uint8Array {
  let b = encodedIds.get(idstr);
  if (b === undefined) {
    b = Buffer.from(idstr, 'utf8');
    if (b.length === 0 || b.length > 255) throw new RangeError(`section idstr ${JSON.stringify(idstr)} must be 1..255 bytes`);
    encodedIds.set(idstr, b);
  }
  return b;
}

/** `QEVM`, version 3. */
export function writeFileHeader(w: StreamWriter): void {
  w.reserve(8);
  w.be32(QEMU_VM_FILE_MAGIC);
  w.be32(QEMU_VM_FILE_VERSION);
}

/** CONFIGURATION: 0x07, be32 length, machine name. */
export function writeConfiguration(w: StreamWriter, machine: string): void {
  const name = Buffer.from(machine, 'utf8');
  w.reserve(5 + name.length);
  w.u8(SectionType.CONFIGURATION);
  w.be32(name.length);
  w.bytes(name);
}

/** SECTION_START or SECTION_FULL: type, be32 section id, counted idstr, be32 instance id, be32 version. */
export function writeSectionHeader(w: StreamWriter, type: typeof SectionType.START | typeof SectionType.FULL, s: SectionIdentity): void {
  const id = idBytes(s.idstr);
  w.reserve(14 + id.length);
  w.u8(type);
  w.be32(s.sectionId);
  w.counted(id);
  w.be32(s.instanceId);
  w.be32(s.version);
}

/** SECTION_PART or SECTION_END: type, be32 section id. */
export function writeSectionShortHeader(w: StreamWriter, type: typeof SectionType.PART | typeof SectionType.END, sectionId: number): void {
  w.reserve(5);
  w.u8(type);
  w.be32(sectionId);
}

/** Section footer: 0x7E, be32 section id. */
export function writeSectionFooter(w: StreamWriter, sectionId: number): void {
  w.reserve(5);
  w.u8(SectionType.FOOTER);
  w.be32(sectionId);
}

export function writeEof(w: StreamWriter): void {
  w.u8(SectionType.EOF);
}

/** VMDESCRIPTION: 0x06, be32 length, JSON. */
export function writeVmdesc(w: StreamWriter, json: string): void {
  const b = Buffer.from(json, 'utf8');
  w.reserve(5 + b.length);
  w.u8(SectionType.VMDESCRIPTION);
  w.be32(b.length);
  w.bytes(b);
}
