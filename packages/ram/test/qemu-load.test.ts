// A stream written by SavevmSaver must load into real QEMU 7.2: QEMU's loader is the judge.
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DirtyBitmap, GuestRam, createRamBlock } from '../src/index.js';
import { QEMU_SKIP_MESSAGE, cleanupAll, hasQemu, loadInQemu } from './load-in-qemu.js';
import { concat, fillMixed, machineNoneSaver, prng } from './streams.js';


const SIZE = 4 << 20;
afterAll(cleanupAll);

/** Migrates a 4 MiB guest in several passes (the guest writing in between) into a stream file. */
function makeStream(runstate: string, seed: number): { stream: Uint8Array; ramSha: string } {
  const bytes = new Uint8Array(SIZE);
  fillMixed(bytes, seed);
  const ram = new GuestRam([createRamBlock('mem0', bytes)]);
  const dirty = DirtyBitmap.createShared(ram.totalPages);
  const { saver, ram: saverRam } = machineNoneSaver({ ram, dirty });
  const rnd = prng(seed);
  const out: Uint8Array[] = [];
  saver.setup();
  saver.syncDirty();
  for (let pass = 0; pass < 6; pass++) {
    saver.iterate(400_000);
    for (let i = 0; i < 30; i++) {
      const off = rnd() % (SIZE - 64);
      bytes.fill(rnd() & 0xff, off, off + 1 + (rnd() % 64));
      dirty.markRange(off, 64);
    }
    saver.syncDirty();
    out.push(...saver.drainOutput());
  }
  saver.complete(runstate);
  out.push(...saver.drainOutput());
  return { stream: concat(out), ramSha: createHash('sha256').update(bytes).digest('hex') };
}

describe.skipIf(!hasQemu)(`QEMU 7.2 loads a stream written by SavevmSaver${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  for (const [runstate, status] of [
    ['running', 'running'],
    ['paused', 'paused'],
  ] as const) {
    it(`reproduces the RAM (globalstate ${runstate} → target ${status})`, async () => {
      const { stream, ramSha } = makeStream(runstate, runstate.length);
      const loaded = await loadInQemu(stream, 4);
      expect(loaded.status, loaded.stderr).toBe('completed');
      expect(loaded.ramSha).toBe(ramSha);
      expect(loaded.runstate).toBe(status);
      expect(loaded.stderr).toBe('');
    }, 30_000);
  }
});
