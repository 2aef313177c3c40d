import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createQcow2 } from '@mig/block';
import { BlockInfoSchema } from '@mig/qmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDriveOption } from '../cli/drive-option.js';
import { blockHandlers } from '../qmp/block.js';
import { call } from '../../test/qmp-call.js';
import { Drives } from './drives.js';

const MiB = 1 << 20;
let dir = '';
const drives = new Drives(() => 'running');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mig-block-info-'));
  await writeFile(join(dir, 'a.raw'), Buffer.alloc(MiB, 1));
  await writeFile(join(dir, 'base.raw'), Buffer.alloc(4 * MiB));
  await createQcow2(join(dir, 'b.qcow2'), { virtualSize: 2 * MiB });
  await createQcow2(join(dir, 'top.qcow2'), { backingFile: 'base.raw', backingFormat: 'raw' });
  await drives.open([
    parseDriveOption(`if=none,id=d0,file=${join(dir, 'a.raw')},format=raw,readonly=on`),
    parseDriveOption(`if=none,id=d1,file=${join(dir, 'b.qcow2')},format=qcow2`),
    parseDriveOption(`if=none,id=d2,file=${join(dir, 'top.qcow2')},format=qcow2`),
  ]);
});
afterAll(async () => {
  await drives.close();
  await rm(dir, { recursive: true, force: true });
});

describe('query-block', () => {
  it("answers every drive in QEMU 7.2's shape (the schema QEMU's own reply parses with)", async () => {
    const blocks = await call(blockHandlers({ drives })['query-block']);
    for (const b of blocks) BlockInfoSchema.parse(b);
    expect(blocks.map((b) => b.device)).toEqual(['d0', 'd1', 'd2']);
    const [raw, qcow2, overlay] = blocks.map((b) => b.inserted!);
    expect(raw).toEqual({
      file: join(dir, 'a.raw'), 'node-name': drives.get('d0')!.nodeName, ro: true, drv: 'raw', backing_file_depth: 0, encrypted: false,
      detect_zeroes: 'off', bps: 0, bps_rd: 0, bps_wr: 0, iops: 0, iops_rd: 0, iops_wr: 0, write_threshold: 0,
      cache: { writeback: true, direct: false, 'no-flush': false },
      image: { filename: join(dir, 'a.raw'), format: 'raw', 'virtual-size': MiB, 'actual-size': expect.any(Number), 'dirty-flag': false },
    });
    expect(blocks[0]).toMatchObject({ type: 'unknown', removable: true, locked: false });
    expect(qcow2!.image).toMatchObject({ format: 'qcow2', 'virtual-size': 2 * MiB, 'cluster-size': 65536 });
    expect(qcow2!.backing_file).toBeUndefined();
    expect(overlay).toMatchObject({ ro: false, drv: 'qcow2', backing_file_depth: 1, backing_file: join(dir, 'base.raw') });
    expect(overlay!.image).toMatchObject({
      'backing-filename': 'base.raw', 'full-backing-filename': join(dir, 'base.raw'), 'backing-filename-format': 'raw',
      'backing-image': { filename: join(dir, 'base.raw'), format: 'raw', 'virtual-size': 4 * MiB, 'dirty-flag': false },
    });
  });
});
