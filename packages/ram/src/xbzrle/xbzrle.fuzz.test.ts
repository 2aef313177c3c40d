import { describe, expect, it } from 'vitest';
import { XbzrlePageCache } from './cache.js';
import { xbzrleDecode, XbzrleDecodeError, xbzrleDecodeTs, xbzrleDecodeWasm } from './decode.js';
import { xbzrleEncode, xbzrleEncodeTs, xbzrleEncodeWasm } from './encode.js';
import { isKernelMemory } from './wasm.js';

const P = 4096;
const GUARD = 64;

/** splitmix32-style seeded PRNG (deterministic). */
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

/** Independent, byte-at-a-time reference of QEMU's encoder rules (README), for comparison. */
function referenceEncode(old: Uint8Array, neu: Uint8Array, limit: number): number[] | -1 {
  const out: number[] = [];
  const uleb = (v: number): void => { if (v < 128) out.push(v); else out.push(0x80 | (v & 0x7f), v >> 7); };
  let i = 0;
  while (i < P) {
    if (out.length + 2 > limit) return -1;
    const zs = i;
    while (i < P && old[i] === neu[i]) i++;
    if (i === P) return out;
    uleb(i - zs);
    if (out.length + 2 > limit) return -1;
    const ns = i;
    while (i < P && old[i] !== neu[i]) i++;
    uleb(i - ns);
    if (out.length + (i - ns) > limit) return -1;
    for (let k = ns; k < i; k++) out.push(neu[k]!);
  }
  return out;
}

function randomPair(r: () => number): { old: Uint8Array; neu: Uint8Array } {
  const old = new Uint8Array(P);
  const kind = r() % 3;
  for (let k = 0; k < P; k++) old[k] = kind === 0 ? 0 : kind === 1 ? r() & 0xff : (k * 7) & 0xff;
  const neu = old.slice();
  const style = r() % 5;
  if (style === 4) {
    for (let k = 0; k < P; k++) neu[k] = r() & 0xff;
  } else {
    const runs = [1, 8, 64, 600][style]!;
    const maxLen = [1, 8, 64, 512][style]!;
    for (let j = 0; j < runs; j++) {
      const at = r() % P;
      const len = 1 + (r() % maxLen);
      for (let k = at; k < Math.min(P, at + len); k++) neu[k] = (neu[k]! ^ (1 + (r() % 255))) & 0xff;
    }
  }
  return { old, neu };
}

type Alloc = (slot: number, len: number) => Uint8Array;
const ordinary: Alloc = (_slot, len) => new Uint8Array(len);
/** Buffers inside a kernel memory (a page cache arena), so the wasm code works on them in place. */
const arena = new XbzrlePageCache(16 * P).arena;
const inKernelMemory: Alloc = (slot, len) => arena.subarray(slot * 3 * P + 7, slot * 3 * P + 7 + len);

const IMPLS: Array<[string, typeof xbzrleEncode, typeof xbzrleDecode, Alloc]> = [
  ['ts', xbzrleEncodeTs, xbzrleDecodeTs, ordinary],
  ['wasm', xbzrleEncodeWasm, xbzrleDecodeWasm, ordinary],
  ['default', xbzrleEncode, xbzrleDecode, ordinary],
  ['wasm in-memory', xbzrleEncodeWasm, xbzrleDecodeWasm, inKernelMemory],
];

describe.each(IMPLS)('XBZRLE property tests, %s', (name, xbzrleEncode, xbzrleDecode, alloc) => {
  it('buffers are where the case says', () => {
    expect(isKernelMemory(alloc(0, 8).buffer)).toBe(name === 'wasm in-memory');
  });

  it('encode matches an independent reference and round-trips through decode (2000 random pairs)', () => {
    const r = rng(1);
    const out = new Uint8Array(P);
    const page = alloc(0, P + 2 * GUARD);
    const oldBuf = alloc(1, P);
    const newBuf = alloc(2, P);
    let encoded = 0;
    for (let t = 0; t < 2000; t++) {
      const { old, neu } = randomPair(r);
      oldBuf.set(old);
      newBuf.set(neu);
      const limit = t % 4 === 0 ? 1 + (r() % P) : P;
      const got = xbzrleEncode(oldBuf, 0, newBuf, 0, P, out, 0, limit);
      const ref = referenceEncode(old, neu, limit);
      if (ref === -1) { expect(got).toBe(-1); continue; }
      expect(got).toBe(ref.length);
      expect([...out.subarray(0, got)]).toEqual(ref);
      page.fill(0x3c);
      page.set(old, GUARD);
      xbzrleDecode(out, 0, got, page, GUARD, P);
      expect(Buffer.from(page.subarray(GUARD, GUARD + P)).equals(neu)).toBe(true);
      encoded++;
    }
    expect(encoded).toBeGreaterThan(1000);
  });

  it('decoder: random and mutated inputs only ever throw XbzrleDecodeError and never touch bytes outside the page', () => {
    const r = rng(7);
    const page = alloc(0, P + 2 * GUARD);
    const out = new Uint8Array(P);
    const src = new Uint8Array(P + 64);
    let thrown = 0;
    let ok = 0;
    for (let t = 0; t < 6000; t++) {
      let len: number;
      if (t % 2 === 0) {
        // random bytes, biased to small values so records parse for a while
        len = r() % 300;
        for (let k = 0; k < len; k++) src[k] = r() % 4 === 0 ? r() & 0xff : r() % 40;
      } else {
        // a valid encoding, then mutated: flipped bytes, truncated, extended
        const { old, neu } = randomPair(r);
        const e = xbzrleEncode(old, 0, neu, 0, P, out, 0, P);
        len = Math.max(e, 0);
        src.set(out.subarray(0, len));
        const m = r() % 4;
        if (m === 0 && len > 0) src[r() % len] = r() & 0xff;
        else if (m === 1 && len > 0) len = r() % len;
        else if (m === 2) { const extra = r() % 8; for (let k = 0; k < extra; k++) src[len + k] = r() & 0xff; len += extra; }
        else if (len > 1) { const a = r() % len; src[a] = 0x80 | src[a]!; }
      }
      page.fill(0x3c);
      try {
        const end = xbzrleDecode(src, 0, len, page, GUARD, P);
        expect(end).toBeGreaterThanOrEqual(0);
        expect(end).toBeLessThanOrEqual(P);
        ok++;
      } catch (e) {
        if (!(e instanceof XbzrleDecodeError)) throw e;
        expect(e.offset).toBeGreaterThanOrEqual(0);
        expect(e.offset).toBeLessThanOrEqual(len); // len: "nothing left" after a complete ZLEN
        thrown++;
      }
      for (let k = 0; k < GUARD; k++) {
        if (page[k] !== 0x3c || page[GUARD + P + k] !== 0x3c) throw new Error(`guard byte touched in case ${t}`);
      }
    }
    expect(thrown).toBeGreaterThan(500);
    expect(ok).toBeGreaterThan(500);
  });
});
