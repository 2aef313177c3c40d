// Writes to a qcow2 image. Writes to clusters the image already owns (refcount 1) go straight to the
// host cluster with no lock, so many can be in flight. Anything that changes metadata (allocating data
// clusters or L2 tables, zeroing) holds one mutex for the whole update and re-reads the L2 entry under it,
// so two writes racing for the same unallocated cluster allocate it once. Update order follows QEMU's
// crash-safety rules: data, then refcounts, then the L2 entry (a crash leaks clusters, never corrupts).
import type { FileHandle } from 'node:fs/promises';
import { UnsupportedFeatureError, hex } from '../disk-image-error.js';
import { writeAt } from '../file-io.js';
import { Mutex } from '../mutex.js';
import type { AllocateClusters, ClusterMap } from './cluster-map.js';
import type { Qcow2Geometry } from './geometry.js';
import {
  KIND_COMPRESSED,
  KIND_DATA,
  KIND_UNALLOCATED,
  KIND_ZERO,
  clearEntry,
  entryCopied,
  entryHostOffset,
  l2Kind,
  setCopiedEntry,
  setZeroEntry,
  writableDataRun,
} from './l2-entry.js';
import type { Refcounts } from './refcounts.js';

/** Reads what lies below the image (backing or zeros) into buf; used to fill partial-cluster COW. */
export type ReadBelow = (offset: number, buf: Uint8Array, bufOffset: number, len: number) => Promise<void>;

/** Fresh host clusters [host, host + count * cs) for guest clusters index.. of one L2 table. */
interface FreshRun {
  table: Buffer;
  index: number;
  count: number;
  /** Guest offset of the run's first cluster. */
  guestBase: number;
  /** Where the caller's data starts in the first cluster. */
  inCluster: number;
  host: number;
}

export interface Qcow2WriterParts {
  path: string;
  fh: FileHandle;
  geom: Qcow2Geometry;
  version: 2 | 3;
  virtualSize: number;
  map: ClusterMap;
  refcounts: Refcounts;
  hasBacking: boolean;
  readBelow: ReadBelow;
}

export class Qcow2Writer {
  private readonly mutex = new Mutex();
  private readonly allocate: AllocateClusters;
  private readonly cs: number;
  /** Two clusters of COW scratch (head and tail of a run); only used under the mutex. */
  private scratch: [Buffer, Buffer] | undefined;
  private zeros: Buffer | undefined;
  /** Host clusters to release after an L2 update; reused, only touched under the mutex. */
  private readonly freed: number[] = [];

  constructor(private readonly p: Qcow2WriterParts) {
    this.cs = p.geom.clusterSize;
    this.allocate = (count) => p.refcounts.allocate(count);
  }

  async write(offset: number, buf: Uint8Array, bufOffset: number, len: number): Promise<void> {
    while (len > 0) {
      const n = await this.writeRun(offset, buf, bufOffset, len);
      offset += n;
      bufOffset += n;
      len -= n;
    }
  }

  /** Waits for the metadata update in progress and keeps the lock: the image is closing. */
  drain(): Promise<void> {
    return this.mutex.acquire();
  }

  /** One run within one L2 table: a direct write to owned clusters, or an allocating write. */
  private async writeRun(offset: number, buf: Uint8Array, bufOffset: number, len: number): Promise<number> {
    const { l2Span } = this.p.geom;
    const l1Index = Math.floor(offset / l2Span);
    const within = offset - l1Index * l2Span;
    const max = Math.min(len, l2Span - within);
    const index = Math.floor(within / this.cs);
    const inCluster = within - index * this.cs;
    const table = this.p.map.cached(l1Index) ?? (await this.p.map.table(l1Index));
    if (table !== null) {
      const run = writableDataRun(table, index, Math.ceil((inCluster + max) / this.cs), this.cs);
      if (run > 0) {
        const n = Math.min(max, run * this.cs - inCluster);
        await writeAt(this.p.fh, buf, bufOffset, n, entryHostOffset(table, index) + inCluster);
        return n;
      }
    }
    await this.mutex.acquire();
    try {
      return await this.allocatingRun(l1Index, index, inCluster, offset, buf, bufOffset, max);
    } finally {
      this.p.map.unpin();
      this.mutex.release();
    }
  }

  /**
   * Under the mutex: gives fresh host clusters to the run of clusters from `index` that the image does not
   * own yet, writes the data (COW-filled at a partial head or tail), then points the L2 entries at them.
   * Returns 0 when another write allocated the first cluster meanwhile (the caller retries directly).
   */
  private async allocatingRun(
    l1Index: number,
    index: number,
    inCluster: number,
    offset: number,
    buf: Uint8Array,
    bufOffset: number,
    max: number,
  ): Promise<number> {
    const table = await this.p.map.tableForWrite(l1Index, this.allocate);
    const count = this.unownedRun(table, index, Math.ceil((inCluster + max) / this.cs), offset);
    if (count === 0) return 0;
    const n = Math.min(max, count * this.cs - inCluster);
    const host = await this.allocate(count);
    await this.writeFresh({ table, index, count, guestBase: offset - inCluster, inCluster, host }, buf, bufOffset, n);
    this.freed.length = 0;
    for (let k = 0; k < count; k++) {
      if (l2Kind(table, index + k) === KIND_ZERO && entryHostOffset(table, index + k) !== 0) {
        this.freed.push(entryHostOffset(table, index + k)); // a preallocated zero cluster we replace
      }
      setCopiedEntry(table, index + k, host + k * this.cs);
    }
    await this.p.map.writeEntries(l1Index, table, index, count);
    await this.releaseFreed();
    return n;
  }

  /** Length of the run from `index` that needs fresh clusters; refuses compressed and shared clusters. */
  private unownedRun(table: Buffer, index: number, max: number, offset: number): number {
    let n = 0;
    for (; n < max; n++) {
      const kind = l2Kind(table, index + n);
      const at = `guest offset ${hex(offset + n * this.cs)}`;
      if (kind === KIND_COMPRESSED) throw new UnsupportedFeatureError(this.p.path, 'compressed clusters', at);
      if (kind !== KIND_DATA) continue;
      if (entryCopied(table, index + n)) break;
      throw new UnsupportedFeatureError(this.p.path, 'writing a shared cluster', `refcount > 1 at ${at}`);
    }
    return n;
  }

  /**
   * Writes n bytes of caller data into the run's fresh host clusters. Whole clusters come straight from
   * the caller's buffer; a partial head or tail cluster is built in scratch from what reads below it
   * (backing or zeros) plus the caller's bytes.
   */
  private async writeFresh(run: FreshRun, buf: Uint8Array, bufOffset: number, n: number): Promise<void> {
    const { cs } = this;
    const { count, inCluster, host } = run;
    const tailPartial = (inCluster + n) % cs !== 0;
    let done = 0;
    let firstWhole = 0;
    if (inCluster !== 0 || (count === 1 && tailPartial)) {
      done = Math.min(n, cs - inCluster);
      await this.writeCow(this.scratchBuf(0), run, 0, inCluster, buf.subarray(bufOffset, bufOffset + done));
      firstWhole = 1;
    }
    const wholeEnd = tailPartial ? count - 1 : count;
    if (wholeEnd > firstWhole) {
      const bytes = (wholeEnd - firstWhole) * cs;
      await writeAt(this.p.fh, buf, bufOffset + done, bytes, host + firstWhole * cs);
      done += bytes;
    }
    if (tailPartial && count - 1 >= firstWhole) {
      await this.writeCow(this.scratchBuf(1), run, count - 1, 0, buf.subarray(bufOffset + done, bufOffset + n));
    }
  }

  /** Cluster k of the run: fill scratch from below (zeros for a zero cluster), overlay data at `at`, write. */
  private async writeCow(scratch: Buffer, run: FreshRun, k: number, at: number, data: Uint8Array): Promise<void> {
    if (l2Kind(run.table, run.index + k) === KIND_UNALLOCATED) {
      await this.p.readBelow(run.guestBase + k * this.cs, scratch, 0, this.cs);
    } else {
      scratch.fill(0);
    }
    scratch.set(data, at);
    await writeAt(this.p.fh, scratch, 0, this.cs, run.host + k * this.cs);
  }

  /**
   * Whole clusters: without a backing image they are deallocated (they then read as zeros); with one, v3
   * marks them zero clusters, v2 (no zero flag) gets zero data. Partial clusters get zero data unless they
   * already read as zeros.
   */
  async writeZeroes(offset: number, len: number): Promise<void> {
    const end = offset + len;
    const { l2Span } = this.p.geom;
    while (offset < end) {
      const inCluster = offset % this.cs;
      const clusterEnd = Math.min(offset - inCluster + this.cs, this.p.virtualSize);
      if (inCluster !== 0 || end < clusterEnd) {
        const n = Math.min(end, clusterEnd) - offset;
        await this.zeroPartial(offset, n);
        offset += n;
        continue;
      }
      let stop = Math.min(end, (Math.floor(offset / l2Span) + 1) * l2Span);
      if (stop < this.p.virtualSize) stop -= stop % this.cs; // a last, short cluster counts as whole
      const count = Math.ceil((stop - offset) / this.cs);
      if (this.p.version === 2 && this.p.hasBacking) await this.writeZeroData(offset, count);
      else await this.zeroClusters(offset, count);
      offset = stop;
    }
  }

  private async zeroPartial(offset: number, n: number): Promise<void> {
    const { l2Span } = this.p.geom;
    const l1Index = Math.floor(offset / l2Span);
    const table = this.p.map.cached(l1Index) ?? (await this.p.map.table(l1Index));
    const kind = table === null ? KIND_UNALLOCATED : l2Kind(table, Math.floor((offset % l2Span) / this.cs));
    if (kind === KIND_ZERO || (kind === KIND_UNALLOCATED && !this.p.hasBacking)) return;
    await this.write(offset, this.zeroCluster(), 0, n);
  }

  private async writeZeroData(offset: number, count: number): Promise<void> {
    for (let k = 0; k < count; k++) {
      const at = offset + k * this.cs;
      await this.write(at, this.zeroCluster(), 0, Math.min(this.cs, this.p.virtualSize - at));
    }
  }

  /** Under the mutex: `count` clusters from offset (one L2 table) become zero clusters or unallocated. */
  private async zeroClusters(offset: number, count: number): Promise<void> {
    const { l2Span } = this.p.geom;
    const l1Index = Math.floor(offset / l2Span);
    const index = Math.floor((offset % l2Span) / this.cs);
    await this.mutex.acquire();
    try {
      if (!this.p.hasBacking && this.p.map.l2Offset(l1Index) === 0) return; // already reads as zeros
      const table = await this.p.map.tableForWrite(l1Index, this.allocate);
      // Refuse before changing anything, so the cached table never differs from the file.
      for (let i = index; i < index + count; i++) {
        if (l2Kind(table, i) !== KIND_COMPRESSED) continue;
        const at = `guest offset ${hex(offset + (i - index) * this.cs)}`;
        throw new UnsupportedFeatureError(this.p.path, 'compressed clusters', at);
      }
      this.freed.length = 0;
      for (let i = index; i < index + count; i++) {
        const host = l2Kind(table, i) === KIND_UNALLOCATED ? 0 : entryHostOffset(table, i);
        if (host !== 0) this.freed.push(host);
        if (this.p.hasBacking) setZeroEntry(table, i);
        else clearEntry(table, i);
      }
      await this.p.map.writeEntries(l1Index, table, index, count);
      await this.releaseFreed();
    } finally {
      this.p.map.unpin();
      this.mutex.release();
    }
  }

  /** Drops the references collected in `freed`, one refcount update per run of adjacent clusters. */
  private async releaseFreed(): Promise<void> {
    const f = this.freed;
    for (let i = 0; i < f.length; ) {
      let n = 1;
      while (i + n < f.length && f[i + n] === f[i]! + n * this.cs) n++;
      await this.p.refcounts.release(f[i]!, n);
      i += n;
    }
    f.length = 0;
  }

  private scratchBuf(which: 0 | 1): Buffer {
    if (this.scratch === undefined) {
      const both = Buffer.alloc(2 * this.cs);
      this.scratch = [both.subarray(0, this.cs), both.subarray(this.cs)];
    }
    return this.scratch[which];
  }

  private zeroCluster(): Buffer {
    return (this.zeros ??= Buffer.alloc(this.cs));
  }
}
