// The records of the `ram` section body, written through the savevm StreamWriter. Per-page functions: no
// allocation; block ids come encoded (RamBlockIds), `null` for a page of the same block as the previous record
// (CONTINUE), which holds across sections.
import type { StreamWriter } from '@mig/savevm';
import { PAGE_SIZE } from '../memory/constants.js';
import { RamFlag, XBZRLE_ENCODING_FLAG } from './constants.js';

/** One entry of a ram MEM_SIZE record. */
export interface RamBlockSize {
  readonly idstr: string;
  readonly usedLength: number;
}

/** A block's idstr as stream bytes, 1..255 of them. */
export function encodeBlockId(idstr: string): Uint8Array {
  const b = Buffer.from(idstr, 'utf8');
  if (b.length === 0 || b.length > 255) throw new RangeError(`RAM block idstr ${JSON.stringify(idstr)} must be 1..255 bytes`);
  return b;
}

/** MEM_SIZE: be64 total|0x04, then per block the counted idstr and be64 used_length. Returns bytes written. */
export function writeRamMemSize(w: StreamWriter, blocks: readonly RamBlockSize[]): number {
  const start = w.bytesWritten;
  const total = blocks.reduce((s, b) => s + b.usedLength, 0);
  w.be64(total + RamFlag.MEM_SIZE);
  for (const b of blocks) {
    w.counted(encodeBlockId(b.idstr));
    w.be64(b.usedLength);
  }
  return w.bytesWritten - start;
}

/** EOS: the end of this ram section body. */
export function writeRamEos(w: StreamWriter): number {
  w.be64(RamFlag.EOS);
  return 8;
}

/** be64 offset|flags, then the counted idstr unless `id` is null (CONTINUE). Reserves the whole record. */
function pageHeader(w: StreamWriter, id: Uint8Array | null, offset: number, flags: number, body: number): number {
  if (id === null) {
    w.reserve(8 + body);
    w.be64(offset + flags + RamFlag.CONTINUE);
    return 8 + body;
  }
  w.reserve(9 + id.length + body);
  w.be64(offset + flags);
  w.counted(id);
  return 9 + id.length + body;
}

/** PAGE: header, then 4096 bytes copied from `src[srcOffset..]`. Returns bytes written. */
export function writeRamPage(w: StreamWriter, id: Uint8Array | null, offset: number, src: Uint8Array, srcOffset: number): number {
  const n = pageHeader(w, id, offset, RamFlag.PAGE, PAGE_SIZE);
  w.bytes(src, srcOffset, PAGE_SIZE);
  return n;
}

/** ZERO: header, then the fill byte. */
export function writeRamZero(w: StreamWriter, id: Uint8Array | null, offset: number, fill = 0): number {
  const n = pageHeader(w, id, offset, RamFlag.ZERO, 1);
  w.u8(fill);
  return n;
}

/** XBZRLE: header, u8 0x01, be16 len, then `len` encoded bytes from `src[srcOffset..]`. */
export function writeRamXbzrle(w: StreamWriter, id: Uint8Array | null, offset: number, src: Uint8Array, srcOffset: number, len: number): number {
  if (len < 0 || len > PAGE_SIZE) throw new RangeError(`XBZRLE data length ${len} is outside 0..${PAGE_SIZE}`);
  const n = pageHeader(w, id, offset, RamFlag.XBZRLE, 3 + len);
  w.u8(XBZRLE_ENCODING_FLAG);
  w.be16(len);
  w.bytes(src, srcOffset, len);
  return n;
}
