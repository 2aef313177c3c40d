import { describe, expect, it } from 'vitest';
import { CounterLoadSection, CounterSaveSection, StreamError, StreamReader, type FramingObserver } from '@mig/savevm';
import { concat, fillMixed, MachineNoneLoader, machineNoneSaver, prng, recorder, sha256 } from '../../test/streams.js';
import { DirtyBitmap } from '@mig/core';
import { GuestRam } from '../memory/guest-ram.js';
import { isZeroPage } from '../memory/zero-page.js';
import { createRamBlock } from '../memory/ram-block.js';

function sourceRam(seed: number): GuestRam {
  const a = new Uint8Array(64 * 4096);
  const b = new Uint8Array(40 * 4096);
  fillMixed(a, seed);
  fillMixed(b, seed + 1);
  return new GuestRam([createRamBlock('pc.ram', a, 0), createRamBlock('extra', b, 1 << 30)]);
}

function emptyLike(ram: GuestRam): GuestRam {
  return new GuestRam(ram.blocks.map((b) => createRamBlock(b.idstr, new Uint8Array(b.usedLength), b.guestAddress)));
}

function dirtyFor(ram: GuestRam): DirtyBitmap[] {
  return ram.blocks.map((b) => DirtyBitmap.createShared(b.usedLength / 4096));
}

/** What a running guest does: write bytes and record the pages in its dirty bitmap. */
function guestWrite(ram: GuestRam, dirty: DirtyBitmap[], rnd: () => number, writes: number): void {
  for (let i = 0; i < writes; i++) {
    const bi = rnd() % ram.blocks.length;
    const block = ram.blocks[bi]!;
    const off = rnd() % (block.usedLength - 16);
    const len = 1 + (rnd() % 16);
    block.bytes.fill(rnd() & 0xff, off, off + len);
    dirty[bi]!.markRange(off, len);
  }
}

function ramHashes(ram: GuestRam): string[] {
  return ram.blocks.map((b) => sha256(b.bytes));
}

describe('RamSaveSection in a savevm stream', () => {
  it('migrates in several passes while the guest writes, and the loader reproduces the RAM', () => {
    const ram = sourceRam(7);
    const dirty = dirtyFor(ram);
    const { saver, ram: saverRam } = machineNoneSaver({ ram, dirty });
    const target = emptyLike(ram);
    const loader = new MachineNoneLoader({ ram: target });
    const flush = () => saver.drainOutput().forEach((c) => loader.push(c));
    const rnd = prng(3);

    expect(saver.pendingBytes()).toBe(ram.totalBytes);
    saver.setup();
    flush();
    saver.syncDirty();
    expect(saverRam.dirtySyncCount).toBe(1);
    expect(saver.pendingBytes()).toBe(ram.totalBytes);
    let passes = 0;
    while (saver.pendingBytes() > 8 * 4096 && passes++ < 100) {
      const before = saver.pendingBytes();
      const n = saver.iterate(20_000);
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThanOrEqual(20_000 + 4096 + 40); // one page record past the budget at most
      expect(saver.pendingBytes()).toBeLessThan(before);
      flush();
      guestWrite(ram, dirty, rnd, 5);
      saver.syncDirty();
    }
    guestWrite(ram, dirty, rnd, 20);
    saver.complete('running');
    expect(saver.pendingBytes()).toBe(0);
    flush();
    expect(loader.end()).toEqual({ runstate: 'running' });
    expect(ramHashes(target)).toEqual(ramHashes(ram));
    expect(loader.ram.normalPages).toBe(saverRam.normalPages);
    expect(loader.ram.zeroPages).toBe(saverRam.zeroPages);
    expect(saverRam.dirtySyncCount).toBe(passes + 2);
    expect(saver.streamBytes).toBe(loader.bytesReceived);
    expect(saverRam.transferredBytes).toBeLessThan(saver.streamBytes);
  });

  it('accepts one dirty bitmap over all blocks', () => {
    const ram = sourceRam(11);
    const dirty = new DirtyBitmap(ram.totalPages);
    const { saver } = machineNoneSaver({ ram, dirty });
    const target = emptyLike(ram);
    const loader = new MachineNoneLoader({ ram: target });
    saver.setup();
    saver.syncDirty();
    while (saver.pendingBytes() > 0) saver.iterate(50_000);
    // Guest writes to the second block (page 64 + 3 over all blocks) after everything was sent.
    ram.blocks[1]!.bytes[3 * 4096 + 9] = ram.blocks[1]!.bytes[3 * 4096 + 9]! ^ 0xff;
    dirty.set(ram.firstPage[1]! + 3);
    saver.complete('paused');
    saver.drainOutput().forEach((c) => loader.push(c));
    expect(loader.end()).toEqual({ runstate: 'paused' });
    expect(ramHashes(target)).toEqual(ramHashes(ram));
    expect(dirty.count()).toBe(0);
  });

  it('writes ZERO for zero pages, PAGE otherwise, and CONTINUE across sections in the same block', () => {
    const ram = sourceRam(5);
    const { saver, ram: saverRam } = machineNoneSaver({ ram, dirty: dirtyFor(ram) });
    saver.setup();
    saver.syncDirty();
    saver.iterate(1); // one page
    saver.iterate(1); // the next page, same block: no idstr
    const out = concat(saver.drainOutput());
    const rec = recorder();
    const events = rec.events;
    new StreamReader({ machine: 'none', sections: rec.sections(ram.blocks) }).push(out);
    const pages = events.filter((e) => /^(page|zero) /.test(e)).map((e) => e.split(' ').slice(0, 3).join(' '));
    const kind = (off: number) => (isZeroPage(ram.blocks[0]!.bytes, off) ? 'zero' : 'page');
    expect(pages).toEqual([`${kind(0)} 0 0`, `${kind(4096)} 0 4096`]);
    expect(saverRam.normalPages + saverRam.zeroPages).toBe(2);
    // Second PART: 5-byte header, then a be64 whose flags carry CONTINUE (0x20) and no idstr follows.
    const secondPart = out.length - (5 + 8 + 5) - (kind(4096) === 'zero' ? 9 : 4104);
    expect(out[secondPart]).toBe(0x02);
    expect(out[secondPart + 5 + 7]! & 0x20).toBe(0x20);
  });

  it('counts bytes like QEMU: ram.transferred covers page records and EOS', () => {
    const ram = new GuestRam([createRamBlock('mem0', new Uint8Array(4 * 4096))]);
    ram.blocks[0]!.bytes[4096] = 1;
    const { saver, ram: saverRam } = machineNoneSaver({ ram, dirty: dirtyFor(ram) });
    saver.setup();
    saver.complete('prelaunch');
    // zero(8+1+4+1) + page(8+4096) + zero(9) + zero(9) + EOS(8)
    expect(saverRam.transferredBytes).toBe(14 + 4104 + 9 + 9 + 8);
    expect([saverRam.normalPages, saverRam.zeroPages, saverRam.normalBytes, saverRam.dirtySyncCount]).toEqual([1, 3, 4096, 1]);
  });

  it('iterate() writes nothing when nothing is pending', () => {
    const ram = new GuestRam([createRamBlock('mem0', new Uint8Array(4096))]);
    const { saver } = machineNoneSaver({ ram, dirty: dirtyFor(ram) });
    saver.setup();
    expect(saver.iterate(1 << 20)).toBeGreaterThan(0);
    saver.syncDirty();
    saver.drainOutput();
    expect(saver.iterate(1 << 20)).toBe(0);
    expect(saver.drainOutput()).toEqual([]);
  });

  it('refuses calls out of order, unknown runstates and mismatched bitmaps', () => {
    const ram = new GuestRam([createRamBlock('mem0', new Uint8Array(8192))]);
    const { saver } = machineNoneSaver({ ram, dirty: dirtyFor(ram) });
    expect(() => saver.iterate(1)).toThrow(/before setup/);
    saver.setup();
    expect(() => saver.setup()).toThrow(/twice/);
    expect(() => saver.complete('flying')).toThrow(/unknown runstate 'flying'/);
    saver.complete('running');
    expect(() => saver.iterate(1)).toThrow(/after complete/);
    expect(() => machineNoneSaver({ ram, dirty: new DirtyBitmap(3) })).toThrow(/covers 3 pages/);
    expect(() => machineNoneSaver({ ram, dirty: [] })).toThrow(/0 dirty bitmaps for 1/);
  });

  it('shares the stream with another iterative section: both interleave and round-trip, and a target without its handler refuses it', () => {
    const ram = sourceRam(11);
    const dirty = dirtyFor(ram);
    const counter = new CounterSaveSection(300, { sectionId: 3 });
    const { saver } = machineNoneSaver({ ram, dirty, extra: [counter] });
    const rnd = prng(5);
    const out: Uint8Array[] = [];
    saver.setup();
    saver.syncDirty();
    for (let i = 0; i < 40 && saver.pendingBytes() > 0; i++) {
      saver.iterate(6 * 4096);
      out.push(...saver.drainOutput());
      guestWrite(ram, dirty, rnd, 3);
      if (saver.pendingBytes() < 4 * 4096) saver.syncDirty();
    }
    saver.complete('running');
    out.push(...saver.drainOutput());

    const parts: number[] = [];
    const observer: FramingObserver = { onSectionPart: (id) => parts.push(id) };
    const target = emptyLike(ram);
    const counterLoad = new CounterLoadSection();
    const loader = new MachineNoneLoader({ ram: target, extra: [counterLoad], observer });
    out.forEach((c) => loader.push(c));
    expect(loader.end()).toEqual({ runstate: 'running' });
    expect(ramHashes(target)).toEqual(ramHashes(ram));
    expect(counterLoad.values).toHaveLength(300);
    // ram (2) before the counter (3) in each walk; the counter gets a PART once a ram pass is through
    expect(parts).toContain(3);
    const firstCounter = parts.indexOf(3);
    expect(parts.slice(firstCounter).some((id) => id === 2)).toBe(true); // ram again after the counter: interleaved

    let err: unknown;
    try {
      const plain = new MachineNoneLoader({ ram: emptyLike(ram) });
      out.forEach((c) => plain.push(c));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StreamError);
    expect((err as StreamError).message).toMatch(/Unknown savevm section or instance 'x-test-counter' 0: this target has no handler for it \(it loads: timer, ram, globalstate\)/);
  });
});
