import { describe, expect, it } from 'vitest';
import { DriveError } from '../drive-error.js';
import { USAGE } from './commands.js';
import { runQemuIo, type QemuIoDrive } from './run.js';

const MiB = 1 << 20;

/** A drive in memory that records its writes (as [op, offset, len]). */
function memoryDrive(size = 3 * MiB, readOnly = false) {
  const bytes = new Uint8Array(size);
  const ops: Array<[string, number, number]> = [];
  const drive: QemuIoDrive & { bytes: Uint8Array; ops: typeof ops; refuse?: Error } = {
    size, readOnly, bytes, ops,
    read: async (offset, buf, len) => {
      buf.set(bytes.subarray(offset, offset + len));
    },
    write: async (offset, buf, len) => {
      if (drive.refuse) throw drive.refuse;
      ops.push(['write', offset, len]);
      bytes.set(buf.subarray(0, len), offset);
    },
    writeZeroes: async (offset, len) => {
      if (drive.refuse) throw drive.refuse;
      ops.push(['zeroes', offset, len]);
      bytes.fill(0, offset, offset + len);
    },
    flush: async () => {
      ops.push(['flush', 0, 0]);
    },
  };
  return drive;
}

/** A report with its timing figures replaced (they vary). */
const REPORT = (verb: string, count: number, offset: number, size: string) =>
  new RegExp(`^${verb} ${count}/${count} bytes at offset ${offset}\\n${size.replace('.', '\\.')}, 1 ops; \\d\\d\\.\\d\\d sec \\([0-9.]+ (bytes|KiB|MiB|GiB|TiB)/sec and [0-9.]+ ops/sec\\)\\n$`);

describe('qemu-io write and read', () => {
  it('writes a pattern and reads it back verified, with the reports qemu-io prints', async () => {
    const d = memoryDrive();
    expect(await runQemuIo(d, 'write -P 0xab 2M 4k')).toMatch(REPORT('wrote', 4096, 2097152, '4 KiB'));
    expect(d.bytes.subarray(2 * MiB, 2 * MiB + 4096).every((b) => b === 0xab)).toBe(true);
    expect(await runQemuIo(d, 'read -P 0xab 2M 4k')).toMatch(REPORT('read', 4096, 2097152, '4 KiB'));
    expect(await runQemuIo(d, 'r -P 171 2048k 4096')).toMatch(REPORT('read', 4096, 2097152, '4 KiB'));
    expect(await runQemuIo(d, 'read 0 1536')).toMatch(REPORT('read', 1536, 0, '1.500 KiB'));
  });

  it('writes 0xcd without -P, zeroes with -z, flushes with -f, and says nothing with -q', async () => {
    const d = memoryDrive();
    await runQemuIo(d, 'w 1 3');
    expect([...d.bytes.subarray(0, 5)]).toEqual([0, 0xcd, 0xcd, 0xcd, 0]);
    expect(await runQemuIo(d, 'write -z 1M 64k')).toMatch(REPORT('wrote', 65536, 1048576, '64 KiB'));
    expect(await runQemuIo(d, 'write -q -z -u 0 512')).toBe('');
    expect(await runQemuIo(d, 'write -f -P 1 0 512')).toMatch(/^wrote 512\/512 bytes at offset 0\n/);
    expect(await runQemuIo(d, 'write 0 4k -q')).toBe(''); // options after the operands, as getopt permutes them
    expect(await runQemuIo(d, 'write -z 0 0')).toMatch(REPORT('wrote', 0, 0, '0 bytes'));
    expect(d.ops).toEqual([['write', 1, 3], ['zeroes', MiB, 65536], ['zeroes', 0, 512], ['write', 0, 512], ['flush', 0, 0], ['write', 0, 4096]]);
  });

  it('reports a pattern mismatch at the offset and length verified, then the read', async () => {
    const d = memoryDrive();
    d.bytes.fill(7, 4096, 8192);
    expect(await runQemuIo(d, 'read -P 0xcd 2M 4k')).toMatch(/^Pattern verification failed at offset 2097152, 4096 bytes\nread 4096\/4096 bytes at offset 2097152\n/);
    expect(await runQemuIo(d, 'read -P 7 -s 1k 4k 4k')).toMatch(/^read 4096\/4096/);
    expect(await runQemuIo(d, 'read -s 1k -P 0 4k 4k')).toMatch(/^Pattern verification failed at offset 5120, 3072 bytes\n/);
    expect(await runQemuIo(d, 'read -P 1 -s 2 -l 3 4k 8')).toMatch(/^Pattern verification failed at offset 4098, 3 bytes\n/);
    expect(await runQemuIo(d, 'read -q -P 5 0 1')).toBe('Pattern verification failed at offset 0, 1 bytes\n');
    expect(await runQemuIo(d, 'read -P 1 -s 600 -l 16 0 512')).toBe('pattern verification range exceeds end of read data\n');
  });

  it('large requests go in pieces but are one report', async () => {
    const d = memoryDrive(40 * MiB);
    expect(await runQemuIo(d, 'write -P 3 1M 33M')).toMatch(REPORT('wrote', 33 * MiB, MiB, '33 MiB'));
    expect(d.ops.map(([, o, l]) => [o / MiB, l / MiB])).toEqual([[1, 16], [17, 16], [33, 1]]);
    expect(await runQemuIo(d, 'read -P 3 1M 33M')).toMatch(/^read 34603008\/34603008/);
    // verified ranges across the 16 MiB pieces
    expect(await runQemuIo(d, 'read -P 3 -s 15M -l 2M 0 20M')).toMatch(/^read 20971520\/20971520/);
    expect(await runQemuIo(d, 'read -P 3 -s 33M -l 2M 0 35M')).toMatch(/^Pattern verification failed at offset 34603008, 2097152 bytes\nread 36700160/);
  });

  it('dumps with -v', async () => {
    const d = memoryDrive();
    d.bytes.fill(1, 0, 16);
    expect(await runQemuIo(d, 'read -v 0 16')).toMatch(/^00000000: {2}(01 ){16} \.{16}\nread 16\/16 bytes at offset 0\n/);
  });
});

describe("qemu-io's refusals, in its words", () => {
  it.each([
    ['write 3M 4k', 'write failed: Input/output error\n'],
    ['write 3070k 4k', 'write failed: Input/output error\n'],
    ['read 3M 4k', 'read failed: Input/output error\n'],
    ['write 1T 1', 'write failed: Input/output error\n'],
    ['write 0 1k1', 'Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- 1k1\n'],
    ['write 16E 1', 'Parsing error: argument too large -- 16E\n'],
    ['write 0 3G', 'length cannot exceed 2147483136 without -n, given 3G\n'],
    ['read 0 3G', 'length cannot exceed 2147483136, given 3G\n'],
    ['write -P abc 0 4k', 'abc is not a valid pattern byte\n'],
    ['write -P 0x1ff 0 4k', '0x1ff is not a valid pattern byte\n'],
    ['write -P -1 0 512', '-1 is not a valid pattern byte\n'],
    ['write -P 0x 0 512', '0x is not a valid pattern byte\n'],
    ['write -z -P 1 0 4k', 'Only one of -z, -P, and -s can be specified at the same time\n'],
    ['write -u 0 512', '-u requires -z to be specified\n'],
    ['write -n 0 512', '-n requires -z to be specified\n'],
    ['write -b -z 0 512', '-b and -z cannot be specified at the same time\n'],
    ['write', 'bad argument count 0 to write, expected at least 2 arguments\n'],
    ['write 0', 'bad argument count 1 to write, expected at least 2 arguments\n'],
    ['write -P', 'bad argument count 1 to write, expected at least 2 arguments\n'],
    ['r', 'bad argument count 0 to r, expected at least 2 arguments\n'],
    ['write -P 1 0', USAGE.write],
    ['write -P 1 0 4k 8k', USAGE.write],
    ['read -P 0 0 4k extra', USAGE.read],
    ['read -s 0 0 512', USAGE.read],
    ['write -x 0 4k', `write: invalid option -- 'x'\n${USAGE.write}`],
    ['w -x 0 4k', `w: invalid option -- 'x'\n${USAGE.write}`],
    ['write 0 -1', `write: invalid option -- '1'\n${USAGE.write}`],
    ['read -a 0 1', `read: invalid option -- 'a'\n${USAGE.read}`],
    ['read -P 1 -s', `read: option requires an argument -- 's'\n${USAGE.read}`],
    ['write -- -1 512', 'Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- -1\n'],
    ['read -l x -P 1 0 1', 'Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- x\n'],
    ['bogus', 'command "bogus" not found\n'],
    ['write -c 0 512', "write -c: mig's qemu-io cannot do compressed writes\n"],
  ])('%s', async (line, output) => {
    const d = memoryDrive();
    expect(await runQemuIo(d, line)).toBe(output);
    expect(d.ops).toEqual([]);
  });

  it('says nothing for an empty command line', async () => {
    expect(await runQemuIo(memoryDrive(), '  ')).toBe('');
  });

  it("answers a write to a read-only drive as QEMU's monitor does, after the argument count", async () => {
    const d = memoryDrive(MiB, true);
    expect(await runQemuIo(d, 'write 0 4k')).toBe('Block node is read-only\r\n');
    expect(await runQemuIo(d, 'write -z 0 4k')).toBe('Block node is read-only\r\n');
    expect(await runQemuIo(d, 'write 0')).toBe('bad argument count 1 to write, expected at least 2 arguments\n');
    expect(await runQemuIo(d, 'read 0 4k')).toMatch(/^read 4096\/4096/);
  });

  it('puts the hex-suffix warning first, as the monitor prints it', async () => {
    expect(await runQemuIo(memoryDrive(), 'write 0x1k 512')).toMatch(/^warning: Using a multiplier suffix on hex numbers is deprecated: 0x1k\r\nwrote 512\/512 bytes at offset 1024\n/);
  });

  it("a drive's refusal is qemu-io's write failure with the drive's reason", async () => {
    const d = memoryDrive();
    d.refuse = new DriveError('d0', 'inactive', "drive 'd0' is inactive: the migration is switching over (runstate finish-migrate)");
    expect(await runQemuIo(d, 'write -P 1 0 4k')).toBe("write failed: drive 'd0' is inactive: the migration is switching over (runstate finish-migrate)\n");
    expect(await runQemuIo(d, 'write -z 0 4k')).toMatch(/^write failed: drive 'd0' is inactive/);
  });
});
