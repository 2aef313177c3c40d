// Which qcow2 images we open, and the refusal (naming image and feature) for the rest.
import { CorruptImageError, DiskImageError, UnsupportedFeatureError } from '../disk-image-error.js';
import {
  FEATURE_TYPE_INCOMPATIBLE,
  INCOMPAT_COMPRESSION_TYPE,
  INCOMPAT_CORRUPT,
  INCOMPAT_DATA_FILE,
  INCOMPAT_DIRTY,
  INCOMPAT_EXTENDED_L2,
  MAX_CLUSTER_BITS,
  MAX_REFCOUNT_ORDER,
  MIN_CLUSTER_BITS,
} from './format.js';
import type { Qcow2Extensions } from './header-extensions.js';
import type { Qcow2Header } from './header.js';

const CRYPT_METHODS: Record<number, string> = { 1: 'AES', 2: 'LUKS' };

/** Throws unless we can read (and, when writable, write) this image correctly. */
export function checkQcow2Supported(h: Qcow2Header, ext: Qcow2Extensions, image: string, readOnly: boolean): void {
  checkGeometry(h, image);
  if (h.cryptMethod !== 0) {
    const method = CRYPT_METHODS[h.cryptMethod] ?? `method ${h.cryptMethod}`;
    throw new UnsupportedFeatureError(image, 'encryption', `crypt_method ${h.cryptMethod} = ${method}`);
  }
  checkIncompatibleFeatures(h, ext, image);
  if (!readOnly && h.nbSnapshots > 0) {
    throw new UnsupportedFeatureError(image, 'writing an image with internal snapshots', `${h.nbSnapshots} snapshots`);
  }
}

function checkGeometry(h: Qcow2Header, image: string): void {
  if (h.clusterBits < MIN_CLUSTER_BITS || h.clusterBits > MAX_CLUSTER_BITS) {
    const range = `${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`;
    throw new CorruptImageError(image, `cluster_bits ${h.clusterBits} outside ${range}`);
  }
  if (h.refcountOrder > MAX_REFCOUNT_ORDER) {
    throw new CorruptImageError(image, `refcount_order ${h.refcountOrder} exceeds ${MAX_REFCOUNT_ORDER}`);
  }
  const clusterSize = 2 ** h.clusterBits;
  const notAligned = 'is not a non-zero multiple of the cluster size';
  if (h.refcountTableOffset === 0 || h.refcountTableOffset % clusterSize !== 0) {
    throw new CorruptImageError(image, `refcount_table_offset ${h.refcountTableOffset} ${notAligned}`);
  }
  // An empty disk (l1_size 0) has no L1 table, and qemu-img writes offset 0 for it.
  if ((h.l1Size > 0 && h.l1TableOffset === 0) || h.l1TableOffset % clusterSize !== 0) {
    throw new CorruptImageError(image, `l1_table_offset ${h.l1TableOffset} ${notAligned}`);
  }
  if (h.refcountTableClusters === 0) throw new CorruptImageError(image, 'refcount_table_clusters is 0');
  if (h.backingFileOffset > clusterSize) {
    throw new CorruptImageError(image, `backing_file_offset ${h.backingFileOffset} is past the first cluster`);
  }
  const l2Span = clusterSize * (clusterSize / 8);
  const l1Needed = Math.ceil(h.size / l2Span);
  if (h.l1Size < l1Needed) {
    throw new CorruptImageError(image, `l1_size ${h.l1Size} cannot map ${h.size} bytes (needs ${l1Needed})`);
  }
}

function checkIncompatibleFeatures(h: Qcow2Header, ext: Qcow2Extensions, image: string): void {
  const bits = h.incompatibleFeatures;
  const has = (bit: number): boolean => ((bits >> BigInt(bit)) & 1n) === 1n;
  if (has(INCOMPAT_CORRUPT)) {
    throw new UnsupportedFeatureError(image, 'corrupt bit set', 'QEMU marked the image corrupt; run qemu-img check');
  }
  if (has(INCOMPAT_DIRTY)) {
    throw new UnsupportedFeatureError(image, 'dirty bit set', 'refcounts may be stale; run qemu-img check -r all');
  }
  if (has(INCOMPAT_DATA_FILE)) {
    const name = ext.dataFile === undefined ? '' : `data file ${ext.dataFile}`;
    throw new UnsupportedFeatureError(image, 'external data file', name === '' ? undefined : name);
  }
  if (has(INCOMPAT_EXTENDED_L2)) throw new UnsupportedFeatureError(image, 'extended L2 entries', 'subclusters');
  if (has(INCOMPAT_COMPRESSION_TYPE)) {
    throw new UnsupportedFeatureError(image, 'compressed clusters', `compression_type ${h.compressionType}`);
  }
  const known = [INCOMPAT_DIRTY, INCOMPAT_CORRUPT, INCOMPAT_DATA_FILE, INCOMPAT_COMPRESSION_TYPE, INCOMPAT_EXTENDED_L2];
  for (let bit = 0; bit < 64; bit++) {
    if (!has(bit) || known.includes(bit)) continue;
    const named = ext.featureNames.find((f) => f.type === FEATURE_TYPE_INCOMPATIBLE && f.bit === bit);
    const detail = named === undefined ? `bit ${bit}` : `bit ${bit}, "${named.name}"`;
    throw new UnsupportedFeatureError(image, 'unknown incompatible feature', detail);
  }
}

/** The backing format named in the header extension, as one of ours. */
export function checkBackingFormat(format: string, image: string): 'raw' | 'qcow2' {
  if (format === 'raw' || format === 'qcow2') return format;
  throw new DiskImageError(image, `backing format "${format}" is not supported (raw and qcow2 are)`);
}
