// The records of the `block` section body, written through the savevm StreamWriter: be64 (value << 9 | flags),
// then for chunks the counted device name and 1 MiB of data (none for a zero chunk).
import type { StreamWriter } from '@mig/savevm';
import { BlockFlag, CHUNK_SIZE, SECTOR_BITS } from './constants.js';

const SECTOR_MULTIPLIER = 1 << SECTOR_BITS;

/** DEVICE_BLOCK with 1 MiB of data from `data[0..]`. Returns bytes written. */
export function writeBlockChunk(w: StreamWriter, name: Uint8Array, sector: number, data: Uint8Array): number {
  w.reserve(9 + name.length + CHUNK_SIZE);
  w.be64(sector * SECTOR_MULTIPLIER + BlockFlag.DEVICE_BLOCK);
  w.counted(name);
  w.bytes(data, 0, CHUNK_SIZE);
  return 9 + name.length + CHUNK_SIZE;
}

/** DEVICE_BLOCK | ZERO_BLOCK: an all-zero chunk, no data (capability zero-blocks). */
export function writeBlockZeroChunk(w: StreamWriter, name: Uint8Array, sector: number): number {
  w.reserve(9 + name.length);
  w.be64(sector * SECTOR_MULTIPLIER + BlockFlag.DEVICE_BLOCK + BlockFlag.ZERO_BLOCK);
  w.counted(name);
  return 9 + name.length;
}

/** PROGRESS: percent of the bulk phase submitted (QEMU's targets print it). */
export function writeBlockProgress(w: StreamWriter, percent: number): number {
  w.be64(percent * SECTOR_MULTIPLIER + BlockFlag.PROGRESS);
  return 8;
}

/** EOS: the end of this block section body. */
export function writeBlockEos(w: StreamWriter): number {
  w.be64(BlockFlag.EOS);
  return 8;
}
