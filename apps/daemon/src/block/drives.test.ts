import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createQcow2 } from '@mig/block';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDriveOption } from '../cli/drive-option.js';
import { Drives } from './drives.js';
import { DriveOpenError } from './open-drive.js';

const MiB = 1 << 20;
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mig-drives-'));
  await writeFile(join(dir, 'a.raw'), Buffer.alloc(2 * MiB, 1));
  await writeFile(join(dir, 'base.raw'), Buffer.alloc(4 * MiB, 2));
  await createQcow2(join(dir, 'b.qcow2'), { virtualSize: 3 * MiB });
  await createQcow2(join(dir, 'top.qcow2'), { backingFile: join(dir, 'base.raw'), backingFormat: 'raw' });
  await mkdir(join(dir, 'sub'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const drive = (text: string) => parseDriveOption(`if=none,${text.replaceAll('DIR', dir)}`);

describe('Drives.open', () => {
  it('opens raw and qcow2 drives (readonly as given), numbering node names as QEMU does', async () => {
    const drives = new Drives(() => 'running');
    await drives.open([
      drive('id=d0,file=DIR/a.raw,format=raw'),
      drive('id=d1,file=DIR/top.qcow2,format=qcow2'),
      drive('id=r0,file=DIR/b.qcow2,format=qcow2,readonly=on'),
    ]);
    try {
      expect(drives.list.map((d) => [d.id, d.image.format, d.size, d.readOnly, d.dirty.pages])).toEqual([
        ['d0', 'raw', 2 * MiB, false, 2], ['d1', 'qcow2', 4 * MiB, false, 4], ['r0', 'qcow2', 3 * MiB, true, 3],
      ]);
      // QEMU: file node then format node per drive, the backing chain after its overlay
      expect(drives.list.map((d) => /^#block(\d+)\d\d$/.exec(d.nodeName)?.[1])).toEqual(['1', '3', '7']);
      expect(drives.find(drives.list[1]!.nodeName)).toBe(drives.list[1]);
      expect(drives.find('r0')).toBe(drives.list[2]);
      expect(drives.find('nope')).toBeUndefined();
      expect(drives.workerInfos().map(({ dirty, ...i }) => ({ ...i, bytes: dirty.byteLength, shared: dirty instanceof SharedArrayBuffer }))).toEqual([
        { name: 'd0', size: 2 * MiB, readOnly: false, bytes: 4, shared: true },
        { name: 'd1', size: 4 * MiB, readOnly: false, bytes: 4, shared: true },
        { name: 'r0', size: 3 * MiB, readOnly: true, bytes: 4, shared: true },
      ]);
    } finally {
      await drives.close();
    }
  });

  it('gives node names that stay the same for the same command line', async () => {
    const names = async () => {
      const drives = new Drives(() => 'running');
      await drives.open([drive('id=d0,file=DIR/a.raw,format=raw'), drive('id=x,file=DIR/b.qcow2')]);
      const out = drives.list.map((d) => d.nodeName);
      await drives.close();
      return out;
    };
    expect(await names()).toEqual(await names());
  });

  it('probes the format when none is given, warning as QEMU does for raw', async () => {
    const warnings: string[] = [];
    const drives = new Drives(() => 'running');
    await drives.open([drive('id=d0,file=DIR/a.raw'), drive('id=d1,file=DIR/b.qcow2')], (w) => warnings.push(w));
    expect(drives.list.map((d) => d.image.format)).toEqual(['raw', 'qcow2']);
    await drives.close();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^WARNING: Image format was not specified for '.*a\.raw' and probing guessed raw\.\n/);
  });

  it.each([
    ['id=d0,file=DIR/nope.raw,format=raw', /^-drive if=none,id=d0,file=.*nope\.raw,format=raw: Could not open '.*nope\.raw': No such file or directory$/],
    ['id=d0,file=DIR/sub,format=raw', /: 'file' driver requires '.*sub' to be a regular file$/],
    ['id=d0,file=DIR/a.raw,format=qcow2', /a\.raw,format=qcow2: Image is not in qcow2 format$/],
  ])('names what is wrong with %s', async (text, message) => {
    const drives = new Drives(() => 'running');
    const err = await drives.open([drive('id=ok,file=DIR/a.raw,format=raw'), drive(text)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriveOpenError);
    expect((err as Error).message).toMatch(message);
    expect(drives.list).toHaveLength(0); // the drive opened before it is closed again
  });
});

describe('Drives.close', () => {
  it('flushes and closes every image: the writes are in the files', async () => {
    const drives = new Drives(() => 'running');
    await drives.open([drive('id=d0,file=DIR/a.raw,format=raw'), drive('id=d1,file=DIR/b.qcow2,format=qcow2')]);
    await drives.get('d0')!.write(MiB, new Uint8Array(4096).fill(0xab), 4096);
    const writes = drives.get('d1')!.write(0, new Uint8Array(512).fill(7), 512);
    await drives.close(); // waits for the write in flight
    await writes;
    expect(drives.list).toHaveLength(0);
    const raw = await readFile(join(dir, 'a.raw'));
    expect([raw[MiB - 1], raw[MiB], raw[MiB + 4095], raw[MiB + 4096]]).toEqual([1, 0xab, 0xab, 1]);
    const again = new Drives(() => 'running');
    await again.open([drive('id=d1,file=DIR/b.qcow2,format=qcow2')]);
    const back = new Uint8Array(512);
    await again.get('d1')!.read(0, back, 512);
    await again.close();
    expect(back.every((b) => b === 7)).toBe(true);
  });
});
