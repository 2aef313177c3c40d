import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareBlockSource, prepareBlockTarget } from './block-prep.js';
import { cleanupAll, liveProcessCount } from './cleanup.js';
import { createRawDisk } from './disk.js';
import { fakeVm } from './fake-vm.js';
import { tmpDir } from './files.js';
import { hmpQemuIo } from './hmp.js';
import { startMigration } from './migrate.js';
import { QEMU_SKIP_MESSAGE, requireQemu } from './qemu.js';
import { createBlankDisk, createQcow2Overlay, qemuImgCheck, sha256Disk } from './qemu-img.js';
import { launchVm, type DriveSpec, type Vm } from './vm.js';

const MiB = 1 << 20;

describe('block prep without QEMU', () => {
  it('is a no-op for mig-daemon, which takes writes natively', async () => {
    const { vm, calls } = fakeVm('mig', [{ id: 'd0', file: '/f', format: 'raw' }]);
    await prepareBlockTarget(vm);
    await prepareBlockSource(vm);
    expect(calls).toEqual([]);
  });

  it('leaves read-only drives alone and names a drive the VM does not have', async () => {
    const { vm, calls } = fakeVm('qemu', [{ id: 'r0', file: '/f', format: 'raw', readOnly: true }]);
    await prepareBlockTarget(vm);
    await prepareBlockSource(vm);
    expect(calls).toEqual([]);
    await expect(prepareBlockTarget(vm, ['d9'])).rejects.toThrow(/qemu has no drive 'd9' \(has r0\)/);
  });
});

const hasQemu = requireQemu();

/** A QEMU target on `drives`, listening on a unix socket in `dir`, made ready for block migration if `prepare`. */
async function target(dir: string, drives: DriveSpec[], prepare = true): Promise<{ vm: Vm; uri: string }> {
  const uri = `unix:${join(dir, 'mig.sock')}`;
  const vm = await launchVm({ kind: 'qemu', ramMiB: 4, plainRam: true, paused: true, incoming: 'defer', drives, dir, name: 'target' });
  if (prepare) await prepareBlockTarget(vm);
  await vm.qmp.execute('migrate-incoming', { uri });
  return { vm, uri };
}

function source(drives: DriveSpec[]): Promise<Vm> {
  return launchVm({ kind: 'qemu', ramMiB: 4, plainRam: true, paused: true, drives, name: 'source' });
}

describe.skipIf(!hasQemu)(`QEMU → QEMU block migration with the helpers (${hasQemu ? 'QEMU present' : QEMU_SKIP_MESSAGE})`, () => {
  afterEach(async () => {
    await cleanupAll();
    expect(liveProcessCount()).toBe(0);
  });

  it('blk copies two raw drives; the disks hash equal and the target prints its progress', async () => {
    const dir = await tmpDir();
    const sizes = { d0: 8 * MiB, d1: 2 * MiB };
    const src: DriveSpec[] = [];
    const dst: DriveSpec[] = [];
    for (const [id, size] of Object.entries(sizes)) {
      await createRawDisk(join(dir, `${id}.raw`), size, { seed: size, zeroFraction: 0.5 });
      await createBlankDisk(join(dir, `t-${id}.raw`), size, 'raw');
      src.push({ id, file: join(dir, `${id}.raw`), format: 'raw' });
      dst.push({ id, file: join(dir, `t-${id}.raw`), format: 'raw' });
    }
    const t = await target(dir, dst);
    const s = await source(src);
    await startMigration(s, t.uri, { blk: true });
    expect((await s.waitForMigration()).status).toBe('completed');
    expect((await t.vm.waitForMigration()).status).toBe('completed');
    await s.quit();
    await t.vm.quit();
    for (const id of Object.keys(sizes)) {
      expect(await sha256Disk(join(dir, `t-${id}.raw`), 'raw')).toBe(await sha256Disk(join(dir, `${id}.raw`), 'raw'));
    }
    expect(t.vm.stdout).toMatch(/Receiving block device images\n(Completed \d+ %\r)*Completed 100 %\n/);
  }, 60_000);

  it('inc copies what a qcow2 overlay holds onto an overlay of the same base', async () => {
    const dir = await tmpDir();
    const base = join(dir, 'base.raw');
    await createRawDisk(base, 8 * MiB, { seed: 31 });
    await createQcow2Overlay(join(dir, 'src.qcow2'), base);
    await createQcow2Overlay(join(dir, 'dst.qcow2'), base);
    const t = await target(dir, [{ id: 'd0', file: join(dir, 'dst.qcow2'), format: 'qcow2' }]);
    const s = await source([{ id: 'd0', file: join(dir, 'src.qcow2'), format: 'qcow2' }]);
    await hmpQemuIo(s, 'd0', 'write -P 0x77 5M 4k');
    await startMigration(s, t.uri, { inc: true });
    expect((await s.waitForMigration()).status).toBe('completed');
    expect((await t.vm.waitForMigration()).status).toBe('completed');
    await s.quit();
    await t.vm.quit();
    expect(await sha256Disk(join(dir, 'dst.qcow2'), 'qcow2')).toBe(await sha256Disk(join(dir, 'src.qcow2'), 'qcow2'));
    const check = await qemuImgCheck(join(dir, 'dst.qcow2'));
    expect(check).toMatchObject({ checkErrors: 0, corruptions: 0, leaks: 0 });
    // One 1 MiB chunk travelled (the one holding the 4 KiB write): 16 clusters of 64 KiB on the target.
    expect(check.raw['allocated-clusters']).toBe(16);
  }, 60_000);

  it('without prepareBlockTarget the QEMU target aborts, which is why the helper exists', async () => {
    const dir = await tmpDir();
    await createRawDisk(join(dir, 's.raw'), 2 * MiB, { seed: 2 });
    await createBlankDisk(join(dir, 't.raw'), 2 * MiB, 'raw');
    const t = await target(dir, [{ id: 'd0', file: join(dir, 't.raw'), format: 'raw' }], false);
    const s = await source([{ id: 'd0', file: join(dir, 's.raw'), format: 'raw' }]);
    await startMigration(s, t.uri, { blk: true });
    expect(await t.vm.exited).toEqual({ code: null, signal: 'SIGABRT' });
    expect(t.vm.stderr).toMatch(/Assertion `child->perm & BLK_PERM_WRITE' failed/);
  }, 60_000);

  it('after prepareBlockSource, qemu-io writes made during the migration reach the target', async () => {
    const dir = await tmpDir();
    await createRawDisk(join(dir, 's.raw'), 8 * MiB, { seed: 8, zeroFraction: 0.25 });
    await createBlankDisk(join(dir, 't.raw'), 8 * MiB, 'raw');
    const t = await target(dir, [{ id: 'd0', file: join(dir, 't.raw'), format: 'raw' }]);
    const s = await source([{ id: 'd0', file: join(dir, 's.raw'), format: 'raw' }]);
    await prepareBlockSource(s);
    await startMigration(s, t.uri, { blk: true, maxBandwidth: 4 * MiB });
    let disk: { transferred: number } | undefined;
    while ((disk = (await s.waitForMigration(['active'])).disk) === undefined || disk.transferred < 4 * MiB) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await hmpQemuIo(s, 'd0', 'write -P 0xee 0 64k'); // chunk 0 went out already: it must travel again
    expect((await s.waitForMigration()).status).toBe('completed');
    expect((await t.vm.waitForMigration()).status).toBe('completed');
    await s.quit();
    await t.vm.quit();
    expect(await sha256Disk(join(dir, 't.raw'), 'raw')).toBe(await sha256Disk(join(dir, 's.raw'), 'raw'));
  }, 60_000);
});
