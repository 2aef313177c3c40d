/**
 * Whole-buffer views (bytes, 32-bit words, Node Buffer) of one ArrayBuffer, made once per buffer and
 * reused while callers keep passing the same buffer, so the per-page codecs allocate nothing.
 */
export class BufferViews {
  ab: ArrayBufferLike | null = null;
  u8: Uint8Array = new Uint8Array(0);
  /** Null when the buffer could not be viewed as 32-bit words. */
  i32: Int32Array | null = null;
  buf: Buffer = Buffer.alloc(0);
}

/** Points `v` at the whole of `ab` (called only when the buffer changes or has grown). */
export function refreshViews(v: BufferViews, ab: ArrayBufferLike): void {
  v.ab = ab;
  v.u8 = new Uint8Array(ab);
  v.buf = Buffer.from(ab as ArrayBuffer, 0, ab.byteLength);
  try {
    v.i32 = new Int32Array(ab, 0, ab.byteLength >>> 2);
  } catch {
    v.i32 = null;
  }
}

/** True on little-endian hosts, where the first byte of a word is its lowest byte. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const copySrc = new BufferViews();
const copyDst = new BufferViews();

/** Copies `len` bytes without allocating: a byte loop for short runs, native memcpy for longer ones. */
export function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, len: number): void {
  if (len <= 24) {
    for (let k = 0; k < len; k++) dst[dstOff + k] = src[srcOff + k]!;
    return;
  }
  const sa = src.byteOffset + srcOff;
  const da = dst.byteOffset + dstOff;
  if (src.buffer !== copySrc.ab || copySrc.u8.length < sa + len) refreshViews(copySrc, src.buffer);
  if (dst.buffer !== copyDst.ab || copyDst.u8.length < da + len) refreshViews(copyDst, dst.buffer);
  copySrc.buf.copy(copyDst.buf, da, sa, sa + len);
}
