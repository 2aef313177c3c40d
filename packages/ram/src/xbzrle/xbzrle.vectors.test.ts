import { describe, expect, it } from 'vitest';
import { XbzrlePageCache } from './cache.js';
import { xbzrleDecode, xbzrleDecodeTs, xbzrleDecodeWasm } from './decode.js';
import { xbzrleEncode, xbzrleEncodeTs, xbzrleEncodeWasm } from './encode.js';
import { isKernelMemory, wasmSupported } from './wasm.js';
import { loadVectors } from '../../test/qemu-vectors.js';

const vectors = loadVectors();

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

type Enc = typeof xbzrleEncode;
type Dec = typeof xbzrleDecode;

// Pages inside a kernel memory (the page cache's arena), so the wasm paths use them in place.
const arena = new XbzrlePageCache(8 * 4096).arena;
const inMemoryEnc: Enc = (o, oo, n, no, p, out, outOff, lim) => {
  arena.set(o.subarray(oo, oo + p), 4096 + 3);
  arena.set(n.subarray(no, no + p), 3 * 4096 + 5);
  return xbzrleEncode(arena, 4096 + 3, arena, 3 * 4096 + 5, p, out, outOff, lim);
};
/** Decodes into a page in the arena (copied in and out, so callers see an ordinary buffer). */
const inMemoryDec: Dec = (src, srcOff, srcLen, dest, destOff, p) => {
  const at = 5 * 4096 + 1;
  arena.set(dest.subarray(destOff, destOff + p), at);
  try {
    return xbzrleDecodeWasm(src, srcOff, srcLen, arena, at, p);
  } finally {
    dest.set(arena.subarray(at, at + p), destOff);
  }
};

/** Every implementation runs every vector: the TS reference, the wasm kernels, what the API picks, and pages in a kernel memory. */
const IMPLS: Array<[string, Enc, Dec]> = [
  ['ts', xbzrleEncodeTs, xbzrleDecodeTs],
  ['wasm', xbzrleEncodeWasm, xbzrleDecodeWasm],
  ['default', xbzrleEncode, xbzrleDecode],
  ['wasm in-memory', inMemoryEnc, inMemoryDec],
];

describe(`QEMU XBZRLE vectors (XBZV1)`, () => {
  it('has the 3059 vectors the README describes', () => {
    expect(vectors.length).toBe(3059);
    expect(vectors.filter((v) => v.encLen === 0).length).toBe(16);
    expect(vectors.filter((v) => v.encLen === -1).length).toBe(305);
    expect(vectors.filter((v) => v.encLen === 4096).length).toBe(10);
  });

  it('the WebAssembly SIMD kernels run on this engine, and the cache arena is kernel memory', () => {
    expect(wasmSupported).toBe(true);
    expect(isKernelMemory(arena.buffer)).toBe(true);
  });
});

describe.each(IMPLS)('QEMU XBZRLE vectors (XBZV1), %s', (_name, xbzrleEncode, xbzrleDecode) => {
  it('decode(old, enc) gives new for every vector with enc_len >= 0', () => {
    const page = new Uint8Array(4096 + 64);
    const bad: number[] = [];
    for (const v of vectors) {
      if (v.encLen < 0) continue;
      page.fill(0xa5);
      page.set(v.old, 32);
      const end = xbzrleDecode(v.enc, 0, v.encLen, page, 32, v.pageSize);
      const ok = Buffer.from(page.subarray(32, 32 + v.pageSize)).equals(v.neu) &&
        page.subarray(0, 32).every((b) => b === 0xa5) && page.subarray(32 + v.pageSize).every((b) => b === 0xa5);
      // the return value is the end of the last change
      let last = 0;
      for (let k = 0; k < v.pageSize; k++) if (v.old[k] !== v.neu[k]) last = k + 1;
      if (!ok || end !== last) bad.push(v.index);
    }
    expect(bad).toEqual([]);
  });

  it('encode(old, new) gives QEMU\'s bytes exactly, and -1 exactly where QEMU overflows', () => {
    const out = new Uint8Array(8192);
    const bad: string[] = [];
    for (const v of vectors) {
      out.fill(0);
      const r = xbzrleEncode(v.old, 0, v.neu, 0, v.pageSize, out, 0, v.pageSize);
      if (r !== v.encLen) { bad.push(`#${v.index}: got ${r}, QEMU ${v.encLen}`); continue; }
      if (r > 0 && hex(out.subarray(0, r)) !== hex(v.enc)) bad.push(`#${v.index}: bytes differ`);
      if (out.subarray(v.pageSize).some((b) => b !== 0)) bad.push(`#${v.index}: wrote past the output limit`);
    }
    expect(bad).toEqual([]);
  });

  it('gives the same answers for unaligned and differently aligned pages (byte paths)', () => {
    const out = new Uint8Array(4100);
    const bad: number[] = [];
    const oldB = new Uint8Array(4096 + 16);
    const newB = new Uint8Array(4096 + 16);
    for (const v of vectors) {
      if (v.index % 3 !== 0) continue;
      const oo = 1 + (v.index % 7);
      const no = v.index % 5;
      oldB.set(v.old, oo);
      newB.set(v.neu, no);
      const r = xbzrleEncode(oldB, oo, newB, no, v.pageSize, out, 3, v.pageSize);
      if (r !== v.encLen || (r > 0 && hex(out.subarray(3, 3 + r)) !== hex(v.enc))) bad.push(v.index);
    }
    expect(bad).toEqual([]);
  });
});
