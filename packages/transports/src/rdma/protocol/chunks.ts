import { CHUNK_BYTES, CHUNK_SHIFT } from './constants.js';

/**
 * A RAM block cut into 1 MiB chunks counted from its start, the unit of registration (pinning). Offsets
 * here are within the block (0 = the block's first byte).
 */

/**
 * Chunk slots of a block: QEMU counts `(length >> 20) + 1`, one more than needed when the length is a
 * multiple of 1 MiB; the bookkeeping arrays have this many entries on both sides.
 */
export function chunkSlots(length: number): number {
  return Math.floor(length / CHUNK_BYTES) + 1;
}

export function chunkIndex(offsetInBlock: number): number {
  return Math.floor(offsetInBlock / CHUNK_BYTES);
}

export function chunkStart(chunk: number): number {
  return chunk * CHUNK_BYTES;
}

/** Where chunk `chunk` ends: 1 MiB on, or the block's end for its last chunk. */
export function chunkEnd(chunk: number, blockLength: number): number {
  return Math.min((chunk + 1) * CHUNK_BYTES, blockLength);
}

/**
 * The `chunks` field of a REGISTER_REQUEST for a span of `length` bytes: chunks after the first (QEMU:
 * length / 1 MiB, one fewer when the length is a whole number of chunks).
 */
export function extraChunks(length: number): number {
  const whole = Math.floor(length / CHUNK_BYTES);
  return whole > 0 && length % CHUNK_BYTES === 0 ? whole - 1 : whole;
}

/** The byte range a registration of `chunk` and `extra` more covers, clipped to the block. */
export function registrationRange(chunk: number, extra: number, blockLength: number): { start: number; end: number } {
  return { start: chunkStart(chunk), end: chunkEnd(chunk + extra, blockLength) };
}

export { CHUNK_SHIFT };
