import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll } from './cleanup.js';
import { createRawDisk } from './disk.js';
import { sha256File, tmpDir } from './files.js';
import { hmpQemuIo } from './hmp.js';
import { QEMU_SKIP_MESSAGE, requireQemu } from './qemu.js';
import { QemuImgError, createBlankDisk, createQcow2Overlay, qemuImgCheck, qemuImgInfo, sha256Disk } from './qemu-img.js';
import { launchVm } from './vm.js';

const hasQemu = requireQemu();
const MiB = 1 << 20;

/** Points the first L1 entry of a qcow2 image half a sector off, which `qemu-img check` calls corruption. */
async function corruptFirstL1Entry(path: string): Promise<void> {
  const img = await readFile(path);
  const l1 = Number(img.readBigUInt64BE(40)); // l1_table_offset in the qcow2 header
  img.writeBigUInt64BE(img.readBigUInt64BE(l1) + 512n, l1);
  await writeFile(path, img);
}

describe.skipIf(!hasQemu)(`qemu-img helpers (${hasQemu ? 'QEMU present' : QEMU_SKIP_MESSAGE})`, () => {
  afterEach(cleanupAll);

  it('creates blank disks of the size asked for, which hash as zeros', async () => {
    const dir = await tmpDir();
    await createBlankDisk(join(dir, 'b.raw'), 3 * MiB + 512, 'raw');
    await createBlankDisk(join(dir, 'b.qcow2'), 2 * MiB, 'qcow2');
    expect((await qemuImgInfo(join(dir, 'b.raw'), 'raw')).virtualSize).toBe(3 * MiB + 512);
    const q = await qemuImgInfo(join(dir, 'b.qcow2'));
    expect(q).toMatchObject({ format: 'qcow2', virtualSize: 2 * MiB, clusterSize: 65536 });
    await writeFile(join(dir, 'zeros'), Buffer.alloc(2 * MiB));
    expect(await sha256Disk(join(dir, 'b.qcow2'), 'qcow2')).toBe(await sha256File(join(dir, 'zeros')));
  });

  it('an overlay reads through to its base until written, and sha256Disk sees the difference', async () => {
    const dir = await tmpDir();
    const base = join(dir, 'base.raw');
    const top = join(dir, 'top.qcow2');
    await createRawDisk(base, 4 * MiB, { seed: 12, zeroFraction: 0.5 });
    await createQcow2Overlay(top, base);
    const info = await qemuImgInfo(top);
    expect(info).toMatchObject({ format: 'qcow2', virtualSize: 4 * MiB, backingFilename: base });
    expect(await sha256Disk(top, 'qcow2')).toBe(await sha256File(base));

    const vm = await launchVm({ kind: 'qemu', ramMiB: 4, plainRam: true, paused: true, drives: [{ id: 'd0', file: top, format: 'qcow2' }] });
    await hmpQemuIo(vm, 'd0', 'write -P 0x5a 1M 64k');
    await vm.quit();
    const expected = await readFile(base);
    expected.fill(0x5a, MiB, MiB + 65536);
    await writeFile(join(dir, 'expected'), expected);
    expect(await sha256Disk(top, 'qcow2')).toBe(await sha256File(join(dir, 'expected')));
    expect(await sha256File(base)).not.toBe(await sha256File(join(dir, 'expected'))); // the base is untouched
    expect((await qemuImgCheck(top)).raw['allocated-clusters']).toBe(1);
  });

  it('qemuImgCheck reports a clean image, and a corrupt one without throwing', async () => {
    const dir = await tmpDir();
    const img = join(dir, 'c.qcow2');
    await createBlankDisk(img, 4 * MiB, 'qcow2');
    const vm = await launchVm({ kind: 'qemu', ramMiB: 4, plainRam: true, paused: true, drives: [{ id: 'd0', file: img, format: 'qcow2' }] });
    await hmpQemuIo(vm, 'd0', 'write -P 1 0 64k');
    await vm.quit();
    expect(await qemuImgCheck(img)).toMatchObject({ format: 'qcow2', checkErrors: 0, corruptions: 0, leaks: 0, exitCode: 0 });
    await corruptFirstL1Entry(img);
    const bad = await qemuImgCheck(img);
    expect(bad.exitCode).toBe(2);
    expect(bad.corruptions).toBeGreaterThan(0);
  });

  it('names the failing qemu-img command and its complaint', async () => {
    const dir = await tmpDir();
    await createBlankDisk(join(dir, 'r.raw'), MiB, 'raw');
    const err = await qemuImgCheck(join(dir, 'r.raw'), 'raw').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QemuImgError);
    expect((err as QemuImgError).message).toMatch(/qemu-img check .* failed \(exit 63\): .*does not support checks/);
    await expect(sha256Disk(join(dir, 'missing.qcow2'), 'qcow2')).rejects.toThrow(/qemu-img convert .*Could not open/);
    await expect(createBlankDisk(join(dir, 'z'), 0, 'raw')).rejects.toThrow(/positive integer/);
  });
});
