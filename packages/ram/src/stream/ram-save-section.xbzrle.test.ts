import { describe, expect, it } from 'vitest';
import { StreamReader, type SavevmSaver } from '@mig/savevm';
import { concat, fillMixed, MachineNoneLoader, machineNoneSaver, prng, recorder, sha256 } from '../../test/streams.js';
import { DirtyBitmap } from '@mig/core';
import { GuestRam } from '../memory/guest-ram.js';
import { createRamBlock } from '../memory/ram-block.js';
import { xbzrleDecode, XbzrleCacheSizeError } from '../xbzrle/index.js';

const PAGE = 4096;

function sourceRam(seed: number, pagesA = 64, pagesB = 40): GuestRam {
  const a = new Uint8Array(pagesA * PAGE);
  const b = new Uint8Array(pagesB * PAGE);
  fillMixed(a, seed);
  fillMixed(b, seed + 1);
  return new GuestRam([createRamBlock('pc.ram', a, 0), createRamBlock('extra', b, 1 << 30)]);
}

function emptyLike(ram: GuestRam): GuestRam {
  return new GuestRam(ram.blocks.map((b) => createRamBlock(b.idstr, new Uint8Array(b.usedLength), b.guestAddress)));
}

function dirtyFor(ram: GuestRam): DirtyBitmap[] {
  return ram.blocks.map((b) => new DirtyBitmap(b.usedLength / PAGE));
}

/** A sparse guest: a few bytes into random pages, recorded in the dirty bitmaps. */
function guestWrite(ram: GuestRam, dirty: DirtyBitmap[], rnd: () => number, writes: number): void {
  for (let i = 0; i < writes; i++) {
    const bi = rnd() % ram.blocks.length;
    const block = ram.blocks[bi]!;
    const off = rnd() % (block.usedLength - 8);
    const len = 1 + (rnd() % 8);
    block.bytes.fill(rnd() & 0xff, off, off + len);
    dirty[bi]!.markRange(off, len);
  }
}

function loaderFor(ram: GuestRam): { loader: MachineNoneLoader; target: GuestRam } {
  const target = emptyLike(ram);
  const loader = new MachineNoneLoader({ ram: target,
    onXbzrle: (dest, destOffset, src, srcOffset, len) => void xbzrleDecode(src, srcOffset, len, dest, destOffset, PAGE),
  });
  return { loader, target };
}

const hashes = (ram: GuestRam) => ram.blocks.map((b) => sha256(b.bytes));

/** Setup, then `passes` times: iterate everything, guest writes, sync; complete after more writes. */
function migrate(
  saver: SavevmSaver, ram: GuestRam, dirty: DirtyBitmap[], loader: MachineNoneLoader, seed: number, passes: number,
  between?: (pass: number) => void,
): void {
  const rnd = prng(seed);
  const flush = () => saver.drainOutput().forEach((c) => loader.push(c));
  saver.setup();
  saver.syncDirty();
  for (let p = 0; p < passes; p++) {
    while (saver.pendingBytes() > 0) {
      saver.iterate(3 * PAGE);
      flush();
      guestWrite(ram, dirty, rnd, 2); // writes while the pass is under way
    }
    guestWrite(ram, dirty, rnd, 10);
    between?.(p);
    saver.syncDirty();
  }
  guestWrite(ram, dirty, rnd, 10);
  saver.complete('running');
  flush();
  loader.end();
}

describe('SavevmSaver with XBZRLE', () => {
  it('sends resent pages as XBZRLE deltas that the loader turns back into the source RAM exactly', () => {
    const ram = sourceRam(21);
    const dirty = dirtyFor(ram);
    const { saver, ram: saverRam } = machineNoneSaver({ ram, dirty, xbzrle: 64 * PAGE });
    const { loader, target } = loaderFor(ram);
    migrate(saver, ram, dirty, loader, 5, 6);
    expect(hashes(target)).toEqual(hashes(ram));
    const st = saverRam.xbzrleStats!;
    expect(saverRam.xbzrleRecords).toBeGreaterThan(20);
    expect(loader.ram.xbzrlePages).toBe(saverRam.xbzrleRecords);
    expect(loader.ram.normalPages).toBe(saverRam.normalPages);
    expect(st.pages).toBeGreaterThanOrEqual(saverRam.xbzrleRecords);
    expect(st['cache-miss']).toBeGreaterThan(0);
    expect(st['cache-size']).toBe(64 * PAGE);
    // sparse writes: each delta is a few bytes, far below a page
    expect(st.bytes).toBeLessThan(saverRam.xbzrleRecords * 64);
    expect(st.overflow).toBe(0);
  });

  it('sends nothing as XBZRLE in the bulk round and caches no page before the scan has wrapped', () => {
    const ram = sourceRam(3);
    const dirty = dirtyFor(ram);
    const { saver, ram: saverRam } = machineNoneSaver({ ram, dirty, xbzrle: 1 << 20 });
    saver.setup();
    saver.syncDirty();
    while (saver.pendingBytes() > 0) saver.iterate(1 << 20);
    expect(saverRam.xbzrleRecords).toBe(0);
    expect(saverRam.xbzrleStats!['cache-miss']).toBe(0);
    // pass 2: a page sent again is a miss (cached now, sent whole); pass 3: a delta
    const b0 = ram.blocks[0]!.bytes;
    b0[5 * PAGE + 100] = b0[5 * PAGE + 100]! ^ 0x5a;
    dirty[0]!.set(5);
    saver.syncDirty();
    saver.iterate(1 << 20);
    expect([saverRam.xbzrleRecords, saverRam.xbzrleStats!['cache-miss']]).toEqual([0, 1]);
    b0[5 * PAGE + 200] = b0[5 * PAGE + 200]! ^ 0xa5;
    dirty[0]!.set(5);
    saver.syncDirty();
    saver.iterate(1 << 20);
    expect(saverRam.xbzrleRecords).toBe(1);
    const rec = recorder();
    const events = rec.events;
    new StreamReader({ machine: 'none', sections: rec.sections(ram.blocks) }).push(concat(saver.drainOutput()));
    const xb = events.filter((e) => e.startsWith('xbzrle'));
    expect(xb).toHaveLength(1);
    expect(xb[0]).toMatch(new RegExp(`^xbzrle 0 ${5 * PAGE} `));
  });

  it('skips an unchanged resent page, and encodes a page that went zero and back against zeros', () => {
    const ram = new GuestRam([createRamBlock('mem0', new Uint8Array(8 * PAGE))]);
    const b = ram.blocks[0]!.bytes;
    b.fill(7);
    const dirty = dirtyFor(ram);
    const { saver, ram: saverRam } = machineNoneSaver({ ram, dirty, xbzrle: 16 * PAGE });
    const { loader, target } = loaderFor(ram);
    const flush = () => saver.drainOutput().forEach((c) => loader.push(c));
    saver.setup();
    saver.syncDirty();
    saver.iterate(1 << 20); // bulk
    dirty[0]!.set(2);
    saver.syncDirty();
    saver.iterate(1 << 20); // page 2 cached (miss)
    flush();
    const before = saver.streamBytes;
    dirty[0]!.set(2); // dirty but unchanged
    saver.syncDirty();
    expect(saver.iterate(1 << 20)).toBe(5 + 8 + 5); // PART, EOS, footer: the page itself is skipped
    expect(saverRam.xbzrleStats!.pages).toBe(1);
    expect(saver.streamBytes - before).toBe(18);
    b.fill(0, 2 * PAGE, 3 * PAGE); // zero: ZERO record, cache now holds zeros
    dirty[0]!.set(2);
    saver.syncDirty();
    saver.iterate(1 << 20);
    b[2 * PAGE + 9] = 1; // one byte on a zero page: a tiny delta against the cached zeros
    dirty[0]!.set(2);
    saver.syncDirty();
    saver.iterate(1 << 20);
    expect(saverRam.xbzrleRecords).toBe(1);
    saver.complete('paused');
    flush();
    loader.end();
    expect(hashes(target)).toEqual(hashes(ram));
    expect(loader.ram.xbzrlePages).toBe(1);
  });

  it('sends an overflowing page whole and counts it; the last stage neither caches nor updates', () => {
    const ram = new GuestRam([createRamBlock('mem0', new Uint8Array(4 * PAGE))]);
    const b = ram.blocks[0]!.bytes;
    const r0 = prng(9);
    for (let i = 0; i < b.length; i++) b[i] = r0() & 0xff; // no zero pages
    const dirty = dirtyFor(ram);
    const { saver, ram: saverRam } = machineNoneSaver({ ram, dirty, xbzrle: 4 * PAGE });
    const { loader, target } = loaderFor(ram);
    saver.setup();
    saver.syncDirty();
    saver.iterate(1 << 20);
    dirty[0]!.set(1);
    saver.syncDirty();
    saver.iterate(1 << 20); // cached
    const rnd = prng(77);
    for (let i = PAGE; i < 2 * PAGE; i++) b[i] = rnd() & 0xff; // every byte new: overflow
    dirty[0]!.set(1);
    dirty[0]!.set(3); // never cached after the bulk round: a miss in the last stage
    b[3 * PAGE] = b[3 * PAGE]! ^ 1;
    saver.complete('running');
    saver.drainOutput().forEach((c) => loader.push(c));
    loader.end();
    expect(hashes(target)).toEqual(hashes(ram));
    const st = saverRam.xbzrleStats!;
    expect(st.overflow).toBe(1);
    expect(st.bytes).toBe(PAGE); // QEMU counts an overflow as a page of bytes
    expect(st['cache-miss']).toBe(2);
    expect(saverRam.xbzrleRecords).toBe(0);
  });

  it('stays exact with a cache much smaller than RAM (collisions, misses) over many passes', () => {
    const ram = sourceRam(44, 128, 64);
    const dirty = dirtyFor(ram);
    const { saver, ram: saverRam } = machineNoneSaver({ ram, dirty, xbzrle: 8 * PAGE });
    const { loader, target } = loaderFor(ram);
    migrate(saver, ram, dirty, loader, 12, 10);
    expect(hashes(target)).toEqual(hashes(ram));
    expect(saverRam.xbzrleStats!['cache-miss']).toBeGreaterThan(saverRam.xbzrleRecords);
  });

  it('resizes its cache during the migration and stays exact; refuses sizes QEMU refuses', () => {
    const ram = sourceRam(8);
    const dirty = dirtyFor(ram);
    const { saver, ram: saverRam } = machineNoneSaver({ ram, dirty, xbzrle: 64 * PAGE });
    const { loader, target } = loaderFor(ram);
    const sizes = [16 * PAGE, 128 * PAGE, PAGE, 32 * PAGE];
    migrate(saver, ram, dirty, loader, 31, 8, (p) => {
      if (p < sizes.length) saverRam.resizeXbzrleCache(sizes[p]!);
      expect(saverRam.xbzrleStats!['cache-size']).toBe(sizes[Math.min(p, sizes.length - 1)]);
    });
    expect(hashes(target)).toEqual(hashes(ram));
    expect(saverRam.xbzrleRecords).toBeGreaterThan(0);
    expect(() => saverRam.resizeXbzrleCache(3 * PAGE)).toThrow(XbzrleCacheSizeError);
    expect(() => saverRam.resizeXbzrleCache(3 * PAGE)).toThrow(/power of two no less than the target page size/);
    expect(() => machineNoneSaver({ ram, dirty, xbzrle: 100 })).toThrow(/xbzrle_cache_size/);
    // QEMU 7.2 accepts a cache larger than RAM (1 TiB for a small guest): reported as asked, allocated to cover RAM
    const { ram: hugeRam } = machineNoneSaver({ ram, dirty, xbzrle: 2 ** 40 });
    expect(hugeRam.xbzrleStats!['cache-size']).toBe(2 ** 40);
    hugeRam.resizeXbzrleCache(2 ** 41);
    expect(hugeRam.xbzrleStats!['cache-size']).toBe(2 ** 41);
    const { ram: offRam } = machineNoneSaver({ ram, dirty });
    expect(offRam.xbzrleStats).toBeUndefined();
    expect(() => offRam.resizeXbzrleCache(PAGE)).toThrow(/not enabled/);
  });

  it('recomputes cache-miss-rate and encoding-rate at a sync more than 1 s after the last', () => {
    const ram = sourceRam(2);
    const dirty = dirtyFor(ram);
    let t = 0;
    const { saver, ram: saverRam } = machineNoneSaver({ ram, dirty, xbzrle: 256 * PAGE, now: () => t });
    const rnd = prng(1);
    saver.setup();
    saver.syncDirty();
    for (let p = 0; p < 4; p++) {
      while (saver.pendingBytes() > 0) saver.iterate(1 << 20);
      guestWrite(ram, dirty, rnd, 30);
      t += 400;
      saver.syncDirty();
    }
    const st = saverRam.xbzrleStats!;
    expect(st['cache-miss-rate']).toBeGreaterThan(0);
    const rateAt = st['cache-miss-rate'];
    t += 500; // 900 ms since the last update: no change
    while (saver.pendingBytes() > 0) saver.iterate(1 << 20);
    guestWrite(ram, dirty, rnd, 30);
    saver.syncDirty();
    expect(st['cache-miss-rate']).toBe(rateAt);
    t += 600;
    while (saver.pendingBytes() > 0) saver.iterate(1 << 20);
    saver.syncDirty();
    expect(st['encoding-rate']).toBeGreaterThan(1);
    expect(st['cache-miss-rate']).toBeGreaterThanOrEqual(0);
    expect(st['cache-miss-rate']).toBeLessThanOrEqual(1);
  });
});
