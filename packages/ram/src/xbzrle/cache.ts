import { copyBytes } from './views.js';
import { xbzrleEncode } from './encode.js';
import { WASM_MAX_ARENA, WASM_MAX_PAGE, XbzrleWasm, wasmSupported } from './wasm.js';

/** QEMU's CACHED_PAGE_LIFETIME: a cached page is not replaced by another address for 2 sync cycles. */
export const CACHED_PAGE_LIFETIME = 2;

/** QEMU 7.2's default `xbzrle-cache-size` (64 MiB). */
export const DEFAULT_XBZRLE_CACHE_SIZE = 64 * 1024 * 1024;

/** A cache size QEMU would refuse; `message` is QEMU's text. */
export class XbzrleCacheSizeError extends Error {
  override readonly name = 'XbzrleCacheSizeError';
}

function isPow2(n: number): boolean {
  // works beyond 2^32, where bit operations do not
  return n > 0 && Number.isInteger(Math.log2(n));
}

/** Largest power of two <= n (QEMU's pow2floor); 0 for n < 1. */
export function pow2floor(n: number): number {
  if (!(n >= 1)) return 0;
  let p = 2 ** Math.floor(Math.log2(n));
  if (p > n) p /= 2; // guard against log2 rounding up
  else if (p * 2 <= n) p *= 2;
  return p;
}

/**
 * Checks a cache size as QEMU 7.2 checks `xbzrle-cache-size` in `migrate-set-parameters`
 * (migrate_params_check): a power of two, no less than the target page size. QEMU 7.2 does not compare
 * it with the guest RAM size (observed: 1 TiB is accepted for a 64 MiB guest); pass `guestRamBytes` to
 * add the check of the older `migrate-set-cache-size` command ("cache size exceeds guest ram size"),
 * which QEMU 7.2 no longer has but mig keeps.
 * @throws XbzrleCacheSizeError with QEMU's message.
 */
export function validateXbzrleCacheSize(size: number, guestRamBytes?: number, pageSize = 4096): void {
  if (!Number.isSafeInteger(size) || size < pageSize || !isPow2(size)) {
    throw new XbzrleCacheSizeError(
      "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size",
    );
  }
  if (guestRamBytes !== undefined && size > guestRamBytes) {
    throw new XbzrleCacheSizeError("Parameter 'cache size' expects exceeds guest ram size");
  }
}

/**
 * QEMU's page_cache.c: a direct-mapped cache of whole pages. capacity = pow2floor(cacheBytes / pageSize)
 * slots; slot = (addr / pageSize) % capacity; each slot holds one page's address, age and bytes. All
 * page bytes live in one preallocated arena (`arena`, slot k at `k * pageSize`).
 */
export class XbzrlePageCache {
  readonly pageSize: number;
  /** Number of slots (a power of two). */
  capacity = 0;
  /** The cache size asked for, in bytes. */
  cacheBytes = 0;
  /**
   * Page bytes of every slot; slot k is at `k * pageSize`. Replaced by `resize`. When WebAssembly SIMD
   * is available (and the arena is at most 1 GiB) this is a view of a kernel memory, so the encoder
   * reads cached pages in place.
   */
  arena: Uint8Array = new Uint8Array(0);
  /** One page-sized buffer next to the arena (in the same kernel memory): XbzrlePageEncoder's snapshot. */
  scratchPage: Uint8Array = new Uint8Array(0);
  /** Slots holding a page. */
  numItems = 0;
  private addrs: Float64Array = new Float64Array(0); // -1: empty
  private ages: Float64Array = new Float64Array(0);

  constructor(cacheBytes: number, pageSize = 4096) {
    if (!Number.isInteger(pageSize) || pageSize <= 0) throw new RangeError(`xbzrle cache: bad page size ${pageSize}`);
    this.pageSize = pageSize;
    this.alloc(cacheBytes);
  }

  private alloc(cacheBytes: number): void {
    if (!Number.isSafeInteger(cacheBytes) || cacheBytes < this.pageSize) {
      throw new XbzrleCacheSizeError(`cache size ${cacheBytes} is smaller than the target page size ${this.pageSize}`);
    }
    const cap = pow2floor(Math.floor(cacheBytes / this.pageSize));
    this.cacheBytes = cacheBytes;
    this.capacity = cap;
    const bytes = cap * this.pageSize;
    if (wasmSupported && this.pageSize <= WASM_MAX_PAGE && bytes + this.pageSize <= WASM_MAX_ARENA) {
      const w = new XbzrleWasm(bytes + this.pageSize);
      this.arena = w.arena(0, bytes);
      this.scratchPage = w.arena(bytes, this.pageSize);
    } else {
      this.arena = new Uint8Array(bytes);
      this.scratchPage = new Uint8Array(this.pageSize);
    }
    this.addrs = new Float64Array(cap).fill(-1);
    this.ages = new Float64Array(cap);
    this.numItems = 0;
  }

  /** Slot index of a guest address (`addr` a non-negative integer below 2^53). */
  slotOf(addr: number): number {
    return Math.floor(addr / this.pageSize) % this.capacity;
  }

  /** Arena offset of `addr`'s cached bytes, or -1 when its slot holds another page (or none). */
  lookup(addr: number): number {
    const s = this.slotOf(addr);
    return this.addrs[s] === addr ? s * this.pageSize : -1;
  }

  /** QEMU's cache_is_cached: a hit also refreshes the entry's age. */
  isCached(addr: number, age: number): boolean {
    const s = this.slotOf(addr);
    if (this.addrs[s] !== addr) return false;
    this.ages[s] = age;
    return true;
  }

  /** Age of the entry for `addr`, or -1 when not cached. */
  ageOf(addr: number): number {
    const s = this.slotOf(addr);
    return this.addrs[s] === addr ? this.ages[s]! : -1;
  }

  /**
   * QEMU's cache_insert: copies the page into its slot unless the slot holds another address that is
   * still fresh (its age + CACHED_PAGE_LIFETIME > age). @returns the arena offset, or -1 if not stored.
   */
  insert(addr: number, page: Uint8Array, age: number, pageOff = 0): number {
    if (pageOff < 0 || pageOff + this.pageSize > page.length) {
      throw new RangeError(`xbzrle cache: page [${pageOff}, ${pageOff + this.pageSize}) is outside a ${page.length}-byte buffer`);
    }
    const s = this.slotOf(addr);
    const held = this.addrs[s]!;
    if (held !== -1 && held !== addr && this.ages[s]! + CACHED_PAGE_LIFETIME > age) return -1;
    if (held === -1) this.numItems++;
    const off = s * this.pageSize;
    copyBytes(page, pageOff, this.arena, off, this.pageSize);
    this.addrs[s] = addr;
    this.ages[s] = age;
    return off;
  }

  /**
   * Changes the cache size and keeps the entries that still fit: each goes to its slot in the new
   * layout; when two collide the one with the higher age stays (ties: the first one seen).
   * Note: QEMU 7.2 itself starts from an empty cache after a resize; keeping entries is sound for
   * the wire (a kept entry still equals what the destination holds) and saves cache misses.
   */
  resize(cacheBytes: number): void {
    const oldCap = this.capacity;
    const oldArena = this.arena;
    const oldAddrs = this.addrs;
    const oldAges = this.ages;
    this.alloc(cacheBytes);
    for (let s = 0; s < oldCap; s++) {
      const addr = oldAddrs[s]!;
      if (addr === -1) continue;
      const t = this.slotOf(addr);
      if (this.addrs[t] !== -1 && this.ages[t]! >= oldAges[s]!) continue;
      if (this.addrs[t] === -1) this.numItems++;
      this.arena.set(oldArena.subarray(s * this.pageSize, (s + 1) * this.pageSize), t * this.pageSize);
      this.addrs[t] = addr;
      this.ages[t] = oldAges[s]!;
    }
  }
}

/** The `xbzrle-cache` member of QEMU 7.2's query-migrate reply. */
export interface XbzrleStats {
  'cache-size': number;
  bytes: number;
  pages: number;
  'cache-miss': number;
  'cache-miss-rate': number;
  'encoding-rate': number;
  overflow: number;
}

/** What `XbzrlePageEncoder.encodePage` decided, besides a positive encoded length. */
export const XbzrleResult = {
  /** Cache miss or overflow: send the page as a normal page, from `sendBuf`/`sendOff`. */
  SendNormal: -1,
  /** The page is unchanged since it was last sent: send nothing. */
  Skip: 0,
} as const;

/**
 * Cache + encoder as QEMU 7.2's save_xbzrle_page combines them, with its counters. Pure: the caller
 * writes the records (XBZRLE: flag 0x40, byte 0x01, be16 length, the encoded bytes).
 */
export class XbzrlePageEncoder {
  readonly cache: XbzrlePageCache;
  /** Running counters; `cache-miss-rate` and `encoding-rate` change at `updateRates`. */
  readonly stats: XbzrleStats;
  /**
   * After `encodePage` returned -1: where the page to send as a normal page is. QEMU sends the copy it
   * just cached (so the destination gets exactly the bytes the cache holds), else the guest page.
   */
  sendBuf: Uint8Array = new Uint8Array(0);
  sendOff = 0;
  private missPrev = 0;
  private pagesPrev = 0;
  private bytesPrev = 0;

  constructor(cache: XbzrlePageCache) {
    this.cache = cache;
    this.stats = {
      'cache-size': cache.cacheBytes, bytes: 0, pages: 0, 'cache-miss': 0,
      'cache-miss-rate': 0, 'encoding-rate': 0, overflow: 0,
    };
  }

  /** Resizes the cache (keeping what fits) and reports the new size in the stats. */
  resize(cacheBytes: number): void {
    this.cache.resize(cacheBytes);
    this.stats['cache-size'] = cacheBytes;
  }

  /**
   * One page, as save_xbzrle_page: on a miss, count it, cache the page (unless `lastStage`) and return
   * -1; on a hit, encode against the cached copy into `out[outOff ..]` (limit: one page). 0: unchanged,
   * skip. -1: overflow, send normally (counted; the cache is updated). >0: the encoded length, the cache
   * now holds the new page. `headerBytes` is the size of the page header the writer puts before the
   * XBZRLE record (8, or 9 + idstr length for a new block), for the `bytes` counter as QEMU counts it.
   * `age` is the dirty-sync count (QEMU's ram_counters.dirty_sync_count).
   */
  encodePage(
    addr: number, page: Uint8Array, pageOff: number, age: number,
    out: Uint8Array, outOff: number, lastStage = false, headerBytes = 8,
  ): number {
    const cache = this.cache;
    const ps = cache.pageSize;
    const st = this.stats;
    this.sendBuf = page;
    this.sendOff = pageOff;
    if (!cache.isCached(addr, age)) {
      st['cache-miss']++;
      if (!lastStage) {
        const off = cache.insert(addr, page, age, pageOff);
        if (off >= 0) {
          this.sendBuf = cache.arena;
          this.sendOff = off;
        }
      }
      return XbzrleResult.SendNormal;
    }
    st.pages++;
    const cachedOff = cache.lookup(addr);
    // snapshot the page: the guest may write it while we encode
    const cur = cache.scratchPage;
    copyBytes(page, pageOff, cur, 0, ps);
    const len = xbzrleEncode(cache.arena, cachedOff, cur, 0, ps, out, outOff, ps);
    if (!lastStage && len !== 0) {
      cache.arena.set(cur, cachedOff);
      this.sendBuf = cache.arena;
      this.sendOff = cachedOff;
    }
    if (len === 0) return XbzrleResult.Skip;
    if (len === -1) {
      st.overflow++;
      st.bytes += ps;
      return XbzrleResult.SendNormal;
    }
    st.bytes += headerBytes + 1 + 2 + len - 8;
    return len;
  }

  /**
   * QEMU's xbzrle_cache_zero_page: after a zero page is sent, cache a zero page for it (once XBZRLE is
   * in use, i.e. after the first round, and not in the last stage), so a later change encodes against it.
   */
  cacheZeroPage(addr: number, age: number): void {
    const cur = this.cache.scratchPage;
    cur.fill(0);
    this.cache.insert(addr, cur, age, 0);
  }

  /**
   * QEMU's migration_update_rates, xbzrle part, at each dirty sync: `pagesInPeriod` is the number of
   * target pages handled since the previous call (no change when 0).
   */
  updateRates(pagesInPeriod: number): void {
    if (!pagesInPeriod) return;
    const st = this.stats;
    st['cache-miss-rate'] = (st['cache-miss'] - this.missPrev) / pagesInPeriod;
    this.missPrev = st['cache-miss'];
    const unencoded = (st.pages - this.pagesPrev) * this.cache.pageSize;
    const encoded = st.bytes - this.bytesPrev;
    st['encoding-rate'] = st.pages === this.pagesPrev || !encoded ? 0 : unencoded / encoded;
    this.pagesPrev = st.pages;
    this.bytesPrev = st.bytes;
  }

  /** A copy of the counters in query-migrate's shape. */
  snapshot(): XbzrleStats {
    return { ...this.stats };
  }
}
