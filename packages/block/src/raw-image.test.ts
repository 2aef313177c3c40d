import { tmpDir } from '@mig/test-helpers';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DiskImageError, openDiskImage } from './index.js';
import { prng, randomBytes } from '../test/patterns.js';

describe('RawImage', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tmpDir('mig-block-raw-');
  });

  it('reads, writes and zeroes the file in place; every range is allocated', async () => {
    const path = join(dir, 'disk.raw');
    const bytes = randomBytes(prng(1), 3 << 20);
    await writeFile(path, bytes);
    const img = await openDiskImage(path);
    expect([img.format, img.virtualSize, img.readOnly]).toEqual(['raw', 3 << 20, false]);
    const data = Buffer.alloc(5000, 0x42);
    await img.write(1_000_000, data, 0, 5000);
    await img.writeZeroes(10, 2_500_000 - 10); // more than one zero chunk
    await img.writeZeroes(2_999_999, 1);
    const out = Buffer.alloc(100);
    await img.read(2_500_000 - 50, out, 0, 100);
    expect(out.equals(Buffer.concat([Buffer.alloc(50), bytes.subarray(2_500_000, 2_500_050)]))).toBe(true);
    expect(await img.allocationStatus(100, 1000)).toEqual([{ offset: 100, length: 1000, allocated: true, zero: false }]);
    expect(await img.allocationStatus(100, 0)).toEqual([]);
    await img.flush();
    await img.close();
    const expected = Buffer.from(bytes);
    data.copy(expected, 1_000_000);
    expected.fill(0, 10, 2_500_000);
    expected[2_999_999] = 0;
    expect((await readFile(path)).equals(expected)).toBe(true);
  });

  it('refuses ranges past the end, bad buffers, writes when read-only, and use after close', async () => {
    const path = join(dir, 'small.raw');
    await writeFile(path, Buffer.alloc(4096));
    const img = await openDiskImage(path, { readOnly: true });
    const buf = Buffer.alloc(512);
    expect(() => img.read(4000, buf, 0, 512)).toThrow(RangeError);
    expect(() => img.read(4000, buf, 0, 512)).toThrow(`${path}: read: range 4000+512 ends past the virtual size 4096`);
    expect(() => img.read(0, buf, 100, 512)).toThrow(/does not fit a buffer of 512 bytes/);
    expect(() => img.read(-1, buf, 0, 1)).toThrow(/non-negative integers/);
    expect(() => img.write(0, buf, 0, 512)).toThrow(DiskImageError);
    expect(() => img.write(0, buf, 0, 512)).toThrow(`${path}: write: image is open read-only`);
    await expect(img.writeZeroes(0, 1)).rejects.toThrow(/read-only/);
    await img.close();
    await img.close(); // twice is fine
    expect(() => img.read(0, buf, 0, 1)).toThrow(/image is closed/);
  });
});
