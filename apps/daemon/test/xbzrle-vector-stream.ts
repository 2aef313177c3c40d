// A complete `-machine none` stream (ram 'ram' of 64 pages) whose ram section carries QEMU 7.2's own XBZRLE
// encodings (packages/ram/test/fixtures/xbzrle, format in docs/xbzrle-format.md): each vector's old page as
// PAGE, then QEMU's encoding of the new page as XBZRLE. A seed for fuzzing the reader's XBZRLE path.
import { PAGE_SIZE, encodeBlockId, writeRamEos, writeRamMemSize, writeRamPage, writeRamXbzrle } from '@mig/ram';
import {
  GLOBALSTATE_SECTION, SectionType, StreamWriter, TIMER_BODY_SIZE, TIMER_SECTION, writeConfiguration, writeEof, writeFileHeader,
  writeSectionFooter, writeSectionHeader, writeSectionShortHeader,
} from '@mig/savevm';

const PAGES = 64;
const RAM = { idstr: 'ram', instanceId: 0, version: 4, sectionId: 2 };

/** Up to `count` vectors of 4 KiB pages with an encoding, from the XBZV1 file's bytes. */
function* vectorsOf(raw: Uint8Array, count: number): Generator<{ old: Uint8Array; enc: Uint8Array }> {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const total = dv.getUint32(8, true);
  let o = 12;
  let n = 0;
  for (let i = 0; i < total && n < count; i++) {
    const pageSize = dv.getUint32(o, true);
    const old = raw.subarray(o + 4, o + 4 + pageSize);
    const encLen = dv.getInt32(o + 4 + 2 * pageSize, true);
    const enc = raw.subarray(o + 8 + 2 * pageSize, o + 8 + 2 * pageSize + Math.max(encLen, 0));
    o += 8 + 2 * pageSize + Math.max(encLen, 0);
    if (pageSize === PAGE_SIZE && encLen > 0) {
      n++;
      yield { old, enc };
    }
  }
}

export function xbzrleVectorStream(vectorFile: Uint8Array, count: number): Uint8Array {
  const w = new StreamWriter();
  writeFileHeader(w);
  writeConfiguration(w, 'none');
  writeSectionHeader(w, SectionType.START, RAM);
  writeRamMemSize(w, [{ idstr: 'ram', usedLength: PAGES * PAGE_SIZE }]);
  writeRamEos(w);
  writeSectionFooter(w, RAM.sectionId);
  const id = encodeBlockId('ram');
  let slot = 0;
  for (const v of vectorsOf(vectorFile, count)) {
    if (slot % PAGES === 0) writeSectionShortHeader(w, SectionType.PART, RAM.sectionId);
    writeRamPage(w, slot % PAGES === 0 ? id : null, (slot % PAGES) * PAGE_SIZE, v.old, 0);
    writeRamXbzrle(w, null, (slot % PAGES) * PAGE_SIZE, v.enc, 0, v.enc.length);
    slot++;
    if (slot % PAGES === 0) {
      writeRamEos(w);
      writeSectionFooter(w, RAM.sectionId);
    }
  }
  if (slot % PAGES !== 0) {
    writeRamEos(w);
    writeSectionFooter(w, RAM.sectionId);
  }
  writeSectionShortHeader(w, SectionType.END, RAM.sectionId);
  writeRamEos(w);
  writeSectionFooter(w, RAM.sectionId);
  writeSectionHeader(w, SectionType.FULL, TIMER_SECTION);
  w.zeros(TIMER_BODY_SIZE);
  writeSectionFooter(w, TIMER_SECTION.sectionId);
  writeSectionHeader(w, SectionType.FULL, GLOBALSTATE_SECTION);
  w.be32(10);
  w.bytes(Buffer.from('prelaunch'));
  w.zeros(100 - 9);
  writeSectionFooter(w, GLOBALSTATE_SECTION.sectionId);
  writeEof(w);
  return Buffer.concat(w.drain());
}
