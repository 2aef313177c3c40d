/** Big-endian reads and string views over stream bytes (no copies beyond the string itself). */

export function be32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/** be64 as a number; exact up to 2^53 (stream offsets and sizes), callers bound what they accept. */
export function be64(b: Uint8Array, p: number): number {
  return be32(b, p) * 0x100000000 + be32(b, p + 4);
}

/** be64 as a signed 64-bit bigint (clock offsets). */
export function be64Signed(b: Uint8Array, p: number): bigint {
  return BigInt.asIntN(64, (BigInt(be32(b, p)) << 32n) | BigInt(be32(b, p + 4)));
}

export function latin1(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}

export function utf8(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
}

export const hex = (v: number): string => '0x' + v.toString(16);

/**
 * Stream bytes b[start..end) (a name the stream claims: an idstr, a drive, a machine) for an error message:
 * printable ASCII as it is, other bytes as \xNN, at most `max` bytes shown, so that garbage from a hostile
 * stream neither floods a log nor puts control characters into it.
 */
export function printable(b: Uint8Array, start: number, end: number, max = 64): string {
  let out = '';
  const stop = Math.min(end, start + max);
  for (let i = start; i < stop; i++) {
    const c = b[i]!;
    out += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return end - start > max ? `${out}... (${end - start} bytes)` : out;
}

/**
 * Copies `len` bytes from `src[srcOffset..]` to `dst[dstOffset..]` (memmove semantics) through a Buffer view
 * made once per source array and found again by identity, so copying a page between long-lived arrays (guest
 * RAM, stream chunks) creates no view per page.
 */
const bufferViews = new WeakMap<Uint8Array, Buffer>();

export function copyBytes(src: Uint8Array, srcOffset: number, dst: Uint8Array, dstOffset: number, len: number): void {
  let b: Buffer | undefined = Buffer.isBuffer(src) ? src : bufferViews.get(src);
  if (b === undefined) {
    b = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
    bufferViews.set(src, b);
  }
  b.copy(dst, dstOffset, srcOffset, srcOffset + len);
}
