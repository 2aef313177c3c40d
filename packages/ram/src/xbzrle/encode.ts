import { BufferViews, LITTLE_ENDIAN, copyBytes, refreshViews } from './views.js';
import { WASM_MAX_PAGE, encodeWasm, wasmSupported } from './wasm.js';

/**
 * XBZRLE encoder producing exactly the bytes QEMU 7.2's `xbzrle_encode_buffer` produces (see
 * docs/xbzrle-format.md): records of ULEB128 ZLEN, ULEB128 NZLEN and the NZLEN changed bytes of
 * the new page, with maximal runs, no trailing zero run, and QEMU's overflow checks (`d + 2` before
 * each zero run and after each ZLEN, `d + N` after each NZLEN), including the quirk that a complete
 * encoding of `limit - 1` or `limit` bytes followed by an unchanged tail gives -1.
 */

/** Largest value the 2-byte ("small") ULEB128 form holds. */
export const XBZRLE_MAX_RUN = 0x3fff;

/** Run copies longer than this are deferred until the page is known to fit (then done natively). */
const DEFER_MIN = 24;
/**
 * A first zero run (from page offset 0) longer than this many bytes tries one native compare (memcmp)
 * of the rest of the page: identical pages then cost ~one memcmp. Later runs never do (measured: on
 * sparse pages the failed compares cost more than they save).
 */
const NATIVE_SKIP_AFTER = 1024;

const oldV = new BufferViews();
const newV = new BufferViews();
const cmpOld = new BufferViews();
const cmpNew = new BufferViews();
/** Deferred copies: triples (source offset in the new buffer's ArrayBuffer, output position, length). */
let jobs = new Int32Array(3 * 64);

function checkRange(name: string, buf: Uint8Array, off: number, len: number): void {
  if (!Number.isInteger(off) || off < 0 || off + len > buf.length) {
    throw new RangeError(`xbzrle: ${name} range [${off}, ${off + len}) is outside its buffer of ${buf.length} bytes`);
  }
}

/** Index of the first byte in which two 32-bit words differ, given their XOR `x` (non-zero). */
function firstSetByte(x: number): number {
  if (LITTLE_ENDIAN) return (31 - Math.clz32(x & -x)) >> 3;
  return Math.clz32(x) >> 3;
}

/**
 * Encodes `newBuf[newOff .. newOff+pageSize)` against `oldBuf[oldOff .. oldOff+pageSize)` into
 * `out[outOff ..]`, writing at most `outLimit` bytes (and nothing past the encoding).
 * Runs the WebAssembly SIMD kernel when the engine has it (pages inside a kernel memory, such as the
 * XbzrlePageCache arena, are read in place; others are copied in), else the TypeScript encoder.
 * @returns the encoded length; 0 when the pages are identical (nothing written); -1 on overflow
 * (QEMU's rules; `out` then holds partial, meaningless bytes).
 */
export function xbzrleEncode(
  oldBuf: Uint8Array,
  oldOff: number,
  newBuf: Uint8Array,
  newOff: number,
  pageSize: number,
  out: Uint8Array,
  outOff: number,
  outLimit: number,
): number {
  return wasmSupported
    ? xbzrleEncodeWasm(oldBuf, oldOff, newBuf, newOff, pageSize, out, outOff, outLimit)
    : xbzrleEncodeTs(oldBuf, oldOff, newBuf, newOff, pageSize, out, outOff, outLimit);
}

function checkArgs(oldBuf: Uint8Array, oldOff: number, newBuf: Uint8Array, newOff: number, pageSize: number,
  out: Uint8Array, outOff: number, outLimit: number): void {
  if (!Number.isInteger(pageSize) || pageSize <= 0 || pageSize > XBZRLE_MAX_RUN + 1) {
    throw new RangeError(`xbzrle: page size ${pageSize} must be an integer in 1..${XBZRLE_MAX_RUN + 1}`);
  }
  if (!Number.isInteger(outLimit) || outLimit < 0) {
    throw new RangeError(`xbzrle: output limit ${outLimit} must be a non-negative integer`);
  }
  checkRange('old page', oldBuf, oldOff, pageSize);
  checkRange('new page', newBuf, newOff, pageSize);
  checkRange('output', out, outOff, outLimit);
}

/** `xbzrleEncode` on the WebAssembly SIMD kernels (wasm.ts); throws if the engine lacks them. */
export function xbzrleEncodeWasm(
  oldBuf: Uint8Array,
  oldOff: number,
  newBuf: Uint8Array,
  newOff: number,
  pageSize: number,
  out: Uint8Array,
  outOff: number,
  outLimit: number,
): number {
  checkArgs(oldBuf, oldOff, newBuf, newOff, pageSize, out, outOff, outLimit);
  if (pageSize > WASM_MAX_PAGE) throw new RangeError(`xbzrle: page size ${pageSize} is above ${WASM_MAX_PAGE}`);
  const r = encodeWasm(oldBuf, oldOff, newBuf, newOff, pageSize, out, outOff, outLimit);
  if (r === -2) throw new RangeError(`xbzrle: a run of the ${pageSize}-byte page does not fit a 2-byte ULEB128`);
  return r;
}

/** `xbzrleEncode` in plain TypeScript (the reference, and the fallback without WebAssembly SIMD). */
export function xbzrleEncodeTs(
  oldBuf: Uint8Array,
  oldOff: number,
  newBuf: Uint8Array,
  newOff: number,
  pageSize: number,
  out: Uint8Array,
  outOff: number,
  outLimit: number,
): number {
  checkArgs(oldBuf, oldOff, newBuf, newOff, pageSize, out, outOff, outLimit);

  const p = pageSize;
  const oA = oldBuf.byteOffset + oldOff;
  const nA = newBuf.byteOffset + newOff;
  if (oldBuf.buffer !== oldV.ab || oldV.u8.length < oA + p) refreshViews(oldV, oldBuf.buffer);
  if (newBuf.buffer !== newV.ab || newV.u8.length < nA + p) refreshViews(newV, newBuf.buffer);
  const oU8 = oldV.u8;
  const nU8 = newV.u8;
  // Word compares need both pages at the same alignment modulo 4 (QEMU needs 8-byte alignment).
  // (and int32 arithmetic on word indices: pages below 2 GiB into their buffers; beyond, bytes only).
  const wordsOk = ((oA - nA) & 3) === 0 && oA + p < 0x7fffffff && nA + p < 0x7fffffff;
  const o32 = wordsOk ? oldV.i32 : null;
  const n32 = o32 === null ? null : newV.i32;
  const wordDelta = wordsOk ? (nA - oA) >> 2 : 0; // n32 index = o32 index + wordDelta
  if (jobs.length < 3 * ((p >> 1) + 2)) jobs = new Int32Array(3 * ((p >> 1) + 2));
  let nJobs = 0;

  let d = 0; // bytes written, relative to outOff
  let i = 0; // page position
  while (i < p) {
    if (d + 2 > outLimit) return -1;

    // ---- zero run: advance i to the first byte that differs (or p) ----
    const zs = i;
    if (o32 !== null && n32 !== null) {
      while (i < p && ((oA + i) & 3) !== 0 && oU8[oA + i] === nU8[nA + i]) i++;
      if (i < p && ((oA + i) & 3) === 0) {
        let w = (oA + i) >> 2;
        const wEnd = (oA + p) >> 2; // words wholly inside the page: [w, wEnd)
        let tried = zs !== 0;
        for (;;) {
          // 4 words per step while possible
          while (w + 4 <= wEnd &&
            ((o32[w]! ^ n32[w + wordDelta]!) | (o32[w + 1]! ^ n32[w + 1 + wordDelta]!) |
             (o32[w + 2]! ^ n32[w + 2 + wordDelta]!) | (o32[w + 3]! ^ n32[w + 3 + wordDelta]!)) === 0) {
            w += 4;
            if (!tried && (w << 2) - oA >= NATIVE_SKIP_AFTER && (oA + p) - (w << 2) >= 1024) {
              tried = true;
              const from = (w << 2) - oA;
              if (oldBuf.buffer !== cmpOld.ab || cmpOld.u8.length < oA + p) refreshViews(cmpOld, oldBuf.buffer);
              if (newBuf.buffer !== cmpNew.ab || cmpNew.u8.length < nA + p) refreshViews(cmpNew, newBuf.buffer);
              if (cmpOld.buf.compare(cmpNew.buf, nA + from, nA + p, oA + from, oA + p) === 0) {
                w = wEnd;
                break;
              }
            }
          }
          if (w >= wEnd) break;
          const x = o32[w]! ^ n32[w + wordDelta]!;
          if (x !== 0) {
            i = (w << 2) - oA + firstSetByte(x);
            break;
          }
          w++;
        }
        if (w >= wEnd) {
          i = (wEnd << 2) - oA;
          while (i < p && oU8[oA + i] === nU8[nA + i]) i++;
        }
      }
    } else {
      while (i < p && oU8[oA + i] === nU8[nA + i]) i++;
    }
    if (i === p) break; // unchanged to the end of the page (0 if the whole page is unchanged)

    const zrun = i - zs;
    if (zrun < 0x80) {
      out[outOff + d++] = zrun;
    } else {
      out[outOff + d++] = 0x80 | (zrun & 0x7f);
      out[outOff + d++] = zrun >> 7;
    }
    if (d + 2 > outLimit) return -1;

    // ---- nonzero run: advance i to the first byte that is equal again (or p) ----
    const ns = i;
    i++; // byte i is known to differ
    if (o32 !== null && n32 !== null) {
      while (i < p && ((oA + i) & 3) !== 0 && oU8[oA + i] !== nU8[nA + i]) i++;
      if (i < p && ((oA + i) & 3) === 0) {
        let w = (oA + i) >> 2;
        const wEnd = (oA + p) >> 2;
        for (; w < wEnd; w++) {
          const x = o32[w]! ^ n32[w + wordDelta]!;
          // a zero byte of x is an equal byte; the lowest flagged byte is the first zero byte
          const z = (x - 0x01010101) & ~x & 0x80808080;
          if (z !== 0) {
            if (LITTLE_ENDIAN) {
              i = (w << 2) - oA + ((31 - Math.clz32(z & -z)) >> 3);
            } else {
              i = (w << 2) - oA;
              while (oU8[oA + i] !== nU8[nA + i]) i++;
            }
            break;
          }
        }
        if (w >= wEnd) {
          i = (wEnd << 2) - oA;
          while (i < p && oU8[oA + i] !== nU8[nA + i]) i++;
        }
      }
    } else {
      while (i < p && oU8[oA + i] !== nU8[nA + i]) i++;
    }

    const n = i - ns;
    if (n > XBZRLE_MAX_RUN) throw new RangeError(`xbzrle: run of ${n} bytes does not fit a 2-byte ULEB128`);
    if (n < 0x80) {
      out[outOff + d++] = n;
    } else {
      out[outOff + d++] = 0x80 | (n & 0x7f);
      out[outOff + d++] = n >> 7;
    }
    if (d + n > outLimit) return -1;
    const dst = outOff + d;
    if (n <= DEFER_MIN) {
      for (let k = 0; k < n; k++) out[dst + k] = nU8[nA + ns + k]!;
    } else {
      jobs[nJobs] = ns;
      jobs[nJobs + 1] = dst;
      jobs[nJobs + 2] = n;
      nJobs += 3;
    }
    d += n;
  }
  for (let j = 0; j < nJobs; j += 3) copyBytes(newBuf, newOff + jobs[j]!, out, jobs[j + 1]!, jobs[j + 2]!);
  return d;
}
