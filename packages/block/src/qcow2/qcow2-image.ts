// A qcow2 image opened from a file: reads, allocation status and lifecycle here; writes go through
// Qcow2Writer. Reads take no lock: each request walks the L2 tables in runs of like clusters and issues
// one pread per run of contiguous host clusters, straight into the caller's buffer.
import type { FileHandle } from 'node:fs/promises';
import type { AllocationExtent, DiskImage } from '../disk-image.js';
import { UnsupportedFeatureError, hex } from '../disk-image-error.js';
import { readAt } from '../file-io.js';
import { checkBufferRange, checkDiskRange, checkWritable } from '../io-range.js';
import { ClusterMap } from './cluster-map.js';
import type { Qcow2Geometry } from './geometry.js';
import type { Qcow2Header } from './header.js';
import {
  KIND_COMPRESSED,
  KIND_DATA,
  KIND_UNALLOCATED,
  KIND_ZERO,
  entryHostOffset,
  l2Kind,
  sameKindRun,
} from './l2-entry.js';
import type { Qcow2Writer } from './qcow2-writer.js';

export interface Qcow2Parts {
  path: string;
  fh: FileHandle;
  header: Qcow2Header;
  geom: Qcow2Geometry;
  map: ClusterMap;
  backing: DiskImage | undefined;
  backingFile: string | undefined;
  readOnly: boolean;
  /** For writable images: builds the writer (which reads below this image for COW). */
  makeWriter: ((image: Qcow2Image) => Qcow2Writer) | undefined;
}

/** A qcow2 image; made by openDiskImage. */
export class Qcow2Image implements DiskImage {
  readonly format = 'qcow2' as const;
  readonly path: string;
  readonly virtualSize: number;
  readonly readOnly: boolean;
  readonly backing: DiskImage | undefined;
  /** The backing file name as stored in the header (before resolution). */
  readonly backingFile: string | undefined;
  readonly version: 2 | 3;
  readonly clusterSize: number;
  private readonly fh: FileHandle;
  private readonly geom: Qcow2Geometry;
  private readonly map: ClusterMap;
  private readonly writer: Qcow2Writer | undefined;
  private closed = false;

  constructor(parts: Qcow2Parts) {
    this.path = parts.path;
    this.fh = parts.fh;
    this.virtualSize = parts.header.size;
    this.readOnly = parts.readOnly;
    this.backing = parts.backing;
    this.backingFile = parts.backingFile;
    this.version = parts.header.version;
    this.geom = parts.geom;
    this.clusterSize = parts.geom.clusterSize;
    this.map = parts.map;
    this.writer = parts.makeWriter?.(this);
  }

  async read(offset: number, buf: Uint8Array, bufOffset: number, len: number): Promise<void> {
    this.checkOpen();
    checkBufferRange(this, 'read', offset, buf, bufOffset, len);
    while (len > 0) {
      const n = await this.readRun(offset, buf, bufOffset, len);
      offset += n;
      bufOffset += n;
      len -= n;
    }
  }

  write(offset: number, buf: Uint8Array, bufOffset: number, len: number): Promise<void> {
    this.checkOpen();
    checkWritable(this, 'write');
    checkBufferRange(this, 'write', offset, buf, bufOffset, len);
    return this.writer!.write(offset, buf, bufOffset, len);
  }

  writeZeroes(offset: number, len: number): Promise<void> {
    this.checkOpen();
    checkWritable(this, 'writeZeroes');
    checkDiskRange(this, 'writeZeroes', offset, len);
    return this.writer!.writeZeroes(offset, len);
  }

  async allocationStatus(offset: number, len: number): Promise<AllocationExtent[]> {
    this.checkOpen();
    checkDiskRange(this, 'allocationStatus', offset, len);
    const out: AllocationExtent[] = [];
    const end = offset + len;
    while (offset < end) {
      const [n, kind] = await this.statusRun(offset, end - offset);
      const allocated = kind !== KIND_UNALLOCATED;
      pushExtent(out, offset, n, allocated, kind === KIND_ZERO || (!allocated && this.backing === undefined));
      offset += n;
    }
    return out;
  }

  flush(): Promise<void> {
    this.checkOpen();
    return this.fh.datasync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.writer?.drain();
      await this.fh.close();
    } finally {
      await this.backing?.close();
    }
  }

  /**
   * Reads what lies under this image at [offset, offset+len): the backing image's bytes where it has
   * them, zeros past its end or without one.
   */
  async readBelow(offset: number, buf: Uint8Array, bufOffset: number, len: number): Promise<void> {
    const fromBacking = this.backing === undefined ? 0 : Math.max(0, Math.min(len, this.backing.virtualSize - offset));
    if (fromBacking > 0) await this.backing!.read(offset, buf, bufOffset, fromBacking);
    if (fromBacking < len) buf.fill(0, bufOffset + fromBacking, bufOffset + len);
  }

  private async readRun(offset: number, buf: Uint8Array, bufOffset: number, len: number): Promise<number> {
    const { l2Span } = this.geom;
    const cs = this.clusterSize;
    const l1Index = Math.floor(offset / l2Span);
    const within = offset - l1Index * l2Span;
    const max = Math.min(len, l2Span - within);
    const table = this.map.cached(l1Index) ?? (await this.map.table(l1Index));
    if (table === null) {
      await this.readBelow(offset, buf, bufOffset, max);
      return max;
    }
    const index = Math.floor(within / cs);
    const inCluster = within - index * cs;
    const n = Math.min(max, sameKindRun(table, index, this.clustersIn(inCluster, max), cs) * cs - inCluster);
    switch (l2Kind(table, index)) {
      case KIND_DATA:
        await readAt(this.fh, buf, bufOffset, n, entryHostOffset(table, index) + inCluster);
        break;
      case KIND_ZERO:
        buf.fill(0, bufOffset, bufOffset + n);
        break;
      case KIND_UNALLOCATED:
        await this.readBelow(offset, buf, bufOffset, n);
        break;
      default:
        throw this.compressedAt(offset);
    }
    return n;
  }

  /** Next status run from offset: [bytes, kind], clipped to `len` and to one L2 table. */
  private async statusRun(offset: number, len: number): Promise<[number, number]> {
    const { l2Span } = this.geom;
    const cs = this.clusterSize;
    const l1Index = Math.floor(offset / l2Span);
    const within = offset - l1Index * l2Span;
    const max = Math.min(len, l2Span - within);
    const table = this.map.cached(l1Index) ?? (await this.map.table(l1Index));
    if (table === null) return [max, KIND_UNALLOCATED];
    const index = Math.floor(within / cs);
    const inCluster = within - index * cs;
    const kind = l2Kind(table, index);
    if (kind === KIND_COMPRESSED) throw this.compressedAt(offset);
    return [Math.min(max, sameKindRun(table, index, this.clustersIn(inCluster, max), cs) * cs - inCluster), kind];
  }

  private clustersIn(inCluster: number, len: number): number {
    return Math.ceil((inCluster + len) / this.clusterSize);
  }

  private compressedAt(offset: number): UnsupportedFeatureError {
    return new UnsupportedFeatureError(this.path, 'compressed clusters', `guest offset ${hex(offset)}`);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`${this.path}: image is closed`);
  }
}

function pushExtent(out: AllocationExtent[], offset: number, length: number, allocated: boolean, zero: boolean): void {
  const last = out[out.length - 1];
  if (last !== undefined && last.allocated === allocated && last.zero === zero) last.length += length;
  else out.push({ offset, length, allocated, zero });
}
