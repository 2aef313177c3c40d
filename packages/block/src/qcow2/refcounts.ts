// Host cluster refcounts: the refcount table (in memory), its refcount blocks (all cached; one block
// covers cluster_size * 8 / refcount_bits clusters, i.e. GiBs of file), and allocation. New clusters are
// always appended past the highest cluster in use, so a freed cluster is never handed out again while a
// write may still be in flight to it. Callers hold the image's metadata mutex.
import type { FileHandle } from 'node:fs/promises';
import { CorruptImageError, hex } from '../disk-image-error.js';
import { readAt, writeAt } from '../file-io.js';
import { HI_SAFE_LIMIT, LO_OFFSET_MASK } from './format.js';
import type { Qcow2Geometry } from './geometry.js';
import { entryByteRange, getRefcount, maxRefcount, setRefcount } from './refcount-entries.js';

/** Persists a moved refcount table in the header. */
export type WriteRefcountTableLocation = (offset: number, clusters: number) => Promise<void>;

const TWO_32 = 4294967296;

export class Refcounts {
  private readonly blocks = new Map<number, Buffer>();
  private readonly perBlock: number;
  private growing = false;

  private constructor(
    private readonly fh: FileHandle,
    private readonly image: string,
    private readonly geom: Qcow2Geometry,
    private readonly order: number,
    private table: Buffer,
    private tableOffset: number,
    private readonly writeLocation: WriteRefcountTableLocation,
    /** Index of the first cluster past everything in use or in the file. */
    private nextFree = 0,
  ) {
    this.perBlock = (geom.clusterSize * 8) >> order;
  }

  static async load(
    fh: FileHandle,
    image: string,
    geom: Qcow2Geometry,
    header: { refcountOrder: number; refcountTableOffset: number; refcountTableClusters: number },
    writeLocation: WriteRefcountTableLocation,
  ): Promise<Refcounts> {
    const table = Buffer.alloc(header.refcountTableClusters * geom.clusterSize);
    await readAt(fh, table, 0, table.length, header.refcountTableOffset);
    const rc = new Refcounts(fh, image, geom, header.refcountOrder, table, header.refcountTableOffset, writeLocation);
    const { size } = await fh.stat();
    rc.nextFree = Math.max(Math.ceil(size / geom.clusterSize), await rc.scanInUse());
    return rc;
  }

  /** Number of the first cluster that allocate() would hand out. */
  get endCluster(): number {
    return this.nextFree;
  }

  /** Refcount of one host cluster. */
  async get(cluster: number): Promise<number> {
    const t = Math.floor(cluster / this.perBlock);
    const offset = t < this.tableEntries ? this.blockOffset(t) : 0;
    if (offset === 0) return 0;
    return getRefcount(await this.loadBlock(offset), cluster % this.perBlock, this.order);
  }

  /** Appends `count` contiguous clusters with refcount 1; returns the host byte offset of the first. */
  async allocate(count: number): Promise<number> {
    const first = this.nextFree;
    this.nextFree += count;
    await this.adjust(first, count, 1);
    return first * this.geom.clusterSize;
  }

  /** Drops one reference to each of `count` host clusters from byte offset `host`. */
  release(host: number, count = 1): Promise<void> {
    return this.adjust(host / this.geom.clusterSize, count, -1);
  }

  private get tableEntries(): number {
    return this.table.length / 8;
  }

  private blockOffset(t: number): number {
    return (this.table.readUInt32BE(t * 8) * TWO_32) + this.table.readUInt32BE(t * 8 + 4);
  }

  /** Adds delta to the refcount of clusters [first, first+count), writing each touched block's bytes once. */
  private async adjust(first: number, count: number, delta: number): Promise<void> {
    const end = first + count;
    for (let c = first; c < end; ) {
      const t = Math.floor(c / this.perBlock);
      const stop = Math.min(end, (t + 1) * this.perBlock);
      const block = await this.blockFor(t);
      const base = t * this.perBlock;
      for (let i = c - base; i < stop - base; i++) {
        const now = getRefcount(block, i, this.order) + delta;
        if (now < 0 || now > maxRefcount(this.order) || (delta > 0 && now !== delta)) {
          const what = `refcount of cluster ${base + i} would become ${now} (delta ${delta})`;
          throw new CorruptImageError(this.image, what);
        }
        setRefcount(block, i, this.order, now);
      }
      const [from, to] = entryByteRange(c - base, stop - c, this.order);
      await writeAt(this.fh, block, from, to - from, this.blockOffset(t) + from);
      c = stop;
    }
  }

  /** The refcount block for table index t, creating it (and growing the table) when missing. */
  private async blockFor(t: number): Promise<Buffer> {
    if (t >= this.tableEntries) await this.growTable(t);
    const existing = this.blockOffset(t);
    if (existing !== 0) return this.loadBlock(existing);
    const cluster = this.nextFree++;
    const offset = cluster * this.geom.clusterSize;
    const block = Buffer.alloc(this.geom.clusterSize);
    this.blocks.set(offset, block);
    this.setTableEntry(t, offset);
    // The block's own refcount lands in itself when it covers its own cluster, else in another block.
    await this.adjust(cluster, 1, 1);
    await writeAt(this.fh, block, 0, block.length, offset);
    if (!this.growing) await writeAt(this.fh, this.table, t * 8, 8, this.tableOffset + t * 8);
    return block;
  }

  /**
   * Moves the table to a bigger copy appended at the end: refcount the new clusters (new blocks go in the
   * new table only), write it, point the header at it, then free the old table.
   */
  private async growTable(needed: number): Promise<void> {
    if (this.growing) throw new Error(`${this.image}: refcount table grew while growing (internal error)`);
    this.growing = true;
    const old = { offset: this.tableOffset, clusters: this.table.length / this.geom.clusterSize };
    try {
      let clusters = old.clusters;
      const entries = (n: number): number => (n * this.geom.clusterSize) / 8;
      const lastIndex = (n: number): number => Math.floor((this.nextFree + n + 4) / this.perBlock);
      while (entries(clusters) <= Math.max(needed, lastIndex(clusters))) clusters *= 2;
      const table = Buffer.alloc(clusters * this.geom.clusterSize);
      this.table.copy(table);
      const first = this.nextFree;
      this.nextFree += clusters;
      this.table = table;
      await this.adjust(first, clusters, 1);
      const offset = first * this.geom.clusterSize;
      await writeAt(this.fh, table, 0, table.length, offset);
      await this.writeLocation(offset, clusters);
      this.tableOffset = offset;
    } finally {
      this.growing = false;
    }
    await this.adjust(old.offset / this.geom.clusterSize, old.clusters, -1);
  }

  private setTableEntry(t: number, offset: number): void {
    this.table.writeUInt32BE(Math.floor(offset / TWO_32), t * 8);
    this.table.writeUInt32BE(offset % TWO_32, t * 8 + 4);
  }

  private async loadBlock(offset: number): Promise<Buffer> {
    const hit = this.blocks.get(offset);
    if (hit !== undefined) return hit;
    const block = Buffer.alloc(this.geom.clusterSize);
    await readAt(this.fh, block, 0, block.length, offset);
    this.blocks.set(offset, block);
    return block;
  }

  /** Validates the table, loads every block and returns 1 + the highest cluster with a nonzero refcount. */
  private async scanInUse(): Promise<number> {
    let end = 0;
    for (let t = 0; t < this.tableEntries; t++) {
      const hi = this.table.readUInt32BE(t * 8);
      const lo = this.table.readUInt32BE(t * 8 + 4);
      const offset = this.blockOffset(t);
      if (offset === 0) continue;
      if ((lo & ~LO_OFFSET_MASK) !== 0 || offset % this.geom.clusterSize !== 0 || hi >= HI_SAFE_LIMIT) {
        throw new CorruptImageError(this.image, `refcount table entry ${t} (${hex(offset)}) is invalid`);
      }
      const block = await this.loadBlock(offset);
      for (let i = this.perBlock - 1; i >= 0; i--) {
        if (getRefcount(block, i, this.order) === 0) continue;
        end = Math.max(end, t * this.perBlock + i + 1);
        break;
      }
    }
    return end;
  }
}
