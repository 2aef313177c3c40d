import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, liveProcessCount } from './cleanup.js';
import { sha256File, tmpDir } from './files.js';
import { fillRamFile } from './fill.js';
import { startMigration } from './migrate.js';
import { QEMU_SKIP_MESSAGE, requireQemu } from './qemu.js';
import { VmStartError, driveArg, launchVm, vmArgv } from './vm.js';

describe('vmArgv', () => {
  it('builds the QEMU-shaped argv', () => {
    expect(
      vmArgv({ kind: 'mig', ramMiB: 64, ramFile: '/t/r', incoming: 'defer', paused: true, name: 'x' }, '/t/q.sock'),
    ).toEqual([
      '-machine', 'none,memory-backend=mem0', '-m', '64M',
      '-object', 'memory-backend-file,id=mem0,size=64M,mem-path=/t/r,share=on',
      '-nodefaults', '-display', 'none', '-qmp', 'unix:/t/q.sock,server=on,wait=off',
      '-name', 'x', '-S', '-incoming', 'defer',
    ]);
    expect(vmArgv({ kind: 'qemu', ramMiB: 8, backendId: 'b1' }, '/q')).toContain('memory-backend-ram,id=b1,size=8M');
    expect(() => vmArgv({ kind: 'qemu', ramMiB: 0 }, '/q')).toThrow(/ramMiB/);
  });

  it('puts each drive as -drive if=none after the common arguments and before extraArgs', () => {
    const argv = vmArgv(
      {
        kind: 'qemu', ramMiB: 4, plainRam: true, extraArgs: ['-S'],
        drives: [
          { id: 'd0', file: '/t/a.raw', format: 'raw' },
          { id: 'd1', file: '/t/b.qcow2', format: 'qcow2', readOnly: true },
        ],
      },
      '/q',
    );
    expect(argv.slice(-5)).toEqual([
      '-drive', 'if=none,id=d0,file=/t/a.raw,format=raw',
      '-drive', 'if=none,id=d1,file=/t/b.qcow2,format=qcow2,readonly=on',
      '-S',
    ]);
    expect(vmArgv({ kind: 'qemu', ramMiB: 4 }, '/q')).not.toContain('-drive');
  });

  it('doubles commas in drive paths and rejects ids and formats QEMU would not take', () => {
    expect(driveArg({ id: 'd0', file: '/t/a,b.raw', format: 'raw' })).toBe('if=none,id=d0,file=/t/a,,b.raw,format=raw');
    expect(() => driveArg({ id: '0d', file: '/f', format: 'raw' })).toThrow(/drive id must start with a letter.*'0d'/);
    expect(() => driveArg({ id: 'd,0', file: '/f', format: 'raw' })).toThrow(/drive id/);
    expect(() => driveArg({ id: 'x'.repeat(256), file: '/f', format: 'raw' })).toThrow(/at most 255/);
    expect(() => driveArg({ id: 'd0', file: '/f', format: 'vmdk' as 'raw' })).toThrow(/drive d0: format must be raw or qcow2, got 'vmdk'/);
    expect(() => driveArg({ id: 'd0', file: '', format: 'raw' })).toThrow(/drive d0: file is empty/);
  });
});

const hasQemu = requireQemu();

describe.skipIf(!hasQemu)(`launchVm with QEMU (${hasQemu ? 'present' : QEMU_SKIP_MESSAGE})`, () => {
  afterEach(async () => {
    await cleanupAll();
    expect(liveProcessCount()).toBe(0);
  });

  it('launches, answers QMP, hashes RAM like the backing file, and quits', async () => {
    const dir = await tmpDir();
    const ram = join(dir, 'ram');
    await fillRamFile(ram, 16 << 20, { seed: 5, zeroFraction: 0.5 });
    const vm = await launchVm({ kind: 'qemu', ramMiB: 16, ramFile: ram, paused: true });
    expect(await vm.runState()).toBe('prelaunch');
    expect(await vm.hashRam()).toBe(await sha256File(ram));
    await vm.quit();
    expect((await vm.exited).code).toBe(0);
  });

  it('reports a start failure with the stderr text', async () => {
    const err = await launchVm({ kind: 'qemu', ramMiB: 16, extraArgs: ['-no-such-option'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VmStartError);
    // QEMU's own complaint, captured from its stderr (not just our argv echoed back).
    expect((err as VmStartError).stderr).toMatch(/invalid option/);
    expect((err as VmStartError).message).toMatch(/exited before QMP answered/);
  });

  it('cleanupAll kills what the test left running and removes its dir', async () => {
    const vm = await launchVm({ kind: 'qemu', ramMiB: 8 });
    await cleanupAll();
    expect(vm.proc.exitCode !== null || vm.proc.signalCode !== null).toBe(true);
    expect(existsSync(vm.dir)).toBe(false);
  });

  it('migrates QEMU → QEMU over unix and waitForMigration returns completed on both ends', async () => {
    const dir = await tmpDir();
    const ram = join(dir, 'ram');
    await fillRamFile(ram, 32 << 20, { seed: 9, zeroFraction: 0.3 });
    const uri = `unix:${join(dir, 'mig.sock')}`;
    const dst = await launchVm({ kind: 'qemu', ramMiB: 32, incoming: uri });
    const src = await launchVm({ kind: 'qemu', ramMiB: 32, ramFile: ram });
    await startMigration(src, uri);
    expect((await src.waitForMigration()).status).toBe('completed');
    expect((await dst.waitForMigration()).status).toBe('completed');
    expect(await dst.hashRam()).toBe(await sha256File(ram));
  });
});
