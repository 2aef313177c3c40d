/**
 * Buffer views over Uint8Arrays, made once per array and found again by identity, so copying a page
 * between long-lived arrays (guest RAM, stream chunks) creates no view per page in our code.
 */
const bufferViews = new WeakMap<Uint8Array, Buffer>();

function asBuffer(bytes: Uint8Array): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  let b = bufferViews.get(bytes);
  if (b === undefined) {
    b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    bufferViews.set(bytes, b);
  }
  return b;
}

/** Copies `len` bytes from `src[srcOffset..]` to `dst[dstOffset..]` (memmove semantics). */
export function copyBytes(src: Uint8Array, srcOffset: number, dst: Uint8Array, dstOffset: number, len: number): void {
  asBuffer(src).copy(dst, dstOffset, srcOffset, srcOffset + len);
}
