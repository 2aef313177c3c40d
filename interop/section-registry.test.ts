// The section registry against real peers: a stream where a test-only iterative section (`x-test-counter`)
// travels beside `ram`, PARTs of the two interleaved, written by @mig/savevm's SavevmSaver. A target with no
// handler for it — QEMU 7.2 and mig-daemon alike — refuses it naming the section and never runs the guest;
// the same stream without that section loads in both with equal RAM (so the interleaving itself is right).
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DirtyBitmap } from '@mig/core';
import { CounterSaveSection, GlobalStateSaveSection, SavevmSaver, TimerSaveSection, type SaveSection } from '@mig/savevm';
import { GuestRam, RamSaveSection, createRamBlock } from '@mig/ram';
import { cleanupAll, cleanupVms, launchVm, QEMU_SKIP_MESSAGE, requireQemu, tmpDir, type VmKind } from '@mig/test-helpers';

const hasQemu = requireQemu();
const RAM_MIB = 4;

/** A running guest's stream: RAM with random pages, guest writes between iterations, and optionally the counter. */
function makeStream(withCounter: boolean): { stream: Uint8Array; ramSha: string; parts: string[] } {
  const bytes = new Uint8Array(RAM_MIB << 20);
  let x = 7;
  for (let p = 0; p < bytes.length; p += 8192) for (let i = 0; i < 4096; i += 4) new DataView(bytes.buffer).setUint32(p + i, (x = (Math.imul(x, 1664525) + 1013904223) >>> 0));
  const ram = new GuestRam([createRamBlock('ram', bytes)]);
  const dirty = new DirtyBitmap(ram.totalPages);
  const ramSection = new RamSaveSection({ ram, dirty });
  const extra: SaveSection[] = withCounter ? [new CounterSaveSection(2000, { sectionId: 3 })] : [];
  const saver = new SavevmSaver({ machine: 'none', sections: [new TimerSaveSection(), ramSection, ...extra, new GlobalStateSaveSection()] });
  const out: Uint8Array[] = [];
  saver.setup();
  saver.syncDirty();
  for (let i = 0; saver.pendingBytes(0) > 0 && i < 200; i++) {
    saver.iterate(64 * 4096);
    out.push(...saver.drainOutput().map((c) => Uint8Array.from(c)));
    const page = (i * 37) % ram.totalPages;
    bytes[page * 4096 + 5] = i & 0xff; // the guest writes: ram gets another PART after the counter's
    dirty.set(page);
    if (saver.pendingBytes(0) < 8 * 4096) saver.syncDirty();
  }
  saver.complete('running');
  out.push(...saver.drainOutput().map((c) => Uint8Array.from(c)));
  const stream = new Uint8Array(Buffer.concat(out));
  // the PART order, to show the two sections interleave
  const parts: string[] = [];
  for (let p = 0; p + 5 <= stream.length; p++) if (stream[p] === 0x02 && stream[p + 1] === 0 && stream[p + 2] === 0 && stream[p + 3] === 0 && (stream[p + 4] === 2 || stream[p + 4] === 3)) parts.push(String(stream[p + 4]));
  return { stream, ramSha: createHash('sha256').update(bytes).digest('hex'), parts };
}

describe.skipIf(!hasQemu)(`a stream with a section the target has no handler for${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  afterEach(cleanupVms);
  afterAll(cleanupAll);

  async function loadFile(kind: VmKind, file: string) {
    const vm = await launchVm({ kind, ramMiB: RAM_MIB, plainRam: true, incoming: 'defer' });
    await vm.qmp.execute('migrate-incoming', { uri: `exec:cat ${file}` });
    return vm;
  }

  it('mig-daemon refuses it naming the section and the byte offset; the guest never runs', async () => {
    const dir = await tmpDir('mig-registry-');
    const { stream, parts } = makeStream(true);
    expect(parts.join('')).toMatch(/23.*2/); // ram, then the counter, then ram again
    const file = join(dir, 'counter.stream');
    await writeFile(file, stream);
    const vm = await loadFile('mig', file);
    const reply = await vm.waitForMigration(['failed', 'completed']);
    expect(reply.status).toBe('failed');
    expect(reply['error-desc']).toMatch(/^SECTION_START record at byte \d+: Unknown savevm section or instance 'x-test-counter' 0: this target has no handler for it \(it loads: timer, block, ram, globalstate\)$/);
    expect(await vm.runState()).toBe('inmigrate');
  });

  it('QEMU 7.2 refuses it too, naming the section', async () => {
    const dir = await tmpDir('mig-registry-qemu-');
    const file = join(dir, 'counter.stream');
    await writeFile(file, makeStream(true).stream);
    const vm = await loadFile('qemu', file);
    await vm.exited;
    expect(vm.stderr).toMatch(/Unknown savevm section or instance 'x-test-counter' 0/);
  });

  it('without the counter, the same interleaved writer loads in QEMU 7.2 and mig-daemon with equal RAM', async () => {
    const dir = await tmpDir('mig-registry-ok-');
    const { stream, ramSha } = makeStream(false);
    const file = join(dir, 'ram.stream');
    await writeFile(file, stream);
    for (const kind of ['qemu', 'mig'] as const) {
      const vm = await loadFile(kind, file);
      expect((await vm.waitForMigration()).status, `${kind}: ${vm.stderr}`).toBe('completed');
      expect(await vm.hashRam()).toBe(ramSha);
    }
  });
});
