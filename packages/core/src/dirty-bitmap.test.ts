import { describe, expect, it } from 'vitest';
import { DirtyBitmap, popcount32 } from './dirty-bitmap.js';

function pagesOf(b: DirtyBitmap): number[] {
  const out: number[] = [];
  for (let p = b.nextSet(0); p >= 0; p = b.nextSet(p + 1)) out.push(p);
  return out;
}

describe('DirtyBitmap', () => {
  it('sets, tests, clears single pages including bit 31 of a word', () => {
    const b = new DirtyBitmap(100);
    for (const p of [0, 31, 32, 63, 99]) b.set(p);
    expect(pagesOf(b)).toEqual([0, 31, 32, 63, 99]);
    expect(b.count()).toBe(5);
    expect(b.test(31)).toBe(true);
    expect(b.testAndClear(31)).toBe(true);
    expect(b.testAndClear(31)).toBe(false);
    expect(b.test(30)).toBe(false);
    expect(b.count()).toBe(4);
    expect(() => b.set(100)).toThrow(RangeError);
    expect(() => b.set(-1)).toThrow(RangeError);
  });

  it('setAll leaves bits past the last page clear', () => {
    const b = new DirtyBitmap(70);
    b.setAll();
    expect(b.count()).toBe(70);
    expect(b.words[2]).toBe(0b111111);
    expect(b.nextSet(69)).toBe(69);
    expect(b.nextSet(70)).toBe(-1);
  });

  it('markRange marks every page a byte range touches', () => {
    const b = new DirtyBitmap(200);
    b.markRange(4095, 2); // pages 0 and 1
    b.markRange(10 * 4096, 4096); // page 10 only
    b.markRange(30 * 4096 + 5, 40 * 4096); // pages 30..70
    const expected = [0, 1, 10];
    for (let p = 30; p <= 70; p++) expected.push(p);
    expect(pagesOf(b)).toEqual(expected);
    b.markRange(0, 0);
    expect(b.count()).toBe(expected.length);
    expect(() => b.markRange(199 * 4096, 4097)).toThrow(RangeError);
  });

  it('nextSet skips zero words and finds far bits', () => {
    const b = new DirtyBitmap(1 << 20);
    b.set(5);
    b.set(700_001);
    expect(b.nextSet(0)).toBe(5);
    expect(b.nextSet(6)).toBe(700_001);
    expect(b.nextSet(700_002)).toBe(-1);
    expect(b.nextSet(-3)).toBe(5);
  });

  it('works on a SharedArrayBuffer with Atomics from "another thread"', () => {
    const b = DirtyBitmap.createShared(64);
    expect(b.shared).toBe(true);
    // What a writer thread does: Atomics.or on the same memory.
    const other = new Int32Array(b.words.buffer);
    Atomics.or(other, 1, 1 << 3); // page 35
    b.set(2);
    expect(pagesOf(b)).toEqual([2, 35]);
    expect(b.testAndClear(35)).toBe(true);
    expect(Atomics.load(other, 1)).toBe(0);
  });

  it('moveInto moves bits, clears the source and counts only newly set pages', () => {
    const src = DirtyBitmap.createShared(96);
    const dst = new DirtyBitmap(96);
    src.set(1);
    src.set(40);
    src.set(95);
    dst.set(40);
    expect(src.moveInto(dst)).toBe(2);
    expect(src.count()).toBe(0);
    expect(pagesOf(dst)).toEqual([1, 40, 95]);
  });

  it('moveRangeInto moves one block out of a bitmap over all blocks (aligned and unaligned)', () => {
    for (const first of [0, 32, 7]) {
      const all = new DirtyBitmap(200);
      all.markRange(0, 200 * 4096);
      const dst = new DirtyBitmap(40);
      dst.set(3);
      expect(all.moveRangeInto(first, 40, dst, 0)).toBe(39);
      expect(dst.count()).toBe(40);
      expect(all.count()).toBe(160);
      expect(all.nextSet(first)).toBe(first + 40);
      if (first > 0) expect(all.test(first - 1)).toBe(true);
    }
  });

  it('popcount32 counts bits of negative words', () => {
    expect(popcount32(0)).toBe(0);
    expect(popcount32(-1)).toBe(32);
    expect(popcount32(0x80000001 | 0)).toBe(2);
  });
});

describe('DirtyBitmap with another unit (1 MiB disk chunks)', () => {
  it('marks the chunks a byte range touches', () => {
    const chunk = 1 << 20;
    const b = new DirtyBitmap(4, undefined, 0, chunk); // a disk of 3 MiB + 64 KiB: four chunks
    b.markRange(chunk - 1, 2); // the last byte of chunk 0 and the first of chunk 1
    b.markRange(3 * chunk + 4096, 512);
    expect(pagesOf(b)).toEqual([0, 1, 3]);
    expect(() => b.markRange(4 * chunk, 1)).toThrow(RangeError);
    expect(() => new DirtyBitmap(4, undefined, 0, 0)).toThrow(/bad unit/);
    expect(DirtyBitmap.createShared(2, chunk).unitBytes).toBe(chunk);
  });
});
