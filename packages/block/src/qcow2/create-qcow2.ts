// createQcow2: a new, empty qcow2 image (optionally an overlay of a backing file), laid out as qemu-img
// does: header cluster, refcount table, refcount block(s), L1 table; everything else is allocated on write.
import { open } from 'node:fs/promises';
import { resolveBackingPath } from '../backing-path.js';
import type { DiskImageFormat } from '../disk-image.js';
import { DiskImageError } from '../disk-image-error.js';
import { writeAt } from '../file-io.js';
import { openDiskImage } from '../open-disk-image.js';
import { MAX_CLUSTER_BITS, MIN_CLUSTER_BITS } from './format.js';
import { encodeFirstCluster } from './header-encode.js';
import { setRefcount } from './refcount-entries.js';

export interface CreateQcow2Options {
  /** Bytes, a multiple of 512. Defaults to the backing image's size. */
  virtualSize?: number;
  /** Default 65536; a power of two from 512 to 2 MiB. */
  clusterSize?: number;
  /** Stored as given; a relative name is resolved against the new image's directory (as QEMU does). */
  backingFile?: string;
  /** Default: detected from the backing file. */
  backingFormat?: DiskImageFormat;
  /** 3 (qemu-img's compat=1.1, the default) or 2 (compat=0.10). */
  version?: 2 | 3;
  /** Refcount width, a power of two from 1 to 64 (default 16; version 2 only has 16). */
  refcountBits?: number;
}

interface Layout {
  tableClusters: number;
  blocks: number;
  l1Clusters: number;
  total: number;
}

/** Creates (or, like qemu-img create, overwrites) the image at path. */
export async function createQcow2(path: string, options: CreateQcow2Options = {}): Promise<void> {
  const version = options.version ?? 3;
  const clusterSize = options.clusterSize ?? 65536;
  const clusterBits = Math.log2(clusterSize);
  if (!Number.isInteger(clusterBits) || clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw new DiskImageError(path, `cluster size ${clusterSize} must be a power of two from 512 to 2 MiB`);
  }
  const refcountOrder = refcountOrderFor(path, version, options.refcountBits ?? 16);
  const backing = options.backingFile === undefined ? undefined : await probeBacking(path, options);
  const size = options.virtualSize ?? backing?.size;
  if (size === undefined) throw new DiskImageError(path, 'createQcow2 needs a virtualSize (or a backing file)');
  if (!Number.isSafeInteger(size) || size < 0 || size % 512 !== 0) {
    throw new DiskImageError(path, `virtual size ${size} must be a non-negative multiple of 512`);
  }
  const l1Size = Math.ceil(size / (clusterSize * (clusterSize / 8)));
  const layout = computeLayout(clusterSize, refcountOrder, l1Size);
  const refcountTableOffset = clusterSize;
  const l1TableOffset = l1Size === 0 ? 0 : (1 + layout.tableClusters + layout.blocks) * clusterSize;
  const first = encodeFirstCluster(
    {
      version,
      clusterBits,
      size,
      l1Size,
      l1TableOffset,
      refcountTableOffset,
      refcountTableClusters: layout.tableClusters,
      refcountOrder,
      backingFile: options.backingFile,
      backingFormat: backing?.format,
    },
    path,
  );
  await writeImage(path, first, refcountMetadata(clusterSize, refcountOrder, layout), layout.total * clusterSize);
}

function refcountOrderFor(path: string, version: 2 | 3, bits: number): number {
  const order = Math.log2(bits);
  if (!Number.isInteger(order) || order < 0 || order > 6) {
    throw new DiskImageError(path, `refcount bits ${bits} must be a power of two from 1 to 64`);
  }
  if (version === 2 && order !== 4) throw new DiskImageError(path, 'version 2 images only have 16-bit refcounts');
  return order;
}

async function probeBacking(path: string, o: CreateQcow2Options): Promise<{ size: number; format: DiskImageFormat }> {
  const backingPath = resolveBackingPath(path, o.backingFile!);
  const backing = await openDiskImage(backingPath, { format: o.backingFormat, readOnly: true });
  try {
    return { size: backing.virtualSize, format: backing.format };
  } finally {
    await backing.close();
  }
}

/** Header, refcount table, refcount blocks, L1: enough refcount blocks for themselves and the rest. */
function computeLayout(clusterSize: number, order: number, l1Size: number): Layout {
  const perBlock = (clusterSize * 8) >> order;
  const l1Clusters = Math.ceil((l1Size * 8) / clusterSize); // none for an empty disk, as qemu-img does
  let tableClusters = 1;
  let blocks = 1;
  for (;;) {
    const total = 1 + tableClusters + blocks + l1Clusters;
    const needBlocks = Math.ceil(total / perBlock);
    const needTable = Math.ceil((needBlocks * 8) / clusterSize);
    if (needBlocks <= blocks && needTable <= tableClusters) return { tableClusters, blocks, l1Clusters, total };
    blocks = Math.max(blocks, needBlocks);
    tableClusters = Math.max(tableClusters, needTable);
  }
}

/** The refcount table followed by its blocks, with refcount 1 for every metadata cluster. */
function refcountMetadata(clusterSize: number, order: number, layout: Layout): Buffer {
  const perBlock = (clusterSize * 8) >> order;
  const bytes = Buffer.alloc((layout.tableClusters + layout.blocks) * clusterSize);
  const firstBlock = 1 + layout.tableClusters;
  for (let b = 0; b < layout.blocks; b++) bytes.writeBigUInt64BE(BigInt((firstBlock + b) * clusterSize), b * 8);
  const blocks = bytes.subarray(layout.tableClusters * clusterSize);
  for (let c = 0; c < layout.total; c++) {
    const block = Math.floor(c / perBlock);
    setRefcount(blocks.subarray(block * clusterSize, (block + 1) * clusterSize), c % perBlock, order, 1);
  }
  return bytes;
}

async function writeImage(path: string, first: Buffer, refcounts: Buffer, fileSize: number): Promise<void> {
  const fh = await open(path, 'w').catch((err: NodeJS.ErrnoException) => {
    throw new DiskImageError(path, `cannot create: ${err.code ?? err.message}`);
  });
  try {
    await writeAt(fh, first, 0, first.length, 0);
    await writeAt(fh, refcounts, 0, refcounts.length, first.length);
    await fh.truncate(fileSize); // the L1 table: all zeros
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
