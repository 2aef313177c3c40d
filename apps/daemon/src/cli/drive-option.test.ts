import { describe, expect, it } from 'vitest';
import { parseDaemonArgs, UsageError } from './args.js';
import { parseDriveOption } from './drive-option.js';

describe('-drive', () => {
  it('takes if=none drives with id, file, format and readonly (several, in order)', () => {
    const c = parseDaemonArgs([
      '-drive', 'if=none,id=d0,file=/t/a.raw,format=raw',
      '-drive', 'if=none,id=d1,file=/t/b,,c.qcow2,format=qcow2,readonly=on',
      '-drive', 'file=/t/e.img,id=d2,if=none,readonly=off,cache=writeback',
    ]);
    expect(c.drives.map(({ option: _, ...d }) => d)).toEqual([
      { id: 'd0', file: '/t/a.raw', format: 'raw', readOnly: false },
      { id: 'd1', file: '/t/b,c.qcow2', format: 'qcow2', readOnly: true },
      { id: 'd2', file: '/t/e.img', readOnly: false },
    ]);
    expect(c.drives[1]!.option).toBe('if=none,id=d1,file=/t/b,,c.qcow2,format=qcow2,readonly=on');
    expect(parseDaemonArgs([]).drives).toEqual([]);
  });

  it('reads readonly as QEMU reads a boolean', () => {
    expect(parseDriveOption('if=none,id=d,file=f,readonly=yes').readOnly).toBe(true);
    expect(parseDriveOption('if=none,id=d,file=f,readonly=false').readOnly).toBe(false);
    expect(parseDriveOption('if=none,id=d,file=f,readonly').readOnly).toBe(true);
  });

  it.each([
    ['if=none,id=d0,file=/f,format=vmdkx', "-drive if=none,id=d0,file=/f,format=vmdkx: Unknown driver 'vmdkx'"],
    ['if=none,id=d0,file=/f,format=raw,colour=red', "Block format 'raw' does not support the option 'colour'"],
    ['id=d0,file=/f,format=raw', 'machine type does not support if=ide,bus=0,unit=0'],
    ['if=virtio,id=d0,file=/f', 'machine type does not support if=virtio'],
    ['if=none,file=/f,format=raw', "Parameter 'id' is missing"],
    ['if=none,id=0d,file=/f', "Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter."],
    [`if=none,id=d${'x'.repeat(255)},file=/f`, "Parameter 'id' is longer than 255 bytes"],
    ['if=none,id=d0,format=raw', 'A block device must be specified for "file"'],
    ['if=none,id=d0,file=/f,readonly=maybe', "Parameter 'read-only' expects 'on' or 'off'"],
    ['if=none,id=d0,file=/f,cache=bogus', 'invalid cache option'],
    ['if=none,id=d0,file=/f,cache=none', 'cache=none is not supported by mig'],
    ['if=none,id=d0,file=/f,media=cdrom', 'media=cdrom is not supported by mig'],
  ])('%s → %s', (text, message) => {
    expect(() => parseDaemonArgs(['-drive', text])).toThrow(UsageError);
    expect(() => parseDaemonArgs(['-drive', text])).toThrow(message);
  });

  it("refuses a second drive with the same id in QEMU's words, naming the second option", () => {
    expect(() => parseDaemonArgs(['-drive', 'if=none,id=d0,file=/a', '-drive', 'if=none,id=d0,file=/b'])).toThrow(
      "-drive if=none,id=d0,file=/b: Duplicate ID 'd0' for drive",
    );
  });
});

describe('-disk-workload', () => {
  const drive = ['-drive', 'if=none,id=d0,file=/a'];

  it('parses drive, rate, region, pattern and block', () => {
    const c = parseDaemonArgs([...drive, '-disk-workload', 'drive=d0,rate=4M/s,region=1M+8M,pattern=sparse,block=4k']);
    expect(c.diskWorkloads).toEqual([{ drive: 'd0', rate: 4 << 20, offset: 1 << 20, length: 8 << 20, pattern: 'sparse', block: 4096 }]);
  });

  it.each([
    ['rate=1M/s', "Parameter 'drive' is missing"],
    ['drive=d0', "Parameter 'rate' is missing"],
    ['drive=d0,rate=fast', "rate=fast: invalid rate 'fast'"],
    ['drive=d0,rate=1M,region=1M', 'region=1M: expected OFFSET+LENGTH'],
    ['drive=d0,rate=1M,pattern=loud', 'pattern=loud: expected one of random, sparse, zero'],
    ['drive=d0,rate=1M,colour=red', "property 'colour' not found"],
    ['drive=d9,rate=1M', "-disk-workload drive=d9: there is no -drive with id 'd9'"],
  ])('%s → %s', (text, message) => {
    expect(() => parseDaemonArgs([...drive, '-disk-workload', text])).toThrow(message);
  });

  it('allows one workload per drive', () => {
    expect(() => parseDaemonArgs([...drive, '-disk-workload', 'drive=d0,rate=1M', '-disk-workload', 'drive=d0,rate=2M'])).toThrow(
      "drive 'd0' already has a disk workload",
    );
  });
});
