import { describe, expect, it } from 'vitest';
import { entryByteRange, getRefcount, maxRefcount, setRefcount } from './refcount-entries.js';

describe('refcount entries', () => {
  it.each([0, 1, 2, 3, 4, 5, 6])('order %i: set/get round-trips without touching neighbours', (order) => {
    const block = new Uint8Array(64);
    const entries = (64 * 8) >> order;
    const max = maxRefcount(order);
    const value = (i: number): number => (i * 2654435761) % (Math.min(max, 2 ** 40) + 1);
    for (let i = 0; i < entries; i++) setRefcount(block, i, order, value(i));
    for (let i = 0; i < entries; i++) expect(getRefcount(block, i, order)).toBe(value(i));
    setRefcount(block, 3, order, max);
    expect(getRefcount(block, 3, order)).toBe(max);
    expect(getRefcount(block, 2, order)).toBe(value(2));
    expect(getRefcount(block, 4, order)).toBe(value(4));
  });

  it('lays entries out as the format says', () => {
    const b = new Uint8Array(8);
    setRefcount(b, 0, 0, 1); // 1-bit: bit 0 of byte 0 is entry 0
    setRefcount(b, 9, 0, 1);
    expect([b[0], b[1]]).toEqual([0x01, 0x02]);
    const w = new Uint8Array(8);
    setRefcount(w, 1, 4, 0x1234); // 16-bit big-endian
    expect([...w.subarray(0, 4)]).toEqual([0, 0, 0x12, 0x34]);
    const n = new Uint8Array(8);
    setRefcount(n, 1, 2, 0xa); // 4-bit: entry 1 is the high nibble
    expect(n[0]).toBe(0xa0);
  });

  it('gives the bytes holding a run of entries', () => {
    expect(entryByteRange(0, 1, 4)).toEqual([0, 2]);
    expect(entryByteRange(3, 2, 4)).toEqual([6, 10]);
    expect(entryByteRange(3, 2, 0)).toEqual([0, 1]);
    expect(entryByteRange(7, 2, 0)).toEqual([0, 2]);
    expect(entryByteRange(1, 1, 6)).toEqual([8, 16]);
  });
});
