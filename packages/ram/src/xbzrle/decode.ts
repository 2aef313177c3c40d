import { copyBytes } from './views.js';

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
  if (!Number.isInteger(pageSize) || pageSize <= 0) {
    throw new RangeError(`xbzrle: page size ${pageSize} must be a positive integer`);
  }
  checkRange('input', src, srcOff, srcLen);
  checkRange('page', dest, destOff, pageSize);

  let i = 0; // input position, relative to srcOff
  let d = 0; // page position
  while (i < srcLen) {
    // ---- ZLEN ----
    if (srcLen - i < 2) throw new XbzrleDecodeError('truncated', i, 'truncated record: 1 byte left where a ZLEN and NZLEN must follow');
    const at = i;
    let z = src[srcOff + i]!;
    if (z < 0x80) {
      i++;
    } else {
      const hi = src[srcOff + i + 1]!;
      if (hi >= 0x80) throw new XbzrleDecodeError('bad-varint', at, `malformed ZLEN varint (second byte 0x${hi.toString(16)} has its top bit set)`);
      z = (z & 0x7f) | (hi << 7);
      i += 2;
    }
    if (z === 0 && at !== 0) throw new XbzrleDecodeError('zero-zlen', at, 'ZLEN 0 not at the start of the input');
    d += z;
    if (d > pageSize) throw new XbzrleDecodeError('zero-run-past-page', at, `zero run of ${z} goes to page offset ${d}, past the page end ${pageSize}`);

    // ---- NZLEN ----
    if (srcLen - i < 2) throw new XbzrleDecodeError('truncated', i, `truncated record: ${srcLen - i} byte(s) left where an NZLEN and its data must follow`);
    const nat = i;
    let n = src[srcOff + i]!;
    if (n < 0x80) {
      i++;
    } else {
      const hi = src[srcOff + i + 1]!;
      if (hi >= 0x80) throw new XbzrleDecodeError('bad-varint', nat, `malformed NZLEN varint (second byte 0x${hi.toString(16)} has its top bit set)`);
      n = (n & 0x7f) | (hi << 7);
      i += 2;
    }
    if (n === 0) throw new XbzrleDecodeError('zero-nzlen', nat, 'NZLEN 0');
    if (d + n > pageSize) throw new XbzrleDecodeError('run-past-page', nat, `run of ${n} bytes at page offset ${d} goes past the page end ${pageSize}`);
    if (i + n > srcLen) throw new XbzrleDecodeError('run-past-input', nat, `run of ${n} bytes goes past the end of the ${srcLen}-byte input`);

    if (n <= 24) {
      const s = srcOff + i;
      const t = destOff + d;
      for (let k = 0; k < n; k++) dest[t + k] = src[s + k]!;
    } else {
      copyBytes(src, srcOff + i, dest, destOff + d, n);
    }
    i += n;
    d += n;
  }
  return d;
}
