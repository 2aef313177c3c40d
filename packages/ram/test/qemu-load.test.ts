// A stream written by SavevmSaver must load into real QEMU 7.2: QEMU's loader is the judge.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirtyBitmap, GuestRam, SavevmSaver, createRamBlock } from '../src/index.js';
import { QEMU_SKIP_MESSAGE, qemuAvailable, startQemu, type Qemu } from './qemu-harness.js';
import { concat, fillMixed, prng } from './streams.js';

const available = qemuAvailable(); // throws when CI is set and QEMU is missing
if (!available) console.warn(`qemu-load.test.ts skipped: ${QEMU_SKIP_MESSAGE}`);

const SIZE = 4 << 20;
const dir = mkdtempSync(join(tmpdir(), 'mig-ram-qemu-'));
const running: Qemu[] = [];
afterAll(async () => {
  await Promise.all(running.map((q) => q.stop()));
  rmSync(dir, { recursive: true, force: true });
});

/** Migrates a 4 MiB guest in several passes (the guest writing in between) into a stream file. */
function makeStream(runstate: string, seed: number): { stream: Uint8Array; ramSha: string } {
  const bytes = new Uint8Array(SIZE);
  fillMixed(bytes, seed);
  const ram = new GuestRam([createRamBlock('mem0', bytes)]);
  const dirty = DirtyBitmap.createShared(ram.totalPages);
  const saver = new SavevmSaver({ machine: 'none', ram, dirty });
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

describe.skipIf(!available)('QEMU 7.2 loads a stream written by SavevmSaver', () => {
  for (const [runstate, status] of [
    ['running', 'running'],
    ['paused', 'paused'],
  ] as const) {
    it(`reproduces the RAM (globalstate ${runstate} → target ${status})`, async () => {
      const { stream, ramSha } = makeStream(runstate, runstate.length);
      const file = join(dir, `${runstate}.stream`);
      writeFileSync(file, stream);
      const qemu = await startQemu(join(dir, `${runstate}.qmp`), [
        '-machine', 'none,memory-backend=mem0', '-m', '4M',
        '-object', 'memory-backend-ram,id=mem0,size=4M',
        '-incoming', 'defer',
      ]);
      running.push(qemu);
      await qemu.qmp.execute('migrate-incoming', { uri: `exec:cat ${file}` });
      const info = await qemu.qmp.waitMigration();
      expect(info.status, qemu.stderr()).toBe('completed');
      const dump = join(dir, `${runstate}.pmem`);
      await qemu.qmp.execute('pmemsave', { val: 0, size: SIZE, filename: dump });
      expect(createHash('sha256').update(readFileSync(dump)).digest('hex')).toBe(ramSha);
      const st = (await qemu.qmp.execute('query-status')) as { status: string };
      expect(st.status).toBe(status);
      expect(qemu.stderr()).toBe('');
    }, 30_000);
  }
});
