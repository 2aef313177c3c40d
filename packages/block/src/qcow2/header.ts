// The fixed qcow2 header (v2: 72 bytes, v3: header_length bytes), parsed from the image's first cluster.
import { CorruptImageError, DiskImageError } from '../disk-image-error.js';
import { QCOW2_MAGIC, V2_HEADER_LENGTH, V3_MIN_HEADER_LENGTH } from './format.js';

export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  /** Virtual disk size in bytes. */
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatibleFeatures: bigint;
  compatibleFeatures: bigint;
  autoclearFeatures: bigint;
  /** refcount_bits = 1 << refcountOrder; always 4 for v2. */
  refcountOrder: number;
  headerLength: number;
  /** 0 = zlib; only meaningful with the compression-type incompatible bit. */
  compressionType: number;
}

export function isQcow2Magic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && readU32(bytes, 0) === QCOW2_MAGIC;
}

/** Parses the fixed header. Semantic checks (features, limits) are in feature-check.ts. */
export function parseQcow2Header(bytes: Uint8Array, image: string): Qcow2Header {
  if (bytes.length < V2_HEADER_LENGTH) {
    throw new DiskImageError(image, `file too short for a qcow2 header (${bytes.length} bytes)`);
  }
  if (!isQcow2Magic(bytes)) throw new DiskImageError(image, 'not a qcow2 image (bad magic)');
  const version = readU32(bytes, 4);
  if (version !== 2 && version !== 3) throw new DiskImageError(image, `unsupported qcow2 version ${version}`);
  const v3 = version === 3;
  const headerLength = v3 ? readU32(bytes, 100) : V2_HEADER_LENGTH;
  if (v3 && (headerLength < V3_MIN_HEADER_LENGTH || headerLength % 8 !== 0 || headerLength > bytes.length)) {
    throw new CorruptImageError(image, `qcow2 v3 header_length ${headerLength} is invalid`);
  }
  const u64 = (at: number, field: string): number => readU64(bytes, at, image, field);
  return {
    version,
    backingFileOffset: u64(8, 'backing_file_offset'),
    backingFileSize: readU32(bytes, 16),
    clusterBits: readU32(bytes, 20),
    size: u64(24, 'size'),
    cryptMethod: readU32(bytes, 32),
    l1Size: readU32(bytes, 36),
    l1TableOffset: u64(40, 'l1_table_offset'),
    refcountTableOffset: u64(48, 'refcount_table_offset'),
    refcountTableClusters: readU32(bytes, 56),
    nbSnapshots: readU32(bytes, 60),
    snapshotsOffset: u64(64, 'snapshots_offset'),
    incompatibleFeatures: v3 ? readBig(bytes, 72) : 0n,
    compatibleFeatures: v3 ? readBig(bytes, 80) : 0n,
    autoclearFeatures: v3 ? readBig(bytes, 88) : 0n,
    refcountOrder: v3 ? readU32(bytes, 96) : 4,
    headerLength,
    compressionType: v3 && headerLength > 104 ? (bytes[104] ?? 0) : 0,
  };
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function readBig(b: Uint8Array, at: number): bigint {
  return (BigInt(readU32(b, at)) << 32n) | BigInt(readU32(b, at + 4));
}

function readU64(b: Uint8Array, at: number, image: string, field: string): number {
  const value = readBig(b, at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CorruptImageError(image, `header ${field} ${value} is too large`);
  }
  return Number(value);
}
