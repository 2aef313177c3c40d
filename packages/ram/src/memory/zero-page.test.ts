import { describe, expect, it } from 'vitest';
import { isFilledPage, isZeroPage } from './zero-page.js';

describe('isZeroPage', () => {
  it('finds a single non-zero byte at any position of the page', () => {
    const mem = new Uint8Array(3 * 4096);
    expect(isZeroPage(mem, 4096)).toBe(true);
    for (let i = 0; i < 4096; i++) {
      mem[4096 + i] = 0x80;
      expect(isZeroPage(mem, 4096)).toBe(false);
      expect(isZeroPage(mem, 0)).toBe(true);
      expect(isZeroPage(mem, 8192)).toBe(true);
      mem[4096 + i] = 0;
    }
  });

  it('handles views whose start is not word aligned', () => {
    const backing = new Uint8Array(2 * 4096 + 1);
    const view = backing.subarray(1);
    expect(isZeroPage(view, 4096)).toBe(true);
    backing[4096 + 1 + 4095] = 1;
    expect(isZeroPage(view, 4096)).toBe(false);
    expect(isZeroPage(view, 0)).toBe(true);
  });

  it('isFilledPage compares against the fill byte', () => {
    const mem = new Uint8Array(4096).fill(0xab);
    expect(isFilledPage(mem, 0, 0xab)).toBe(true);
    expect(isFilledPage(mem, 0, 0)).toBe(false);
    mem[4000] = 0xaa;
    expect(isFilledPage(mem, 0, 0xab)).toBe(false);
  });

  it('rejects a page outside the array', () => {
    expect(() => isZeroPage(new Uint8Array(4096), 1)).toThrow(RangeError);
  });
});
