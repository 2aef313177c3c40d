import { describe, expect, it } from 'vitest';
import { XbzrlePageCache, XbzrlePageEncoder } from './cache.js';
import { XbzrleDecodeError, xbzrleDecodeTs } from './decode.js';
import { xbzrleEncodeTs, xbzrleEncodeWasm } from './encode.js';
import { decodeWasm, isKernelMemory, wasmSupported } from './wasm.js';
import { xbzrleWasmBytes } from './wasm-kernels.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A pair of pages of `p` bytes with changes in runs of random lengths (`density` of the bytes). */
function pagePair(r: () => number, p: number): { old: Uint8Array; neu: Uint8Array } {
  const old = new Uint8Array(p);
  for (let k = 0; k < p; k++) old[k] = r() & 0xff;
  const neu = old.slice();
  const style = r() % 4;
  const runs = style === 0 ? 0 : style === 1 ? 1 + (r() % 4) : style === 2 ? 1 + (r() % (p / 4 + 1)) : p;
  const maxLen = [1, 300, 8, 1][style]!;
  for (let j = 0; j < runs; j++) {
    const at = r() % p;
    const len = 1 + (r() % maxLen);
    for (let k = at; k < Math.min(p, at + len); k++) neu[k] = (neu[k]! ^ (1 + (r() % 255))) & 0xff;
  }
  return { old, neu };
}

describe('XBZRLE WebAssembly kernels', () => {
  it('the module is assembled, validated and usable on this engine', () => {
    const bytes = xbzrleWasmBytes();
    expect([...bytes.subarray(0, 4)]).toEqual([0x00, 0x61, 0x73, 0x6d]);
    const WA = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly;
    expect(WA.validate(bytes)).toBe(true);
    expect(wasmSupported).toBe(true);
  });

  it('encoder agrees with the TS encoder on odd page sizes, offsets and limits (ts and wasm, ordinary and in-memory buffers)', () => {
    const r = rng(11);
    const sizes = [1, 2, 3, 15, 16, 17, 31, 63, 64, 65, 127, 128, 129, 200, 1000, 4095, 4096, 8192, 16384];
    const arena = new XbzrlePageCache(64 * 1024).arena;
    const outT = new Uint8Array(40000);
    const outW = new Uint8Array(40000);
    let thrown = 0;
    for (const p of sizes) {
      for (let t = 0; t < 40; t++) {
        const { old, neu } = pagePair(r, p);
        if (p === 16384 && t % 4 === 3) for (let k = 0; k < p; k++) neu[k] = old[k]! ^ 0xff; // a 16384-byte run throws
        const limit = t % 3 === 0 ? r() % (2 * p + 8) : t % 3 === 1 ? p : 40000 - 8;
        const oo = r() % 8;
        const no = r() % 8;
        const oB = new Uint8Array(p + 8);
        const nB = new Uint8Array(p + 8);
        oB.set(old, oo);
        nB.set(neu, no);
        let ts: number | string;
        try { ts = xbzrleEncodeTs(oB, oo, nB, no, p, outT, 3, limit); } catch (e) { ts = (e as Error).name; }
        outW.fill(0x5a);
        let wa: number | string;
        try { wa = xbzrleEncodeWasm(oB, oo, nB, no, p, outW, 3, limit); } catch (e) { wa = (e as Error).name; }
        expect(wa, `p=${p} t=${t}`).toBe(ts);
        if (typeof ts === 'string') thrown++;
        if (typeof ts === 'number' && ts > 0) {
          expect(Buffer.from(outW.subarray(3, 3 + ts)).equals(outT.subarray(3, 3 + ts))).toBe(true);
          expect(outW[2]).toBe(0x5a);
          expect(outW[3 + ts]).toBe(0x5a); // nothing written past the encoding
        }
        // the same pages inside a kernel memory, used in place
        arena.set(old, 5);
        arena.set(neu, 20000 + 9);
        let inMem: number | string;
        try { inMem = xbzrleEncodeWasm(arena, 5, arena, 20009, p, outW, 3, limit); } catch (e) { inMem = (e as Error).name; }
        expect(inMem, `in-memory p=${p} t=${t}`).toBe(ts);
        if (typeof ts === 'number' && ts > 0) expect(Buffer.from(outW.subarray(3, 3 + ts)).equals(outT.subarray(3, 3 + ts))).toBe(true);
      }
    }
    expect(thrown).toBeGreaterThan(3);
  });

  it('the decode kernel itself accepts exactly what the TS decoder accepts, with the same result, never writing outside the page', () => {
    const r = rng(5);
    const P = 4096;
    const GUARD = 32;
    const arena = new XbzrlePageCache(4 * P).arena;
    const inMem = arena.subarray(100, 100 + P + 2 * GUARD);
    const ordinary = new Uint8Array(P + 2 * GUARD);
    const ref = new Uint8Array(P + 2 * GUARD);
    const src = new Uint8Array(2 * P);
    const enc = new Uint8Array(2 * P);
    let accepted = 0;
    let rejected = 0;
    for (let t = 0; t < 4000; t++) {
      const { old, neu } = pagePair(r, P);
      let len = Math.max(0, xbzrleEncodeTs(old, 0, neu, 0, P, enc, 0, 2 * P));
      src.set(enc.subarray(0, len));
      const m = r() % 5;
      if (m === 1 && len > 0) src[r() % len] = r() & 0xff;
      else if (m === 2 && len > 0) len = r() % len;
      else if (m === 3) { const extra = 1 + (r() % 6); for (let k = 0; k < extra; k++) src[len + k] = r() % 3 === 0 ? 0 : r() & 0xff; len += extra; }
      else if (m === 4 && len > 1) { const a = r() % len; src[a] = 0x80 | src[a]!; }
      ref.fill(0x3c);
      ref.set(old, GUARD);
      let want: number | string;
      try { want = xbzrleDecodeTs(src, 0, len, ref, GUARD, P); } catch (e) { want = (e as XbzrleDecodeError).fault; }
      for (const page of [ordinary, inMem]) {
        page.fill(0x3c);
        page.set(old, GUARD);
        const got = decodeWasm(src, 0, len, page, GUARD, P);
        if (typeof want === 'number') {
          expect(got, `case ${t}`).toBe(want);
          expect(Buffer.from(page).equals(ref)).toBe(true);
        } else {
          expect(got, `case ${t} (${want})`).toBe(-1);
          for (let k = 0; k < GUARD; k++) expect(page[k] === 0x3c && page[GUARD + P + k] === 0x3c).toBe(true);
        }
      }
      if (typeof want === 'number') accepted++; else rejected++;
    }
    expect(accepted).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
  });

  it('the page cache keeps its arena and snapshot page in one kernel memory, also after a resize', () => {
    const c = new XbzrlePageCache(16 * 4096);
    expect(isKernelMemory(c.arena.buffer)).toBe(true);
    expect(c.scratchPage.buffer).toBe(c.arena.buffer);
    expect(c.scratchPage.byteOffset).toBeGreaterThanOrEqual(c.arena.byteOffset + c.arena.length);
    const before = c.arena.buffer;
    c.resize(32 * 4096);
    expect(c.arena.buffer).not.toBe(before);
    expect(isKernelMemory(c.arena.buffer)).toBe(true);
    expect(c.scratchPage.buffer).toBe(c.arena.buffer);
    // the encoder uses the cache's current snapshot page
    const enc = new XbzrlePageEncoder(c);
    const page = new Uint8Array(4096).fill(7);
    const out = new Uint8Array(4096);
    expect(enc.encodePage(0, page, 0, 1, out, 0)).toBe(-1); // miss: cached
    page[100] = 8;
    expect(enc.encodePage(0, page, 0, 2, out, 0)).toBe(3);
    expect([...out.subarray(0, 3)]).toEqual([100, 1, 8]);
    c.resize(8 * 4096);
    page[200] = 9;
    // the resize kept the entry (it moved to a new memory): only byte 200 differs from it
    expect(enc.encodePage(0, page, 0, 3, out, 0)).toBe(4);
    expect([...out.subarray(0, 4)]).toEqual([0x80 | (200 & 0x7f), 200 >> 7, 1, 9]);
  });
});
