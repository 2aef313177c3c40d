import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDriveOption } from '../cli/drive-option.js';
import { Drives } from '../block/drives.js';
import { parseQemuIoArgs, qemuIoMonitorCommand } from './hmp-qemu-io.js';

const MiB = 1 << 20;
const TRY = 'Try "help qemu-io" for more information\r\n';

describe("HMP qemu-io's arguments", () => {
  it('takes a drive and one string, quoted with escapes or a single word', () => {
    expect(parseQemuIoArgs(' d0 "write -P 0xab 0 4k"')).toEqual({ qdev: false, device: 'd0', command: 'write -P 0xab 0 4k' });
    expect(parseQemuIoArgs(' d0 "read 0 4k" ')).toEqual({ qdev: false, device: 'd0', command: 'read 0 4k' });
    expect(parseQemuIoArgs(' #block123 bogus')).toEqual({ qdev: false, device: '#block123', command: 'bogus' });
    expect(parseQemuIoArgs(' d0 "re\\"ad \\\\ 0"')).toEqual({ qdev: false, device: 'd0', command: 're"ad \\ 0' });
    expect(parseQemuIoArgs(' -d dev0 "read 0 1"')).toEqual({ qdev: true, device: 'dev0', command: 'read 0 1' });
  });

  it.each([
    ['', `qemu-io: block device name expected\r\n${TRY}`],
    [' d0', `qemu-io: string expected\r\n${TRY}`],
    [' d0 write 0 4k', `qemu-io: extraneous characters at the end of line\r\n${TRY}`],
    [' d0 "write 0 4k" x', `qemu-io: extraneous characters at the end of line\r\n${TRY}`],
    [' d0 "write 0 4k', `unterminated string\r\nqemu-io: string expected\r\n${TRY}`],
    [' d0 "a\\qb"', `unsupported escape code: '\\q'\r\nqemu-io: string expected\r\n${TRY}`],
  ])('%j → the monitor error', (rest, reply) => {
    expect(parseQemuIoArgs(rest)).toEqual({ reply });
  });
});

describe('qemu-io on real drives', () => {
  let dir = '';
  const state = { runstate: 'running' };
  const drives = new Drives(() => state.runstate);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mig-hmp-qemu-io-'));
    await writeFile(join(dir, 'd0.raw'), Buffer.alloc(4 * MiB));
    await writeFile(join(dir, 'r0.raw'), Buffer.alloc(MiB));
    await drives.open([
      parseDriveOption(`if=none,id=d0,file=${join(dir, 'd0.raw')},format=raw`),
      parseDriveOption(`if=none,id=r0,file=${join(dir, 'r0.raw')},format=raw,readonly=on`),
    ]);
  });
  afterAll(async () => {
    await drives.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes through the drive as the guest (chunks dirty), found by id or node name', async () => {
    expect(await qemuIoMonitorCommand(' d0 "write -P 0xab 2M 4k"', drives)).toMatch(/^wrote 4096\/4096 bytes at offset 2097152\n4 KiB, 1 ops; /);
    expect(drives.get('d0')!.dirty.test(2)).toBe(true);
    const node = drives.get('d0')!.nodeName;
    expect(await qemuIoMonitorCommand(` ${node} "read -P 0xab 2M 4k"`, drives)).toMatch(/^read 4096\/4096 bytes at offset 2097152\n/);
    expect(await qemuIoMonitorCommand(' d0 "read -P 0xcd 2M 4k"', drives)).toMatch(/^Pattern verification failed at offset 2097152, 4096 bytes\n/);
    await drives.get('d0')!.flush();
    expect((await readFile(join(dir, 'd0.raw')))[2 * MiB]).toBe(0xab);
  });

  it("names an unknown drive and a -d device as QEMU does, refuses a read-only drive's writes", async () => {
    expect(await qemuIoMonitorCommand(' nosuch "write 0 4k"', drives)).toBe("Error: Cannot find device='' nor node-name='nosuch'\r\n");
    expect(await qemuIoMonitorCommand(' -d d0 "read 0 1"', drives)).toBe("Error: Device 'd0' not found\r\n");
    expect(await qemuIoMonitorCommand(' r0 "write 0 4k"', drives)).toBe('Block node is read-only\r\n');
    expect(await qemuIoMonitorCommand(' r0 "read 0 4k"', drives)).toMatch(/^read 4096\/4096/);
  });

  it('refuses guest writes while the image is inactive, naming why', async () => {
    state.runstate = 'postmigrate';
    try {
      expect(await qemuIoMonitorCommand(' d0 "write 0 4k"', drives)).toMatch(/^write failed: drive 'd0' is inactive: the migration has completed .*\(runstate postmigrate\)\n$/);
      expect(await qemuIoMonitorCommand(' d0 "read 0 4k"', drives)).toMatch(/^read 4096\/4096/);
    } finally {
      state.runstate = 'running';
    }
  });
});
