import { describe, expect, it } from 'vitest';
import { GuestRam } from './guest-ram.js';
import { createRamBlock } from './ram-block.js';

describe('GuestRam', () => {
  const ram = new GuestRam([
    createRamBlock('pc.ram', new Uint8Array(16 * 4096), 0x100000),
    createRamBlock('vga', new Uint8Array(4 * 4096), 0),
  ]);

  it('finds blocks by idstr and totals their pages', () => {
    expect(ram.find('vga')?.usedLength).toBe(16384);
    expect(ram.indexOf('pc.ram')).toBe(0);
    expect(ram.indexOf('nope')).toBe(-1);
    expect(ram.totalBytes).toBe(20 * 4096);
    expect(ram.firstPage).toEqual([0, 16]);
  });

  it('maps guest-physical addresses to block and offset', () => {
    expect(ram.locate(0x100000 + 5)).toMatchObject({ blockIndex: 0, offset: 5 });
    expect(ram.locate(0x3fff)).toMatchObject({ blockIndex: 1, offset: 0x3fff });
    expect(ram.locate(0x4000)).toBeUndefined();
    expect(ram.locate(0x100000 + 16 * 4096)).toBeUndefined();
  });

  it('rejects duplicate ids, overlaps and bad sizes', () => {
    const a = createRamBlock('a', new Uint8Array(8192), 0);
    expect(() => new GuestRam([a, createRamBlock('a', new Uint8Array(4096), 0x10000)])).toThrow(/duplicate/);
    expect(() => new GuestRam([a, createRamBlock('b', new Uint8Array(4096), 4096)])).toThrow(/overlap/);
    expect(() => createRamBlock('c', new Uint8Array(100))).toThrow(/multiple of 4096/);
    expect(() => createRamBlock('', new Uint8Array(4096))).toThrow(/1..255/);
  });
});
