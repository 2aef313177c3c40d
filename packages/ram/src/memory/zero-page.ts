import { PAGE_SIZE } from './constants.js';

const WORDS_PER_PAGE = PAGE_SIZE >> 2;

/**
 * Word views over byte arrays, built once per array (per RamBlock, per stream chunk) and found again
 * by identity, so the per-page check allocates nothing. Arrays whose start is not 4-byte aligned map
 * to null and are scanned byte by byte.
 */
const wordViews = new WeakMap<Uint8Array, Int32Array | null>();

/** A 32-bit word view over `bytes` if its start is 4-byte aligned; cached per array. */
export function wordView(bytes: Uint8Array): Int32Array | null {
  let view = wordViews.get(bytes);
  if (view === undefined) {
    view = bytes.byteOffset % 4 === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2) : null;
    wordViews.set(bytes, view);
  }
  return view;
}

/** True when the 4096 bytes at `bytes[offset..]` are all zero. */
export function isZeroPage(bytes: Uint8Array, offset: number): boolean {
  return isFilledPage(bytes, offset, 0);
}

/**
 * True when the 4096 bytes at `bytes[offset..]` all equal `fill` (0..255). Word-wise OR-reduce of
 * XOR against the fill pattern when the page is word aligned; no allocation.
 */
export function isFilledPage(bytes: Uint8Array, offset: number, fill: number): boolean {
  if (offset < 0 || offset + PAGE_SIZE > bytes.length) {
    throw new RangeError(`page at offset ${offset} is outside a ${bytes.length}-byte array`);
  }
  const words = offset % 4 === 0 ? wordView(bytes) : null;
  if (words !== null) {
    const pattern = (fill & 0xff) * 0x01010101;
    const start = offset >> 2;
    const end = start + WORDS_PER_PAGE;
    // Eight words per step with one early exit per step: the exit is rarely taken for data pages
    // but keeps a non-zero page from being scanned to its end.
    for (let i = start; i < end; i += 8) {
      const acc =
        (words[i]! ^ pattern) |
        (words[i + 1]! ^ pattern) |
        (words[i + 2]! ^ pattern) |
        (words[i + 3]! ^ pattern) |
        (words[i + 4]! ^ pattern) |
        (words[i + 5]! ^ pattern) |
        (words[i + 6]! ^ pattern) |
        (words[i + 7]! ^ pattern);
      if (acc !== 0) return false;
    }
    return true;
  }
  const end = offset + PAGE_SIZE;
  for (let i = offset; i < end; i++) if (bytes[i] !== fill) return false;
  return true;
}
