/**
 * QEMU's 64-bit work request ids: bits 0-15 the kind, 16-29 the RAM block index, 30-63 the chunk (RDMA
 * WRITEs only), so that a write's completion says which chunk is no longer in flight. Kept as two u32
 * halves (what goes into the work request struct) so that the per-write path makes no bigint.
 */
export const WorkRequestKind = {
  NONE: 0,
  RDMA_WRITE: 1,
  SEND_CONTROL: 2000,
  RECV_CONTROL: 4000,
} as const;

export const MAX_BLOCK_INDEX = (1 << 14) - 1;
export const MAX_CHUNK_INDEX = 2 ** 34 - 1;

/** The low 32 bits of a write's id: kind | block << 16 | the chunk's low 2 bits << 30. */
export function writeIdLow(block: number, chunk: number): number {
  return (WorkRequestKind.RDMA_WRITE | (block << 16) | ((chunk & 3) << 30)) >>> 0;
}

/** The high 32 bits: the chunk's bits 2-33. */
export function writeIdHigh(chunk: number): number {
  return Math.floor(chunk / 4) >>> 0;
}

export function kindOf(low: number): number {
  return low & 0xffff;
}

export function blockOf(low: number): number {
  return (low >>> 16) & MAX_BLOCK_INDEX;
}

export function chunkOf(low: number, high: number): number {
  return high * 4 + (low >>> 30);
}

/** The full id as a bigint, for logs and tests. */
export function workRequestId(low: number, high: number): bigint {
  return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
}
