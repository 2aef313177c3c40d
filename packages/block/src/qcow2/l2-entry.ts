// Decoding and encoding L1/L2 entries. Entries are read as two big-endian u32 halves so the per-cluster
// path makes no BigInt; a host offset is (hi & 0xffffff) * 2^32 + (lo & 0xfffffe00).
import { CorruptImageError, hex } from '../disk-image-error.js';
import {
  HI_COMPRESSED,
  HI_COPIED,
  HI_L1_RESERVED,
  HI_L2_RESERVED,
  HI_OFFSET_MASK,
  HI_SAFE_LIMIT,
  LO_OFFSET_MASK,
  LO_RESERVED,
  LO_ZERO,
} from './format.js';

export const KIND_UNALLOCATED = 0;
export const KIND_DATA = 1;
export const KIND_ZERO = 2;
export const KIND_COMPRESSED = 3;

const TWO_32 = 4294967296;

export function entryHostOffset(table: Buffer, index: number): number {
  const at = index * 8;
  return (table.readUInt32BE(at) & HI_OFFSET_MASK) * TWO_32 + ((table.readUInt32BE(at + 4) & LO_OFFSET_MASK) >>> 0);
}

export function entryCopied(table: Buffer, index: number): boolean {
  return (table.readUInt32BE(index * 8) & HI_COPIED) !== 0;
}

/** What an L2 entry says about its guest cluster (assumes validateL2Table passed). */
export function l2Kind(table: Buffer, index: number): number {
  const hi = table.readUInt32BE(index * 8);
  if ((hi & HI_COMPRESSED) !== 0) return KIND_COMPRESSED;
  const lo = table.readUInt32BE(index * 8 + 4);
  if ((lo & LO_ZERO) !== 0) return KIND_ZERO;
  return (hi & HI_OFFSET_MASK) === 0 && (lo & LO_OFFSET_MASK) === 0 ? KIND_UNALLOCATED : KIND_DATA;
}

/** Whether a write may go straight to the host cluster: data with refcount exactly one. */
export function isWritableData(table: Buffer, index: number): boolean {
  return l2Kind(table, index) === KIND_DATA && entryCopied(table, index);
}

/**
 * How many entries from `index` (at most `max`) read the same way: same kind, and for data clusters,
 * host clusters that follow each other, so the run is one pread.
 */
export function sameKindRun(table: Buffer, index: number, max: number, clusterSize: number): number {
  const kind = l2Kind(table, index);
  let n = 1;
  if (kind === KIND_DATA) {
    const host = entryHostOffset(table, index);
    while (n < max && l2Kind(table, index + n) === KIND_DATA && follows(table, index + n, host + n * clusterSize)) n++;
  } else if (kind !== KIND_COMPRESSED) {
    while (n < max && l2Kind(table, index + n) === kind) n++;
  }
  return n;
}

/** Like sameKindRun, for writable data clusters only (0 when the first is not one). */
export function writableDataRun(table: Buffer, index: number, max: number, clusterSize: number): number {
  if (!isWritableData(table, index)) return 0;
  const host = entryHostOffset(table, index);
  let n = 1;
  while (n < max && isWritableData(table, index + n) && follows(table, index + n, host + n * clusterSize)) n++;
  return n;
}

function follows(table: Buffer, index: number, expectedHost: number): boolean {
  return entryHostOffset(table, index) === expectedHost;
}

/** A standard data entry (also the L1 entry format): host offset with the refcount-is-one flag. */
export function setCopiedEntry(table: Buffer, index: number, hostOffset: number): void {
  table.writeUInt32BE((HI_COPIED | Math.floor(hostOffset / TWO_32)) >>> 0, index * 8);
  table.writeUInt32BE(hostOffset % TWO_32, index * 8 + 4);
}

/** A v3 zero cluster with no host cluster behind it. */
export function setZeroEntry(table: Buffer, index: number): void {
  table.writeUInt32BE(0, index * 8);
  table.writeUInt32BE(LO_ZERO, index * 8 + 4);
}

export function clearEntry(table: Buffer, index: number): void {
  table.writeUInt32BE(0, index * 8);
  table.writeUInt32BE(0, index * 8 + 4);
}

/** Checks every non-compressed entry of a freshly read L2 table: reserved bits, alignment, range. */
export function validateL2Table(
  table: Buffer,
  clusterSize: number,
  version: number,
  image: string,
  where: string,
): void {
  const misaligned = (clusterSize - 1) & LO_OFFSET_MASK;
  for (let i = 0; i < table.length / 8; i++) {
    const hi = table.readUInt32BE(i * 8);
    if ((hi & HI_COMPRESSED) !== 0) continue;
    const lo = table.readUInt32BE(i * 8 + 4);
    const bad =
      (hi & HI_L2_RESERVED) !== 0 ? 'reserved bits set' :
      (lo & LO_RESERVED) !== 0 ? 'reserved bits set' :
      (lo & misaligned) !== 0 ? 'host offset not cluster aligned' :
      (hi & HI_OFFSET_MASK) >= HI_SAFE_LIMIT ? 'host offset too large' :
      version === 2 && (lo & LO_ZERO) !== 0 ? 'zero flag in a version 2 image' :
      (hi & HI_COPIED) !== 0 && (lo & LO_ZERO) === 0 && entryHostOffset(table, i) === 0 ? 'offset 0 marked in use' :
      undefined;
    if (bad !== undefined) {
      throw new CorruptImageError(image, `L2 entry ${i} of ${where} (${hex(hi)}:${hex(lo >>> 0)}): ${bad}`);
    }
  }
}

/** Checks one L1 entry: reserved bits, alignment, range. */
export function validateL1Entry(l1: Buffer, index: number, clusterSize: number, image: string): void {
  const hi = l1.readUInt32BE(index * 8);
  const lo = l1.readUInt32BE(index * 8 + 4);
  const misaligned = (clusterSize - 1) & LO_OFFSET_MASK;
  const bad =
    (hi & HI_L1_RESERVED) !== 0 || (lo & ~LO_OFFSET_MASK) !== 0 ? 'reserved bits set' :
    (lo & misaligned) !== 0 ? 'L2 table offset not cluster aligned' :
    (hi & HI_OFFSET_MASK) >= HI_SAFE_LIMIT ? 'L2 table offset too large' :
    undefined;
  if (bad !== undefined) throw new CorruptImageError(image, `L1 entry ${index} (${hex(hi)}:${hex(lo)}): ${bad}`);
}
