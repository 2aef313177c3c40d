import { copyBytes } from './views.js';
import { decodeWasm, wasmSupported } from './wasm.js';

/** What was wrong with an XBZRLE encoding. */
export type XbzrleDecodeFault =
  | 'truncated'            // fewer than 2 bytes left where a ZLEN or NZLEN must start
  | 'bad-varint'           // second ULEB128 byte has its top bit set
  | 'zero-zlen'            // ZLEN 0 anywhere but at input offset 0
  | 'zero-run-past-page'   // the zero run goes past the page end
  | 'zero-nzlen'           // NZLEN 0
  | 'run-past-page'        // the nonzero run goes past the page end
  | 'run-past-input';      // the nonzero run's bytes go past the end of the input

/** An XBZRLE encoding QEMU's decoder would refuse (it returns -1); `offset` is relative to the input start. */
export class XbzrleDecodeError extends Error {
  override readonly name = 'XbzrleDecodeError';
  constructor(
    readonly fault: XbzrleDecodeFault,
    readonly offset: number,
    detail: string,
  ) {
    super(`xbzrle: ${detail} at input offset ${offset}`);
  }
}

function checkRange(name: string, buf: Uint8Array, off: number, len: number): void {
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > buf.length) {
    throw new RangeError(`xbzrle: ${name} range [${off}, ${off + len}) is outside its buffer of ${buf.length} bytes`);
  }
}

/**
 * Applies an XBZRLE encoding (`src[srcOff .. srcOff+srcLen)`) to the old page held in
 * `dest[destOff .. destOff+pageSize)`, in place, with QEMU 7.2's `xbzrle_decode_buffer` rules.
 * Never writes outside that page; on error the page may be partly patched (as in QEMU).
 * @returns the page offset just past the last changed byte (0 for an empty input).
 * @throws XbzrleDecodeError naming the input offset and the fault.
 */
export function xbzrleDecode(
  src: Uint8Array,
  srcOff: number,
  srcLen: number,
  dest: Uint8Array,
  destOff: number,
  pageSize: number,
): number {
  checkArgs(src, srcOff, srcLen, dest, destOff, pageSize);
  // Short inputs (few records) are patched fastest by the TS decoder; from WASM_DECODE_MIN_INPUT bytes
  // the wasm kernel wins, even when the page has to be copied into its memory and back.
  if (wasmSupported && srcLen >= WASM_DECODE_MIN_INPUT && pageSize <= WASM_DECODE_MAX_PAGE) {
    const r = decodeWasm(src, srcOff, srcLen, dest, destOff, pageSize);
    if (r >= 0) return r;
  }
  return decodeJs(src, srcOff, srcLen, dest, destOff, pageSize);
}

/** Inputs from this length up go to the wasm decoder even when the page must be copied in and out. */
export const WASM_DECODE_MIN_INPUT = 256;
const WASM_DECODE_MAX_PAGE = 16384;

function checkArgs(src: Uint8Array, srcOff: number, srcLen: number, dest: Uint8Array, destOff: number, pageSize: number): void {
  if (!Number.isInteger(pageSize) || pageSize <= 0) {
    throw new RangeError(`xbzrle: page size ${pageSize} must be a positive integer`);
  }
  checkRange('input', src, srcOff, srcLen);
  checkRange('page', dest, destOff, pageSize);
}

/** `xbzrleDecode` on the WebAssembly SIMD kernel (wasm.ts), for pages up to 16 KiB; throws if the engine lacks it. */
export function xbzrleDecodeWasm(
  src: Uint8Array,
  srcOff: number,
  srcLen: number,
  dest: Uint8Array,
  destOff: number,
  pageSize: number,
): number {
  checkArgs(src, srcOff, srcLen, dest, destOff, pageSize);
  if (pageSize > WASM_DECODE_MAX_PAGE) throw new RangeError(`xbzrle: page size ${pageSize} is above ${WASM_DECODE_MAX_PAGE}`);
  const r = decodeWasm(src, srcOff, srcLen, dest, destOff, pageSize);
  if (r >= 0) return r;
  // -1: a fault (the TS decoder names it, patching the same bytes again); -3: input too long for the scratch area
  return decodeJs(src, srcOff, srcLen, dest, destOff, pageSize);
}

/** `xbzrleDecode` in plain TypeScript (the reference, and the fallback without WebAssembly SIMD). */
export function xbzrleDecodeTs(
  src: Uint8Array,
  srcOff: number,
  srcLen: number,
  dest: Uint8Array,
  destOff: number,
  pageSize: number,
): number {
  checkArgs(src, srcOff, srcLen, dest, destOff, pageSize);
  return decodeJs(src, srcOff, srcLen, dest, destOff, pageSize);
}

/** The TS decoder's loop (arguments already checked). */
function decodeJs(src: Uint8Array, srcOff: number, srcLen: number, dest: Uint8Array, destOff: number, pageSize: number): number {
  // absolute positions: i in src, d in dest
  const iEnd = srcOff + srcLen;
  const dEnd = destOff + pageSize;
  let i = srcOff;
  let d = destOff;
  while (i < iEnd) {
    // ---- ZLEN ----
    if (iEnd - i < 2) throw new XbzrleDecodeError('truncated', i - srcOff, 'truncated record: 1 byte left where a ZLEN and NZLEN must follow');
    const at = i;
    let z = src[i]!;
    if (z < 0x80) {
      if (z === 0 && i !== srcOff) throw new XbzrleDecodeError('zero-zlen', i - srcOff, 'ZLEN 0 not at the start of the input');
      i++;
    } else {
      const hi = src[i + 1]!;
      if (hi >= 0x80) throw new XbzrleDecodeError('bad-varint', i - srcOff, `malformed ZLEN varint (second byte 0x${hi.toString(16)} has its top bit set)`);
      z = (z & 0x7f) | (hi << 7);
      if (z === 0 && i !== srcOff) throw new XbzrleDecodeError('zero-zlen', i - srcOff, 'ZLEN 0 not at the start of the input');
      i += 2;
    }
    d += z;
    if (d > dEnd) {
      throw new XbzrleDecodeError('zero-run-past-page', at - srcOff,
        `zero run of ${z} goes to page offset ${d - destOff}, past the page end ${pageSize}`);
    }

    // ---- NZLEN ----
    if (iEnd - i < 2) throw new XbzrleDecodeError('truncated', i - srcOff, `truncated record: ${iEnd - i} byte(s) left where an NZLEN and its data must follow`);
    const nat = i;
    let n = src[i]!;
    if (n < 0x80) {
      if (n === 0) throw new XbzrleDecodeError('zero-nzlen', i - srcOff, 'NZLEN 0');
      i++;
    } else {
      const hi = src[i + 1]!;
      if (hi >= 0x80) throw new XbzrleDecodeError('bad-varint', i - srcOff, `malformed NZLEN varint (second byte 0x${hi.toString(16)} has its top bit set)`);
      n = (n & 0x7f) | (hi << 7);
      if (n === 0) throw new XbzrleDecodeError('zero-nzlen', i - srcOff, 'NZLEN 0');
      i += 2;
    }
    if (d + n > dEnd || i + n > iEnd) {
      if (d + n > dEnd) throw new XbzrleDecodeError('run-past-page', nat - srcOff, `run of ${n} bytes at page offset ${d - destOff} goes past the page end ${pageSize}`);
      throw new XbzrleDecodeError('run-past-input', nat - srcOff, `run of ${n} bytes goes past the end of the ${srcLen}-byte input`);
    }

    // copy n bytes; short runs with a fixed pattern of (overlapping) byte copies: one size branch
    // instead of a loop whose exit mispredicts
    if (n < 4) {
      dest[d] = src[i]!;
      const h = n >> 1;
      dest[d + h] = src[i + h]!;
      dest[d + n - 1] = src[i + n - 1]!;
    } else if (n <= 8) {
      dest[d] = src[i]!; dest[d + 1] = src[i + 1]!; dest[d + 2] = src[i + 2]!; dest[d + 3] = src[i + 3]!;
      const e = d + n - 4;
      const f = i + n - 4;
      dest[e] = src[f]!; dest[e + 1] = src[f + 1]!; dest[e + 2] = src[f + 2]!; dest[e + 3] = src[f + 3]!;
    } else if (n <= 24) {
      for (let k = 0; k < n; k++) dest[d + k] = src[i + k]!;
    } else {
      copyBytes(src, i, dest, d, n);
    }
    i += n;
    d += n;
  }
  return d - destOff;
}
