// createQcow2 makes what qemu-img create makes: qemu-img info/check agree on every field we set.
import { tmpDir } from '@mig/test-helpers';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DiskImageError, Qcow2Image, createQcow2, openDiskImage } from '../index.js';
import { prng, qemuRawBytes, randomBytes, readAll } from '../../test/patterns.js';
import { qemuImg, qemuImgCheck, requireQemuUtils } from '../../test/qemu-tools.js';

interface Info {
  'virtual-size': number;
  'cluster-size': number;
  'backing-filename'?: string;
  'backing-filename-format'?: string;
  'format-specific': { data: { compat: string; 'refcount-bits': number } };
}

describe('createQcow2 argument checks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tmpDir('mig-block-create-args-');
  });

  it('refuses bad sizes, cluster sizes and refcount widths with the image named', async () => {
    const p = join(dir, 'x.qcow2');
    await expect(createQcow2(p, { virtualSize: 1000 })).rejects.toThrow(`${p}: virtual size 1000 must be a non-negative multiple of 512`);
    await expect(createQcow2(p, { virtualSize: 1 << 20, clusterSize: 3000 })).rejects.toThrow(/cluster size 3000/);
    await expect(createQcow2(p, { virtualSize: 1 << 20, clusterSize: 4 << 20 })).rejects.toThrow(/from 512 to 2 MiB/);
    await expect(createQcow2(p, { virtualSize: 1 << 20, refcountBits: 12 })).rejects.toThrow(/refcount bits 12/);
    await expect(createQcow2(p, { virtualSize: 1 << 20, version: 2, refcountBits: 8 })).rejects.toThrow(/16-bit/);
    await expect(createQcow2(p, {})).rejects.toThrow(/needs a virtualSize/);
    await expect(createQcow2(p, { backingFile: 'missing.raw' })).rejects.toThrow(DiskImageError);
    await expect(createQcow2(p, { backingFile: 'missing.raw' })).rejects.toThrow(/missing\.raw: cannot open: ENOENT/);
  });

  it('takes the size and format of the backing file when not given', async () => {
    await writeFile(join(dir, 'b.raw'), Buffer.alloc(3 << 20));
    const p = join(dir, 'over.qcow2');
    await createQcow2(p, { backingFile: 'b.raw' });
    const img = await openDiskImage(p, { readOnly: true });
    expect(img).toBeInstanceOf(Qcow2Image);
    expect(img.virtualSize).toBe(3 << 20);
    expect((img as Qcow2Image).backingFile).toBe('b.raw');
    expect(img.backing?.format).toBe('raw');
    expect(img.backing?.path).toBe(join(dir, 'b.raw'));
    await img.close();
  });
});

describe.skipIf(!requireQemuUtils())('createQcow2 judged by qemu-img info and check', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tmpDir('mig-block-create-');
    await writeFile(join(dir, 'base.raw'), randomBytes(prng(9), 2 << 20));
  });

  it.each([
    { version: 3 as const, clusterSize: 65536, virtualSize: 16 << 20, refcountBits: 16 },
    { version: 2 as const, clusterSize: 65536, virtualSize: 16 << 20, refcountBits: 16 },
    { version: 3 as const, clusterSize: 4096, virtualSize: 64 << 20, refcountBits: 8 },
    { version: 3 as const, clusterSize: 2 << 20, virtualSize: 1 << 30, refcountBits: 64 },
    // A 1 MiB L1 table: the layout needs many refcount blocks for its own metadata.
    { version: 3 as const, clusterSize: 512, virtualSize: 4 * 2 ** 30, refcountBits: 16 },
    { version: 3 as const, clusterSize: 65536, virtualSize: 0, refcountBits: 16 },
    { version: 3 as const, clusterSize: 512, virtualSize: 1 << 30, refcountBits: 1 },
  ])('v$version cluster $clusterSize size $virtualSize refcount_bits $refcountBits', async (o) => {
    const p = join(dir, `new-${o.version}-${o.clusterSize}-${o.virtualSize}-${o.refcountBits}.qcow2`);
    await createQcow2(p, o);
    const info = JSON.parse(await qemuImg('info', '--output=json', p)) as Info;
    expect(info['virtual-size']).toBe(o.virtualSize);
    expect(info['cluster-size']).toBe(o.clusterSize);
    expect(info['format-specific'].data.compat).toBe(o.version === 3 ? '1.1' : '0.10');
    expect(info['format-specific'].data['refcount-bits']).toBe(o.refcountBits);
    expect(await qemuImgCheck(p)).toMatchObject({ code: 0, 'check-errors': 0 });
    const img = await openDiskImage(p);
    expect(img.virtualSize).toBe(o.virtualSize);
    await img.close();
  });

  it('makes an overlay as qemu-img create -f qcow2 -b base -F raw does, relative name and all', async () => {
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'base.raw'), randomBytes(prng(4), 1 << 20));
    const p = join(dir, 'sub', 'overlay.qcow2');
    await createQcow2(p, { backingFile: 'base.raw', backingFormat: 'raw', virtualSize: 2 << 20, version: 2 });
    const info = JSON.parse(await qemuImg('info', '--output=json', p)) as Info;
    expect(info['backing-filename']).toBe('base.raw');
    expect(info['backing-filename-format']).toBe('raw');
    const expected = Buffer.alloc(2 << 20);
    randomBytes(prng(4), 1 << 20).copy(expected);
    expect((await qemuRawBytes(p, dir)).equals(expected)).toBe(true);
    const img = await openDiskImage(p, { readOnly: true });
    expect((await readAll(img)).equals(expected)).toBe(true);
    await img.close();
  });

  it('stores an absolute backing name as given', async () => {
    const p = join(dir, 'abs.qcow2');
    await createQcow2(p, { backingFile: join(dir, 'base.raw') });
    const info = JSON.parse(await qemuImg('info', '--output=json', p)) as Info;
    expect(info['backing-filename']).toBe(join(dir, 'base.raw'));
    expect(info['virtual-size']).toBe(2 << 20);
  });
});
