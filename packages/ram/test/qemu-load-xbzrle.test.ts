// XBZRLE pages written by the ram section must load into real QEMU 7.2: its loader decodes every delta against
// the page it holds and fails the migration ("decode error") on any it cannot apply.
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DirtyBitmap, GuestRam, createRamBlock, type RamSaveSection } from '../src/index.js';
import { QEMU_SKIP_MESSAGE, cleanupAll, hasQemu, loadInQemu } from './load-in-qemu.js';
import { concat, fillMixed, machineNoneSaver, prng } from './streams.js';


const SIZE = 4 << 20;
const PAGE = 4096;
afterAll(cleanupAll);

/**
 * 8 passes over a 4 MiB guest whose working set (the first 1 MiB) takes sparse writes between and during
 * passes: a word, a run of bytes, a page gone zero, a page rewritten whole (overflow). `cacheBytes` below
 * the working set makes misses and evictions.
 */
function makeStream(seed: number, cacheBytes: number): { stream: Uint8Array; ramSha: string; saverRam: RamSaveSection } {
  const bytes = new Uint8Array(SIZE);
  fillMixed(bytes, seed);
  const ram = new GuestRam([createRamBlock('mem0', bytes)]);
  const dirty = DirtyBitmap.createShared(ram.totalPages);
  const { saver, ram: saverRam } = machineNoneSaver({ ram, dirty, xbzrle: cacheBytes });
  const rnd = prng(seed);
  const wssPages = 256;
  const write = (n: number) => {
    for (let i = 0; i < n; i++) {
      const page = rnd() % wssPages;
      const kind = rnd() % 50;
      const base = page * PAGE;
      if (kind === 0) bytes.fill(0, base, base + PAGE);
      else if (kind === 1) for (let j = 0; j < PAGE; j++) bytes[base + j] = rnd() & 0xff;
      else {
        const off = base + (rnd() % (PAGE - 16));
        bytes.fill(rnd() & 0xff, off, off + (kind < 30 ? 4 : 1 + (rnd() % 16)));
      }
      dirty.set(page);
    }
  };
  const out: Uint8Array[] = [];
  saver.setup();
  saver.syncDirty();
  for (let pass = 0; pass < 8; pass++) {
    while (saver.pendingBytes() > 0) {
      saver.iterate(256 * 1024);
      write(20);
    }
    write(150);
    saver.syncDirty();
    out.push(...saver.drainOutput());
  }
  write(100);
  saver.complete('paused');
  out.push(...saver.drainOutput());
  return { stream: concat(out), ramSha: createHash('sha256').update(bytes).digest('hex'), saverRam };
}

describe.skipIf(!hasQemu)(`QEMU 7.2 loads XBZRLE pages written by the ram section${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  for (const cacheBytes of [4 << 20, 256 << 10]) {
    it(`reproduces the RAM (cache ${cacheBytes >> 10} KiB)`, async () => {
      const { stream, ramSha, saverRam } = makeStream(cacheBytes >> 16, cacheBytes);
      expect(saverRam.xbzrleRecords).toBeGreaterThan(200);
      expect(saverRam.xbzrleStats!.overflow).toBeGreaterThan(0);
      const loaded = await loadInQemu(stream, 4);
      expect(loaded.status, loaded.stderr).toBe('completed');
      expect(loaded.ramSha).toBe(ramSha);
      expect(loaded.stderr).toBe('');
    }, 30_000);
  }
});
