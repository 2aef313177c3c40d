// Landmarks in a QEMU 7.2 migration stream (`-machine none`, RAM only), so tests can cut or corrupt it at
// chosen places. A plain reader for streams QEMU made; it throws on anything it does not expect.

export interface StreamMap {
  length: number;
  /** Byte offset of the CONFIGURATION record (0x07). */
  configuration: number;
  /** Offset of the machine name inside CONFIGURATION. */
  configurationName: number;
  /** Offset of the ram SECTION_START byte. */
  ramStart: number;
  /** Offset of the MEM_SIZE record's be64, its block idstr length byte and its be64 used_length. */
  memSizeRecord: number;
  memSizeIdstr: number;
  memSizeUsedLength: number;
  /** Offsets of PAGE records (the be64) and of their 4096 data bytes. */
  pages: Array<{ record: number; data: number }>;
  /** Offsets of ZERO records (the be64) and of their fill byte. */
  zeros: Array<{ record: number; fill: number }>;
  /** Offsets of section headers by kind. */
  sectionEnd: number;
  timer: number;
  globalstate: number;
  /** Offset of the EOF byte (0x00); VMDESCRIPTION follows it. */
  eof: number;
}

const FLAG_ZERO = 0x02;
const FLAG_MEM_SIZE = 0x04;
const FLAG_PAGE = 0x08;
const FLAG_EOS = 0x10;
const FLAG_CONTINUE = 0x20;
const PAGE = 4096;

export function mapStream(buf: Buffer): StreamMap {
  let pos = 0;
  const need = (n: number, what: string): void => {
    if (pos + n > buf.length) throw new Error(`stream-map: ${what} runs past the end at ${pos}`);
  };
  need(8, 'header');
  if (buf.readUInt32BE(0) !== 0x5145564d || buf.readUInt32BE(4) !== 3) throw new Error('stream-map: not a QEVM v3 stream');
  pos = 8;
  if (buf[pos] !== 0x07) throw new Error(`stream-map: expected CONFIGURATION at 8, got ${buf[pos]}`);
  const configuration = pos;
  const nameLen = buf.readUInt32BE(pos + 1);
  const configurationName = pos + 5;
  pos += 5 + nameLen;

  const partial: Partial<StreamMap> = { configuration, configurationName, pages: [], zeros: [] };
  const idstrById = new Map<number, string>();

  const ramRecords = (): void => {
    for (;;) {
      need(8, 'ram record');
      const start = pos;
      const hi = buf.readUInt32BE(pos);
      const lo = buf.readUInt32BE(pos + 4);
      const flags = lo & 0xfff;
      pos += 8;
      if (flags & FLAG_EOS) return;
      if (flags & FLAG_MEM_SIZE) {
        let total = hi * 0x1_0000_0000 + (lo - flags);
        partial.memSizeRecord = start;
        while (total > 0) {
          partial.memSizeIdstr ??= pos;
          const len = buf[pos]!;
          pos += 1 + len;
          partial.memSizeUsedLength ??= pos;
          const used = buf.readUInt32BE(pos) * 0x1_0000_0000 + buf.readUInt32BE(pos + 4);
          pos += 8;
          total -= used;
        }
        continue;
      }
      if (!(flags & FLAG_CONTINUE)) pos += 1 + buf[pos]!;
      if (flags & FLAG_ZERO) {
        partial.zeros!.push({ record: start, fill: pos });
        pos += 1;
      } else if (flags & FLAG_PAGE) {
        partial.pages!.push({ record: start, data: pos });
        pos += PAGE;
      } else {
        throw new Error(`stream-map: unexpected ram flags 0x${flags.toString(16)} at ${start}`);
      }
    }
  };

  for (;;) {
    need(1, 'section type');
    const type = buf[pos]!;
    const at = pos;
    if (type === 0x00) {
      partial.eof = at;
      break;
    }
    if (type === 0x01 || type === 0x04) {
      const id = buf.readUInt32BE(pos + 1);
      const len = buf[pos + 5]!;
      const idstr = buf.toString('latin1', pos + 6, pos + 6 + len);
      idstrById.set(id, idstr);
      pos += 6 + len + 8;
      if (idstr === 'ram') {
        partial.ramStart = at;
        ramRecords();
      } else if (idstr === 'timer') {
        partial.timer = at;
        pos += 24;
      } else if (idstr === 'globalstate') {
        partial.globalstate = at;
        pos += 4 + 100;
      } else {
        throw new Error(`stream-map: unexpected section ${idstr} at ${at}`);
      }
    } else if (type === 0x02 || type === 0x03) {
      const id = buf.readUInt32BE(pos + 1);
      if (idstrById.get(id) !== 'ram') throw new Error(`stream-map: PART/END of section ${id} at ${at}`);
      if (type === 0x03) partial.sectionEnd = at;
      pos += 5;
      ramRecords();
    } else {
      throw new Error(`stream-map: unexpected section type ${type} at ${at}`);
    }
    if (buf[pos] !== 0x7e) throw new Error(`stream-map: missing footer at ${pos}`);
    pos += 5;
  }
  const m = { ...partial, length: buf.length } as StreamMap;
  for (const k of ['ramStart', 'memSizeRecord', 'sectionEnd', 'timer', 'globalstate', 'eof'] as const) {
    if (m[k] === undefined) throw new Error(`stream-map: no ${k} found`);
  }
  if (m.pages.length === 0 || m.zeros.length === 0) throw new Error('stream-map: expected both PAGE and ZERO records');
  return m;
}
