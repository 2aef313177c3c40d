import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll } from './cleanup.js';
import { createRawDisk } from './disk.js';
import { tmpDir } from './files.js';
import { HmpQemuIoError, hmpQemuIo } from './hmp.js';
import { QEMU_SKIP_MESSAGE, requireQemu } from './qemu.js';
import { launchVm, type Vm } from './vm.js';

const hasQemu = requireQemu();

describe.skipIf(!hasQemu)(`hmpQemuIo with QEMU (${hasQemu ? 'present' : QEMU_SKIP_MESSAGE})`, () => {
  let vm: Vm;
  beforeAll(async () => {
    const dir = await tmpDir();
    await createRawDisk(join(dir, 'd0.raw'), 2 << 20, { seed: 1 });
    await createRawDisk(join(dir, 'r0.raw'), 1 << 20, { seed: 2 });
    vm = await launchVm({
      kind: 'qemu', ramMiB: 4, plainRam: true, paused: true, dir,
      drives: [
        { id: 'd0', file: join(dir, 'd0.raw'), format: 'raw' },
        { id: 'r0', file: join(dir, 'r0.raw'), format: 'raw', readOnly: true },
      ],
    });
  });
  afterAll(cleanupAll);

  it('writes and verifies a pattern, returning qemu-io report', async () => {
    expect(await hmpQemuIo(vm, 'd0', 'write -P 0xab 64k 4k')).toMatch(/wrote 4096\/4096 bytes at offset 65536/);
    expect(await hmpQemuIo(vm, 'd0', 'read -P 0xab 64k 4k')).toMatch(/read 4096\/4096 bytes at offset 65536/);
  });

  it('throws when qemu-io reports a failure that HMP itself does not signal', async () => {
    await expect(hmpQemuIo(vm, 'd0', 'read -P 0xcd 64k 4k')).rejects.toThrow(/Pattern verification failed/);
    await expect(hmpQemuIo(vm, 'd0', 'write 2M 4k')).rejects.toThrow(/write failed: Input\/output error/);
    await expect(hmpQemuIo(vm, 'd0', 'write 0 1k1')).rejects.toThrow(/Parsing error/);
    await expect(hmpQemuIo(vm, 'r0', 'write 0 4k')).rejects.toThrow(/read-only/);
    await expect(hmpQemuIo(vm, 'nosuch', 'write 0 4k')).rejects.toThrow(/Cannot find device/);
    const err = await hmpQemuIo(vm, 'd0', 'bogus').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HmpQemuIoError);
    expect(err).toMatchObject({ drive: 'd0', command: 'bogus' });
    expect((err as Error).message).toMatch(/qemu-io d0 "bogus" failed: command "bogus" not found/);
  });

  it('refuses arguments that would break the HMP command line', async () => {
    await expect(hmpQemuIo(vm, 'd0', 'write "0" 4k')).rejects.toThrow(RangeError);
    await expect(hmpQemuIo(vm, 'd 0', 'write 0 4k')).rejects.toThrow(/bad drive name/);
  });
});
