import { RdmaProtocolError } from './errors.js';

/**
 * Big-endian field access for the control messages. 64-bit fields (addresses, offsets, lengths) are
 * numbers: a value past 2^53 cannot be an address or a RAM offset mig handles, and is refused by name.
 */

const TWO_32 = 2 ** 32;

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function readU64(view: DataView, offset: number, field: string, record: string, base = 0): number {
  const high = view.getUint32(offset);
  const low = view.getUint32(offset + 4);
  if (high >= 0x200000) {
    throw new RdmaProtocolError(
      `${record}: ${field} 0x${high.toString(16).padStart(8, '0')}${low.toString(16).padStart(8, '0')} at byte ${base + offset} is beyond 2^53`,
      record,
      base + offset,
    );
  }
  return high * TWO_32 + low;
}

export function writeU64(view: DataView, offset: number, value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${field} must be an integer in 0..2^53, got ${value}`);
  view.setUint32(offset, Math.floor(value / TWO_32));
  view.setUint32(offset + 4, value >>> 0);
}

export function writeU32(view: DataView, offset: number, value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= TWO_32) throw new RangeError(`${field} must be a u32, got ${value}`);
  view.setUint32(offset, value);
}
