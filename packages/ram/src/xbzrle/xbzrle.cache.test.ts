import { describe, expect, it } from 'vitest';
import {
  XbzrleCacheSizeError, XbzrlePageCache, XbzrlePageEncoder, pow2floor, validateXbzrleCacheSize,
} from './cache.js';
import { xbzrleDecode } from './decode.js';

const P = 4096;
const page = (fill: number): Uint8Array => new Uint8Array(P).fill(fill);

describe('XbzrlePageCache', () => {
  it('capacity is pow2floor(size / page size); slot = (addr / page) % capacity', () => {
    expect(pow2floor(1)).toBe(1);
    expect(pow2floor(5)).toBe(4);
    expect(pow2floor(2 ** 40 + 3)).toBe(2 ** 40);
    const c = new XbzrlePageCache(5 * P);
    expect(c.capacity).toBe(4);
    expect(c.arena.length).toBe(4 * P);
    expect(c.slotOf(0)).toBe(0);
    expect(c.slotOf(3 * P)).toBe(3);
    expect(c.slotOf(4 * P)).toBe(0);
    expect(c.slotOf(2 ** 40 + 6 * P)).toBe(2);
  });

  it('lookup hits only when the slot holds that address; insert copies into the arena', () => {
    const c = new XbzrlePageCache(4 * P);
    expect(c.lookup(P)).toBe(-1);
    const src = new Uint8Array(P + 10).fill(9, 10);
    expect(c.insert(P, src, 1, 10)).toBe(P);
    src.fill(0); // the cache holds a copy
    expect(c.lookup(P)).toBe(P);
    expect(c.arena.subarray(P, 2 * P).every((b) => b === 9)).toBe(true);
    expect(c.lookup(5 * P)).toBe(-1); // same slot, other address
    expect(c.numItems).toBe(1);
  });

  it('a fresh page is not replaced by another address for CACHED_PAGE_LIFETIME syncs (QEMU cache_insert)', () => {
    const c = new XbzrlePageCache(4 * P);
    c.insert(0, page(1), 10);
    expect(c.insert(4 * P, page(2), 11)).toBe(-1);
    expect(c.lookup(0)).toBe(0);
    expect(c.insert(4 * P, page(2), 12)).toBe(0);
    expect(c.lookup(0)).toBe(-1);
    expect(c.lookup(4 * P)).toBe(0);
    expect(c.insert(4 * P, page(3), 12)).toBe(0); // same address: always updated
    expect(c.arena[0]).toBe(3);
  });

  it('isCached refreshes the age', () => {
    const c = new XbzrlePageCache(4 * P);
    c.insert(P, page(1), 1);
    expect(c.isCached(P, 7)).toBe(true);
    expect(c.ageOf(P)).toBe(7);
    expect(c.isCached(5 * P, 8)).toBe(false);
    expect(c.ageOf(P)).toBe(7);
  });

  it('resize keeps entries that still fit, the newer one on collision', () => {
    const c = new XbzrlePageCache(8 * P);
    for (let k = 0; k < 8; k++) c.insert(k * P, page(k + 1), k);
    c.resize(4 * P);
    expect(c.capacity).toBe(4);
    // slots k and k+4 collide; the higher age (k+4) wins
    for (let k = 0; k < 4; k++) {
      expect(c.lookup(k * P)).toBe(-1);
      expect(c.lookup((k + 4) * P)).toBe(k * P);
      expect(c.arena[k * P]).toBe(k + 5);
    }
    c.resize(16 * P);
    for (let k = 4; k < 8; k++) expect(c.arena[c.lookup(k * P)]).toBe(k + 1);
    expect(c.numItems).toBe(4);
  });
});

describe('validateXbzrleCacheSize (QEMU 7.2 migrate_params_check)', () => {
  it('accepts powers of two >= page size, refuses the rest with QEMU\'s message', () => {
    for (const ok of [4096, 8192, 64 * 1024 * 1024, 2 ** 40]) expect(() => validateXbzrleCacheSize(ok)).not.toThrow();
    for (const bad of [0, -4096, 1000, 2048, 5000, 12288, 4096.5, Number.NaN]) {
      expect(() => validateXbzrleCacheSize(bad)).toThrow(XbzrleCacheSizeError);
      expect(() => validateXbzrleCacheSize(bad)).toThrow(
        "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size",
      );
    }
  });
  it('with a guest RAM size (legacy migrate-set-cache-size), refuses a cache larger than guest RAM', () => {
    expect(() => validateXbzrleCacheSize(2 ** 27, 2 ** 26)).toThrow(/exceeds guest ram size/);
    expect(() => validateXbzrleCacheSize(2 ** 26, 2 ** 26)).not.toThrow();
  });
});

describe('XbzrlePageEncoder (save_xbzrle_page)', () => {
  it('miss -> cache and send normally; unchanged -> skip; change -> encoded; overflow -> counted; stats', () => {
    const enc = new XbzrlePageEncoder(new XbzrlePageCache(16 * P));
    const out = new Uint8Array(P);
    const guest = new Uint8Array(4 * P);
    guest.fill(7, P, 2 * P);

    expect(enc.encodePage(P, guest, P, 1, out, 0)).toBe(-1);
    expect(enc.stats['cache-miss']).toBe(1);
    expect(enc.sendBuf).toBe(enc.cache.arena); // send the cached copy
    expect(enc.cache.lookup(P)).toBeGreaterThanOrEqual(0);

    expect(enc.encodePage(P, guest, P, 2, out, 0)).toBe(0); // unchanged
    expect(enc.stats.pages).toBe(1);

    guest[P + 100] = 1;
    const n = enc.encodePage(P, guest, P, 3, out, 0);
    expect(n).toBe(3); // 100, 1, 0x01
    expect([...out.subarray(0, n)]).toEqual([100, 1, 1]);
    const dest = new Uint8Array(P).fill(7);
    xbzrleDecode(out, 0, n, dest, 0, P);
    expect(Buffer.from(dest).equals(Buffer.from(guest.subarray(P, 2 * P)))).toBe(true);
    expect(enc.cache.arena[enc.cache.lookup(P) + 100]).toBe(1); // cache follows what was sent
    expect(enc.stats.bytes).toBe(3 + 3); // 8-byte header not counted: +1 flag +2 len + 3

    for (let k = 0; k < P; k++) guest[P + k] = (k * 31 + 5) & 0xff;
    expect(enc.encodePage(P, guest, P, 4, out, 0)).toBe(-1);
    expect(enc.stats.overflow).toBe(1);
    expect(enc.stats.bytes).toBe(6 + P);
    expect(enc.stats.pages).toBe(3);
    expect(Buffer.from(enc.cache.arena.subarray(enc.sendOff, enc.sendOff + P)).equals(Buffer.from(guest.subarray(P, 2 * P)))).toBe(true);

    // last stage: a miss is not cached
    expect(enc.encodePage(3 * P, guest, 3 * P, 5, out, 0, true)).toBe(-1);
    expect(enc.cache.lookup(3 * P)).toBe(-1);
    expect(enc.sendBuf).toBe(guest);
    expect(enc.stats['cache-miss']).toBe(2);

    enc.updateRates(10);
    expect(enc.stats['cache-miss-rate']).toBeCloseTo(2 / 10);
    expect(enc.stats['encoding-rate']).toBeCloseTo((3 * P) / (6 + P));
    enc.updateRates(5);
    expect(enc.stats['cache-miss-rate']).toBe(0);
    expect(enc.stats['encoding-rate']).toBe(0);
    expect(enc.snapshot()['cache-size']).toBe(16 * P);
  });

  it('cacheZeroPage lets a later change of a zero page encode against zeros', () => {
    const enc = new XbzrlePageEncoder(new XbzrlePageCache(4 * P));
    enc.cacheZeroPage(0, 1);
    const guest = new Uint8Array(P);
    guest[10] = 5;
    const out = new Uint8Array(P);
    expect(enc.encodePage(0, guest, 0, 2, out, 0)).toBe(3);
  });
});
