import { describe, expect, it } from 'vitest';
import { formatBytes, formatElapsed, hexDump, ioReport } from './report.js';

// The strings are qemu-io 7.2's, copied from its output.
describe('qemu-io report', () => {
  it.each([
    [4096, '4 KiB'], [65536, '64 KiB'], [1536, '1.500 KiB'], [1 << 20, '1 MiB'], [2146435072, '1.999 GiB'], [1610612736, '1.500 GiB'],
    [0, '0 bytes'], [1, '1 bytes'], [3, '3 bytes'], [512, '512 bytes'], [840.79445, '840.794450 bytes'], [1.0005, '1 bytes'],
    [30.4 * 2 ** 20, '30.400 MiB'], [2 ** 40, '1 TiB'], [2 ** 60, '1 EiB'],
  ])('%d bytes show as %j', (value, text) => {
    expect(formatBytes(value)).toBe(text);
  });

  it.each([[0.001, '00.00 sec'], [0.24, '00.24 sec'], [6.72, '0:00:06.72'], [75.5, '0:01:15.50'], [3723.25, '1:02:03.25']])('%d s shows as %j', (s, text) => {
    expect(formatElapsed(s)).toBe(text);
  });

  it('reports a request in two lines', () => {
    expect(ioReport('wrote', 2097152, 4096, 4096 / (30.4 * 2 ** 20))).toBe(
      'wrote 4096/4096 bytes at offset 2097152\n4 KiB, 1 ops; 00.00 sec (30.400 MiB/sec and 7782.4000 ops/sec)\n',
    );
    expect(ioReport('read', 0, 0, 1 / 18359.4037)).toBe('read 0/0 bytes at offset 0\n0 bytes, 1 ops; 00.00 sec (0 bytes/sec and 18359.4037 ops/sec)\n');
  });

  it('dumps as read -v does: 16 a line, letters and digits shown', () => {
    expect(hexDump(new Uint8Array(16).fill(1), 0)).toBe('00000000:  01 01 01 01 01 01 01 01 01 01 01 01 01 01 01 01  ................\n');
    expect(hexDump(Uint8Array.from([0x41, 0x7a, 0x30, 0x20, 0x2e]), 0x1010)).toBe('00001010:  41 7a 30 20 2e  Az0..\n');
  });
});
