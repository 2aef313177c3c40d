import { tmpDir } from '@mig/test-helpers';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createQcow2, openDiskImage } from '../index.js';
import { ClusterMap } from './cluster-map.js';
import { qcow2Geometry } from './geometry.js';
import { parseQcow2Header } from './header.js';

describe('ClusterMap L2 cache', () => {
  it('keeps at most its capacity of tables, but never evicts the one being changed', async () => {
    const dir = await tmpDir('mig-block-map-');
    const path = join(dir, 'many-l2.qcow2');
    await createQcow2(path, { virtualSize: 64 << 20, clusterSize: 4096 }); // 32 L2 tables of 2 MiB each
    const image = await openDiskImage(path);
    for (let i = 0; i < 32; i++) await image.write(i * (2 << 20), Buffer.from([i + 1]), 0, 1);
    await image.close();

    const fh = await open(path, 'r+');
    try {
      const first = Buffer.alloc(4096);
      await fh.read(first, 0, first.length, 0);
      const header = parseQcow2Header(first, path);
      const map = await ClusterMap.load(fh, path, qcow2Geometry(12), header, 4 * 4096);
      const noAllocation = (): Promise<number> => Promise.reject(new Error('nothing to allocate'));
      const pinned = await map.tableForWrite(0, noAllocation);
      for (let i = 1; i < 10; i++) expect(await map.table(i)).not.toBeNull();
      expect(map.cached(0)).toBe(pinned);
      const cachedNow = Array.from({ length: 32 }, (_, i) => map.cached(i) !== undefined).filter(Boolean).length;
      expect(cachedNow).toBeLessThanOrEqual(5); // capacity 4, plus the pinned table
      map.unpin();
      for (let i = 10; i < 20; i++) await map.table(i);
      expect(map.cached(0)).toBeUndefined();
      // Re-read from the file: entry 0 of table 5 maps guest offset 10 MiB.
      const table5 = (await map.table(5))!;
      expect(table5.readUInt32BE(0) & 0x80000000).not.toBe(0); // data, refcount one
    } finally {
      await fh.close();
    }
  });
});
