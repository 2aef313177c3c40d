// Assembles a Qcow2Image from an open file: header, checks, L1 table, backing image, and (writable)
// refcounts plus the writer.
import type { FileHandle } from 'node:fs/promises';
import { resolveBackingPath } from '../backing-path.js';
import type { DiskImage, DiskImageFormat } from '../disk-image.js';
import { readAt, writeAt } from '../file-io.js';
import { ClusterMap } from './cluster-map.js';
import { checkBackingFormat, checkQcow2Supported } from './feature-check.js';
import {
  HEADER_AUTOCLEAR_FEATURES,
  HEADER_REFCOUNT_TABLE_OFFSET,
  MAX_CLUSTER_BITS,
  MIN_CLUSTER_BITS,
} from './format.js';
import { qcow2Geometry } from './geometry.js';
import { backingFileName, parseExtensions } from './header-extensions.js';
import { parseQcow2Header } from './header.js';
import { Qcow2Image } from './qcow2-image.js';
import { Qcow2Writer } from './qcow2-writer.js';
import { Refcounts } from './refcounts.js';

export type OpenBacking = (path: string, format: DiskImageFormat | undefined) => Promise<DiskImage>;

const PROBE = 4096;

export async function openQcow2(
  path: string,
  fh: FileHandle,
  readOnly: boolean,
  l2CacheBytes: number,
  openBacking: OpenBacking,
): Promise<Qcow2Image> {
  const cluster0 = await readFirstCluster(fh);
  const header = parseQcow2Header(cluster0, path);
  const ext = parseExtensions(cluster0, header, path);
  checkQcow2Supported(header, ext, path, readOnly);
  const backingFile = backingFileName(cluster0, header, path);
  const geom = qcow2Geometry(header.clusterBits);
  const map = await ClusterMap.load(fh, path, geom, header, l2CacheBytes);
  const backingFormat = ext.backingFormat === undefined ? undefined : checkBackingFormat(ext.backingFormat, path);
  const backing =
    backingFile === undefined ? undefined : await openBacking(resolveBackingPath(path, backingFile), backingFormat);
  try {
    let makeWriter: ((image: Qcow2Image) => Qcow2Writer) | undefined;
    if (!readOnly) {
      const refcounts = await Refcounts.load(fh, path, geom, header, (offset, clusters) =>
        writeRefcountTableLocation(fh, offset, clusters),
      );
      // Unknown autoclear features (e.g. bitmaps) must be cleared before an implementation that does not
      // maintain them writes to the image.
      if (header.autoclearFeatures !== 0n) await writeAt(fh, new Uint8Array(8), 0, 8, HEADER_AUTOCLEAR_FEATURES);
      const { version, size: virtualSize } = header;
      const hasBacking = backing !== undefined;
      makeWriter = (image) => {
        const readBelow = image.readBelow.bind(image);
        return new Qcow2Writer({ path, fh, geom, version, virtualSize, map, refcounts, hasBacking, readBelow });
      };
    }
    return new Qcow2Image({ path, fh, header, geom, map, backing, backingFile, readOnly, makeWriter });
  } catch (err) {
    await backing?.close();
    throw err;
  }
}

/** The first cluster (header, extensions, backing name); its size is only known from the header. */
async function readFirstCluster(fh: FileHandle): Promise<Buffer> {
  const probe = Buffer.alloc(PROBE);
  await readAt(fh, probe, 0, PROBE, 0);
  const clusterBits = probe.readUInt32BE(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS || 2 ** clusterBits <= PROBE) return probe;
  const cluster0 = Buffer.alloc(2 ** clusterBits);
  await readAt(fh, cluster0, 0, cluster0.length, 0);
  return cluster0;
}

async function writeRefcountTableLocation(fh: FileHandle, offset: number, clusters: number): Promise<void> {
  const field = Buffer.alloc(12);
  field.writeBigUInt64BE(BigInt(offset), 0);
  field.writeUInt32BE(clusters, 8);
  await writeAt(fh, field, 0, field.length, HEADER_REFCOUNT_TABLE_OFFSET);
}
