/** The unit of a RAM dirty bitmap: one x86 target page. */
const PAGE_SIZE = 4096;

/**
 * One bit per unit — a 4 KiB page of RAM by default, a 1 MiB chunk of a disk for block migration — over an
 * Int32Array. The array may live on a SharedArrayBuffer: then every
 * mutation goes through Atomics, so another thread may set bits (`Atomics.or`) while this one harvests
 * them. A bitmap on a plain ArrayBuffer uses ordinary loads and stores.
 */
export class DirtyBitmap {
  /** Units (pages, chunks) covered. */
  readonly pages: number;
  readonly words: Int32Array;
  readonly shared: boolean;
  /** Bytes per bit, for markRange: 4096 (a page) unless given. */
  readonly unitBytes: number;

  /**
   * @param pages number of pages covered.
   * @param buffer optional backing store (e.g. a SharedArrayBuffer another thread also maps);
   *   at least `DirtyBitmap.byteLengthFor(pages)` bytes. Defaults to a new zeroed ArrayBuffer.
   */
  constructor(pages: number, buffer?: ArrayBufferLike, byteOffset = 0, unitBytes = PAGE_SIZE) {
    if (!Number.isSafeInteger(unitBytes) || unitBytes <= 0) throw new RangeError(`dirty bitmap: bad unit of ${unitBytes} bytes`);
    this.unitBytes = unitBytes;
    if (!Number.isSafeInteger(pages) || pages < 0) throw new RangeError(`dirty bitmap: bad page count ${pages}`);
    const nwords = (pages + 31) >>> 5;
    const backing = buffer ?? new ArrayBuffer(nwords * 4);
    if (byteOffset % 4 !== 0 || backing.byteLength - byteOffset < nwords * 4) {
      throw new RangeError(`dirty bitmap: buffer too small or unaligned for ${pages} pages`);
    }
    this.pages = pages;
    this.words = new Int32Array(backing, byteOffset, nwords);
    this.shared = typeof SharedArrayBuffer !== 'undefined' && backing instanceof SharedArrayBuffer;
  }

  /** A bitmap over a new SharedArrayBuffer. */
  static createShared(pages: number, unitBytes = PAGE_SIZE): DirtyBitmap {
    return new DirtyBitmap(pages, new SharedArrayBuffer(DirtyBitmap.byteLengthFor(pages)), 0, unitBytes);
  }

  static byteLengthFor(pages: number): number {
    return ((pages + 31) >>> 5) * 4;
  }

  private checkPage(page: number): void {
    if (!(page >= 0 && page < this.pages)) throw new RangeError(`page ${page} outside bitmap of ${this.pages} pages`);
  }

  set(page: number): void {
    this.checkPage(page);
    const w = page >>> 5;
    const m = 1 << (page & 31);
    if (this.shared) Atomics.or(this.words, w, m);
    else this.words[w]! |= m;
  }

  test(page: number): boolean {
    this.checkPage(page);
    const v = this.shared ? Atomics.load(this.words, page >>> 5) : this.words[page >>> 5]!;
    return (v & (1 << (page & 31))) !== 0;
  }

  /** Clears the bit of `page` and tells whether it was set. */
  testAndClear(page: number): boolean {
    this.checkPage(page);
    const w = page >>> 5;
    const m = 1 << (page & 31);
    if (this.shared) return (Atomics.and(this.words, w, ~m) & m) !== 0;
    const old = this.words[w]!;
    this.words[w] = old & ~m;
    return (old & m) !== 0;
  }

  /** Marks every page as dirty (bits past `pages` stay clear). */
  setAll(): void {
    this.setWordRange(0, this.pages);
  }

  clearAll(): void {
    if (this.shared) for (let i = 0; i < this.words.length; i++) Atomics.store(this.words, i, 0);
    else this.words.fill(0);
  }

  /** Marks the pages touched by the byte range [byteOffset, byteOffset + len). */
  markRange(byteOffset: number, len: number): void {
    if (len <= 0) return;
    if (byteOffset < 0 || byteOffset + len > this.pages * this.unitBytes) {
      throw new RangeError(`byte range ${byteOffset}+${len} outside bitmap of ${this.pages} pages`);
    }
    this.setWordRange(Math.floor(byteOffset / this.unitBytes), Math.floor((byteOffset + len - 1) / this.unitBytes) + 1);
  }

  /** Sets pages [first, end). */
  private setWordRange(first: number, end: number): void {
    const words = this.words;
    let p = first;
    while (p < end) {
      const w = p >>> 5;
      const lo = p & 31;
      const n = Math.min(32 - lo, end - p);
      const m = n === 32 ? -1 : ((1 << n) - 1) << lo;
      if (this.shared) Atomics.or(words, w, m);
      else words[w]! |= m;
      p += n;
    }
  }

  /** Number of set bits. */
  count(): number {
    const words = this.words;
    let n = 0;
    for (let i = 0; i < words.length; i++) {
      const v = words[i]!;
      if (v !== 0) n += popcount32(v);
    }
    return n;
  }

  /** First set page ≥ `fromPage`, or -1. Skips zero words 32 pages at a time. */
  nextSet(fromPage: number): number {
    if (fromPage >= this.pages) return -1;
    if (fromPage < 0) fromPage = 0;
    const words = this.words;
    let w = fromPage >>> 5;
    let v = words[w]! & (-1 << (fromPage & 31));
    const nwords = words.length;
    while (v === 0) {
      if (++w >= nwords) return -1;
      v = words[w]!;
    }
    const page = (w << 5) + (31 - Math.clz32(v & -v));
    return page < this.pages ? page : -1;
  }

  /**
   * Moves this bitmap's bits into `dest` (same page count) and clears them here, atomically per word
   * when shared. Returns how many pages were newly set in `dest`.
   */
  moveInto(dest: DirtyBitmap, destFirstPage = 0): number {
    if (destFirstPage === 0 && dest.pages === this.pages) {
      const src = this.words;
      const dst = dest.words;
      let added = 0;
      for (let i = 0; i < src.length; i++) {
        if (src[i] === 0) continue;
        const v = this.shared ? Atomics.exchange(src, i, 0) : src[i]!;
        if (!this.shared) src[i] = 0;
        const old = dst[i]!;
        const fresh = v & ~old;
        if (fresh !== 0) {
          added += popcount32(fresh);
          dst[i] = old | v;
        }
      }
      return added;
    }
    return this.moveRangeInto(0, this.pages, dest, destFirstPage);
  }

  /**
   * Moves the bits of pages [first, first + count) of this bitmap into `dest` starting at `destFirst`,
   * clearing them here. Returns how many pages were newly set in `dest`. Used when one bitmap covers
   * several RAM blocks.
   */
  moveRangeInto(first: number, count: number, dest: DirtyBitmap, destFirst: number): number {
    if (first < 0 || first + count > this.pages || destFirst < 0 || destFirst + count > dest.pages) {
      throw new RangeError('dirty bitmap: page range out of bounds');
    }
    let added = 0;
    const end = first + count;
    if ((first & 31) === 0 && (destFirst & 31) === 0) {
      // Word-aligned ranges (blocks of a multiple of 128 KiB): move 32 pages at a time.
      const src = this.words;
      const dst = dest.words;
      const fullWords = count >>> 5;
      const sw = first >>> 5;
      const dw = destFirst >>> 5;
      for (let i = 0; i <= fullWords; i++) {
        const mask = i < fullWords ? -1 : (1 << (count & 31)) - 1;
        if (mask === 0 || (src[sw + i]! & mask) === 0) continue;
        const v = this.shared ? Atomics.and(src, sw + i, ~mask) & mask : src[sw + i]! & mask;
        if (!this.shared) src[sw + i] = src[sw + i]! & ~mask;
        const old = dst[dw + i]!;
        const fresh = v & ~old;
        if (fresh !== 0) {
          added += popcount32(fresh);
          dst[dw + i] = old | v;
        }
      }
      return added;
    }
    for (let p = this.nextSet(first); p >= 0 && p < end; p = this.nextSet(p + 1)) {
      if (!this.testAndClear(p)) continue;
      const d = destFirst + (p - first);
      const w = d >>> 5;
      const m = 1 << (d & 31);
      const old = dest.words[w]!;
      if ((old & m) === 0) {
        dest.words[w] = old | m;
        added++;
      }
    }
    return added;
  }
}

/** Number of set bits in a 32-bit integer. */
export function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

