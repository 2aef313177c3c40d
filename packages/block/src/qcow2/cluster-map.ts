// Guest cluster -> host cluster: the L1 table (in memory) and a bounded FIFO cache of L2 tables. Lookups need no
// lock; changes happen under the image's metadata mutex, with the table being changed pinned so eviction
// cannot drop an update before it is on disk.
import type { FileHandle } from 'node:fs/promises';
import { UnsupportedFeatureError, hex } from '../disk-image-error.js';
import { readAt, writeAt } from '../file-io.js';
import type { Qcow2Geometry } from './geometry.js';
import { entryCopied, entryHostOffset, setCopiedEntry, validateL1Entry, validateL2Table } from './l2-entry.js';

export type AllocateClusters = (count: number) => Promise<number>;

export class ClusterMap {
  private readonly cache = new Map<number, Buffer>();
  private readonly loading = new Map<number, Promise<Buffer>>();
  private pinned = -1;

  private constructor(
    private readonly fh: FileHandle,
    private readonly image: string,
    private readonly geom: Qcow2Geometry,
    private readonly version: number,
    private readonly l1Offset: number,
    private readonly l1: Buffer,
    private readonly capacity: number,
  ) {}

  static async load(
    fh: FileHandle,
    image: string,
    geom: Qcow2Geometry,
    header: { version: number; l1TableOffset: number; l1Size: number },
    cacheBytes: number,
  ): Promise<ClusterMap> {
    const l1 = Buffer.alloc(header.l1Size * 8);
    await readAt(fh, l1, 0, l1.length, header.l1TableOffset);
    for (let i = 0; i < header.l1Size; i++) validateL1Entry(l1, i, geom.clusterSize, image);
    const capacity = Math.max(4, Math.floor(cacheBytes / geom.clusterSize));
    return new ClusterMap(fh, image, geom, header.version, header.l1TableOffset, l1, capacity);
  }

  get l1Size(): number {
    return this.l1.length / 8;
  }

  /** Host offset of the L2 table for an L1 index, 0 when unallocated. */
  l2Offset(l1Index: number): number {
    return entryHostOffset(this.l1, l1Index);
  }

  /** The L2 table when it is cached (the hot path: no promise). */
  cached(l1Index: number): Buffer | undefined {
    return this.cache.get(l1Index);
  }

  /** The L2 table, read if needed; null when the L1 entry is unallocated. */
  table(l1Index: number): Promise<Buffer | null> {
    const hit = this.cache.get(l1Index);
    if (hit !== undefined) return Promise.resolve(hit);
    const offset = this.l2Offset(l1Index);
    if (offset === 0) return Promise.resolve(null);
    let pending = this.loading.get(l1Index);
    if (pending === undefined) {
      pending = this.readTable(l1Index, offset);
      this.loading.set(l1Index, pending);
    }
    return pending;
  }

  /**
   * The L2 table for a change (caller holds the mutex), allocating a zeroed one when the L1 entry is
   * empty. The table stays pinned until unpin().
   */
  async tableForWrite(l1Index: number, allocate: AllocateClusters): Promise<Buffer> {
    if (this.l2Offset(l1Index) !== 0) {
      if (!entryCopied(this.l1, l1Index)) {
        throw new UnsupportedFeatureError(this.image, 'writing a shared L2 table', `L1 index ${l1Index}, refcount > 1`);
      }
      this.pinned = l1Index;
      return (await this.table(l1Index))!;
    }
    const host = await allocate(1);
    const table = Buffer.alloc(this.geom.clusterSize);
    this.pinned = l1Index;
    this.insert(l1Index, table);
    // The table is on disk before the L1 entry points at it.
    await writeAt(this.fh, table, 0, table.length, host);
    setCopiedEntry(this.l1, l1Index, host);
    await writeAt(this.fh, this.l1, l1Index * 8, 8, this.l1Offset + l1Index * 8);
    return table;
  }

  /** Writes entries [first, first+count) of a table obtained from tableForWrite. */
  writeEntries(l1Index: number, table: Buffer, first: number, count: number): Promise<void> {
    return writeAt(this.fh, table, first * 8, count * 8, this.l2Offset(l1Index) + first * 8);
  }

  unpin(): void {
    this.pinned = -1;
  }

  private async readTable(l1Index: number, offset: number): Promise<Buffer> {
    try {
      const table = Buffer.allocUnsafe(this.geom.clusterSize);
      await readAt(this.fh, table, 0, table.length, offset);
      validateL2Table(table, this.geom.clusterSize, this.version, this.image, `the L2 table at ${hex(offset)}`);
      this.insert(l1Index, table);
      return table;
    } finally {
      this.loading.delete(l1Index);
    }
  }

  private insert(l1Index: number, table: Buffer): void {
    this.cache.delete(l1Index);
    this.cache.set(l1Index, table);
    if (this.cache.size <= this.capacity) return;
    for (const key of this.cache.keys()) {
      if (key === this.pinned) continue;
      this.cache.delete(key);
      return;
    }
  }
}
