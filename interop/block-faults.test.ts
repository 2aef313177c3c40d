// Block migration when things go wrong, and what zero-blocks saves: a migrate_cancel and a killed target,
// each in the bulk phase and in the dirty phase, leave the source image exactly as the guest wrote it (the
// migration never writes it) and the source guest running; the target never runs. A zero-blocks stream
// carries ZERO_BLOCK records and is smaller by about the zero share of the disk.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BlockSectionReader } from '@mig/block';
import { GlobalStateLoadSection, StreamReader, TimerLoadSection } from '@mig/savevm';
import { RamSectionReader } from '@mig/ram';
import {
  cleanupAll, cleanupVms, createBlankDisk, createRawDisk, hmpQemuIo, launchVm, QEMU_SKIP_MESSAGE, requireQemu, sha256File,
  startMigration, tmpDir, type Vm,
} from '@mig/test-helpers';
import { createHash } from 'node:crypto';
import { migrateDisks, MiB } from './block-harness.js';

const hasQemu = requireQemu();

/** Counts the block records of a stream file (a `-machine none -m 16M` source: RAM block `mem0`). */
async function blockRecords(file: string, ramBytes: number, drives: { name: string; size: number }[]) {
  const counts = { chunks: 0, zero: 0, progress: 0 };
  const reader = new StreamReader({
    machine: 'none',
    sections: [
      new TimerLoadSection(),
      new BlockSectionReader(drives.map((d) => ({ ...d, readOnly: false })), {
        onChunk: (_d, _o, _l, buf) => (buf === null ? counts.zero++ : counts.chunks++),
        onProgress: () => counts.progress++,
      }),
      new RamSectionReader([{ idstr: 'mem0', usedLength: ramBytes }], {}),
      new GlobalStateLoadSection(),
    ],
  });
  reader.push(await readFile(file));
  reader.end();
  return counts;
}

describe.skipIf(!hasQemu)(`block migration faults and zero-blocks${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  afterEach(cleanupVms);
  afterAll(cleanupAll);

  it('a zero-blocks stream carries ZERO_BLOCK records and shrinks by about the zero share', async () => {
    const disk = { id: 'd0', sizeBytes: 64 * MiB, zeroFraction: 0.5 };
    const plain = await migrateDisks({ src: 'mig', dst: 'mig', mode: 'blk', disks: [disk], transport: 'file', seed: 51 });
    const zero = await migrateDisks({ src: 'mig', dst: 'mig', mode: 'blk', zeroBlocks: true, disks: [disk], transport: 'file', seed: 51 });
    for (const o of [plain, zero]) {
      expect(o.dstReply.status).toBe('completed');
      for (const [a, b] of Object.values(o.disks)) expect(b).toBe(a);
    }
    const drives = [{ name: 'd0', size: disk.sizeBytes }];
    const p = await blockRecords(plain.streamFile!, 16 * MiB, drives);
    const z = await blockRecords(zero.streamFile!, 16 * MiB, drives);
    // the zero chunks of the source disk, counted from its bytes (the seed makes about half of them zero)
    const src = await readFile(join(zero.dir, 'd0-src.raw'));
    let zeroChunks = 0;
    for (let at = 0; at < src.length; at += MiB) if (src.subarray(at, at + MiB).every((b) => b === 0)) zeroChunks++;
    expect(zeroChunks).toBeGreaterThan(20);
    expect(p.zero).toBe(0);
    expect(z.zero).toBe(zeroChunks);
    expect([p.chunks, z.chunks]).toEqual([64, 64 - zeroChunks]); // data chunks
    const size = async (f: string) => (await readFile(f)).length;
    const [ps, zs] = [await size(plain.streamFile!), await size(zero.streamFile!)];
    // the RAM part is the same in both streams: what zero-blocks saves is the zero chunks' data
    const saved = ps - zs;
    expect(saved).toBeGreaterThan(zeroChunks * (MiB - 16));
    expect(saved).toBeLessThan(zeroChunks * MiB + 4096);
    expect(zs / ps).toBeLessThan(1 - (zeroChunks / 64) * 0.8);
  });

  /**
   * A mig source with one 96 MiB random disk migrating at 24 MiB/s to a mig target, while the test writes the
   * source disk with qemu-io; `fault` strikes once `phase` is reached. The writes are replayed on a copy of the
   * original image: the source image must equal it.
   */
  async function faultCase(phase: 'bulk' | 'dirty', fault: 'cancel' | 'kill-target') {
    const dir = await tmpDir(`mig-block-fault-${phase}-${fault}-`);
    const size = 96 * MiB;
    const srcDisk = join(dir, 'src.raw');
    await createRawDisk(srcDisk, size, { seed: 60 });
    const model = await readFile(srcDisk);
    const dstDisk = join(dir, 'dst.raw');
    await createBlankDisk(dstDisk, size, 'raw');
    const src = await launchVm({ kind: 'mig', ramMiB: 16, drives: [{ id: 'd0', file: srcDisk, format: 'raw' }], dir: await tmpDir('src-') });
    const dst = await launchVm({ kind: 'mig', ramMiB: 16, drives: [{ id: 'd0', file: dstDisk, format: 'raw' }], incoming: 'defer', dir: await tmpDir('dst-') });
    const sock = join(dir, 'mig.sock');
    await dst.qmp.execute('migrate-incoming', { uri: `unix:${sock}` });
    // a 1 ms downtime limit: no switchover while the guest keeps writing, so the dirty phase lasts
    // (the dirty phase's bandwidth is kept modest so a pass over the few chunks the guest dirtied takes longer
    // than a guest write: at 512 MiB/s a loaded machine's slow writes let a pass find nothing left, and converge)
    await startMigration(src, `unix:${sock}`, { blk: true, maxBandwidth: phase === 'bulk' ? 24 * MiB : 48 * MiB, downtimeLimitMs: 1 });
    let n = 0;
    const write = async (v: Vm) => {
      const off = ((n * 7919) % (size / 65536)) * 65536;
      const fill = 1 + (n % 250);
      await hmpQemuIo(v, 'd0', `write -P 0x${fill.toString(16)} ${off} 65536`);
      model.fill(fill, off, off + 65536);
      n++;
    };
    // the dirty phase: the bulk is through, the guest keeps writing so the migration cannot converge
    const reached = async (): Promise<boolean> => {
      const r = (await src.qmp.execute('query-migrate')) as { status: string; disk?: { transferred: number; total: number } };
      if (r.status !== 'active' || !r.disk) return false;
      return phase === 'bulk' ? r.disk.transferred > 8 * MiB : r.disk.transferred > r.disk.total;
    };
    // the guest writes all along, not only between two looks at query-migrate
    let writing = true;
    const writer = (async () => {
      while (writing) await write(src);
    })();
    let got = false;
    for (let i = 0; i < 3000 && !(got = await reached()); i++) await sleep(10);
    if (!got) {
      writing = false;
      await writer;
    }
    expect(got, JSON.stringify(await src.qmp.execute('query-migrate'))).toBe(true);
    // the fault while the guest still writes (stopping it first could let the dirty phase converge meanwhile)
    if (fault === 'cancel') await src.qmp.execute('migrate_cancel');
    else await dst.kill();
    writing = false;
    await writer;
    const srcReply = await src.waitForMigration(['cancelled', 'failed', 'completed'], 60_000);
    expect(srcReply.status).toBe(fault === 'cancel' ? 'cancelled' : 'failed');
    expect(await src.runState()).toBe('running');
    await write(src); // the source guest goes on writing its disk
    if (fault === 'cancel') {
      const dstReply = await dst.waitForMigration(['failed', 'completed', 'cancelled'], 60_000);
      expect(dstReply.status).toBe('failed');
      expect(await dst.runState()).toBe('inmigrate');
    }
    await src.quit();
    expect(await sha256File(srcDisk)).toBe(createHash('sha256').update(model).digest('hex'));
    return n;
  }

  for (const phase of ['bulk', 'dirty'] as const) {
    for (const fault of ['cancel', 'kill-target'] as const) {
      it(`${fault} in the ${phase} phase: the source image is as the guest wrote it, the guest runs, the target never does`, async () => {
        expect(await faultCase(phase, fault)).toBeGreaterThan(1);
        await sleep(10);
      });
    }
  }
});
