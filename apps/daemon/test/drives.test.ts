// mig-daemon's drives from the outside: the built daemon launched with -drive, driven over QMP as a harness
// drives QEMU. query-block is compared with QEMU 7.2's own reply for the same drives; qemu-io goes through
// the test helpers' hmpQemuIo, unchanged; the disk workload changes the image. `pnpm test` builds first.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  HmpQemuIoError, cleanupAll, createQcow2Overlay, createRawDisk, hmpQemuIo, launchVm, qemuImgCheck, requireQemu, sha256Disk, tmpDir,
  type DriveSpec, type Vm,
} from '@mig/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MiB = 1 << 20;
const hasQemu = requireQemu();

let dir = '';
let drives: DriveSpec[] = [];

beforeAll(async () => {
  dir = await tmpDir('mig-daemon-drives-');
  await createRawDisk(join(dir, 'd0.raw'), 4 * MiB, { seed: 1, zeroUnits: [3] });
  await createRawDisk(join(dir, 'base.raw'), 4 * MiB, { seed: 2 });
  await createRawDisk(join(dir, 'r0.raw'), MiB + 512, { seed: 3 });
  await createQcow2Overlay(join(dir, 'd1.qcow2'), join(dir, 'base.raw'));
  drives = [
    { id: 'd0', file: join(dir, 'd0.raw'), format: 'raw' },
    { id: 'd1', file: join(dir, 'd1.qcow2'), format: 'qcow2' },
    { id: 'r0', file: join(dir, 'r0.raw'), format: 'raw', readOnly: true },
  ];
}, 30_000);
afterAll(cleanupAll);

type Json = Record<string, unknown>;

/** query-block without what differs by nature between two processes: node names, QEMU's format-specific. */
function comparable(blocks: unknown): unknown {
  const strip = (image: Json | undefined): Json | undefined => {
    if (image === undefined) return undefined;
    const { 'format-specific': _, 'backing-image': backing, ...rest } = image;
    return backing === undefined ? rest : { ...rest, 'backing-image': strip(backing as Json) };
  };
  return (blocks as Json[]).map((b) => {
    const { 'node-name': node, image, ...inserted } = b.inserted as Json;
    expect(node).toMatch(/^#block\d+$/);
    return { ...b, inserted: { ...inserted, image: strip(image as Json) } };
  });
}

const launch = (kind: 'qemu' | 'mig'): Promise<Vm> => launchVm({ kind, ramMiB: 4, plainRam: true, paused: true, drives, dir });

describe('mig-daemon with -drive', () => {
  it.skipIf(!hasQemu)("answers query-block as QEMU 7.2 does for a raw drive, a qcow2 overlay on raw and a read-only drive", async () => {
    const qemu = await launch('qemu');
    const theirs = await qemu.qmp.execute('query-block');
    await qemu.quit();
    const mig = await launch('mig');
    const ours = await mig.qmp.queryBlock();
    await mig.quit();
    expect(comparable(ours)).toEqual(comparable(theirs));
  }, 60_000);

  it('qemu-io writes and reads back through hmpQemuIo; a bad pattern, a read-only drive and an unknown drive fail', async () => {
    const vm = await launch('mig');
    try {
      expect(await hmpQemuIo(vm, 'd0', 'write -P 0xab 1M 64k')).toMatch(/^wrote 65536\/65536 bytes at offset 1048576\n64 KiB, 1 ops; /);
      expect(await hmpQemuIo(vm, 'd0', 'read -P 0xab 1M 64k')).toMatch(/^read 65536\/65536 bytes at offset 1048576\n/);
      const [, d1] = await vm.qmp.queryBlock();
      expect(await hmpQemuIo(vm, d1!.inserted!['node-name']!, 'write -z 0 64k')).toMatch(/^wrote 65536\/65536/);
      await expect(hmpQemuIo(vm, 'd0', 'read -P 0xcd 1M 64k')).rejects.toThrow(/Pattern verification failed at offset 1048576, 65536 bytes/);
      await expect(hmpQemuIo(vm, 'd0', 'write 4M 4k')).rejects.toThrow(/write failed: Input\/output error/);
      await expect(hmpQemuIo(vm, 'd0', 'write 0 1k1')).rejects.toThrow(/Parsing error/);
      await expect(hmpQemuIo(vm, 'r0', 'write 0 4k')).rejects.toThrow(/Block node is read-only/);
      await expect(hmpQemuIo(vm, 'nosuch', 'write 0 4k')).rejects.toThrow(/Cannot find device='' nor node-name='nosuch'/);
      const err = await hmpQemuIo(vm, 'd0', 'bogus').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HmpQemuIoError);
      expect((err as Error).message).toMatch(/command "bogus" not found/);
    } finally {
      await vm.quit();
    }
    // quit flushed and closed the images: the data is in the files, the overlay is consistent
    const check = await qemuImgCheck(join(dir, 'd1.qcow2'));
    expect([check.corruptions, check.leaks, check.checkErrors]).toEqual([0, 0, 0]);
  }, 60_000);

  it('the disk workload writes the drive while the guest runs, and the image stays consistent', async () => {
    const before = await sha256Disk(join(dir, 'd1.qcow2'), 'qcow2');
    const vm = await launch('mig');
    try {
      await vm.qmp.xMigDiskWorkload({ drive: 'd1', action: 'start', rate: 8 * MiB, offset: MiB, length: 2 * MiB, block: 64 << 10 });
      await sleep(200);
      expect((await vm.qmp.xMigQueryDiskWorkload())[0]).toMatchObject({ drive: 'd1', active: true, running: false, writes: 0 });
      await vm.qmp.cont();
      let info = (await vm.qmp.xMigQueryDiskWorkload())[0]!;
      for (let i = 0; i < 100 && info.writes < 10; i++) {
        await sleep(20);
        info = (await vm.qmp.xMigQueryDiskWorkload())[0]!;
      }
      expect(info.writes).toBeGreaterThanOrEqual(10);
      expect(info['last-offsets'].every((o) => o >= MiB && o < 3 * MiB && o % (64 << 10) === 0)).toBe(true);
      await vm.qmp.stop();
      const stopped = (await vm.qmp.xMigQueryDiskWorkload())[0]!;
      await sleep(100);
      expect((await vm.qmp.xMigQueryDiskWorkload())[0]).toMatchObject({ running: false, writes: stopped.writes, errors: 0 });
      await expect(vm.qmp.xMigDiskWorkload({ drive: 'r0', action: 'start', rate: MiB })).rejects.toThrow("x-mig-disk-workload: drive 'r0' is read-only");
    } finally {
      await vm.quit();
    }
    expect(await sha256Disk(join(dir, 'd1.qcow2'), 'qcow2')).not.toBe(before);
    const check = await qemuImgCheck(join(dir, 'd1.qcow2'));
    expect([check.corruptions, check.leaks, check.checkErrors]).toEqual([0, 0, 0]);
  }, 60_000);

  it('refuses to start with a drive it cannot open, in QEMU\'s words', async () => {
    const err = await launchVm({ kind: 'mig', ramMiB: 4, plainRam: true, drives: [{ id: 'x', file: join(dir, 'missing.raw'), format: 'raw' }], dir }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/mig-daemon: -drive if=none,id=x,file=.*missing\.raw,format=raw: Could not open '.*missing\.raw': No such file or directory/);
  }, 30_000);
});
