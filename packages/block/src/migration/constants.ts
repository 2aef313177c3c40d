/** Facts of QEMU 7.2's `block` section (migration/block.c); docs/qemu-block-migration.md has the details. */

/** Where QEMU 7.2 registers it with `-machine none`: section id 1, before `ram` (2). */
export const BLOCK_SECTION = { idstr: 'block', instanceId: 0, version: 1, sectionId: 1 } as const;

/** Flags in the low 9 bits of each record's be64 (value << 9 | flags). */
export const BlockFlag = {
  DEVICE_BLOCK: 0x01,
  EOS: 0x02,
  PROGRESS: 0x04,
  ZERO_BLOCK: 0x08,
} as const;

export const SECTOR_BITS = 9;
export const SECTOR_SIZE = 1 << SECTOR_BITS;
/** The unit of the stream, of dirty tracking and of reads: 1 MiB (BLK_MIG_BLOCK_SIZE, 2048 sectors). */
export const CHUNK_SIZE = 1 << 20;
export const CHUNK_SECTORS = CHUNK_SIZE / SECTOR_SIZE;
export const BLOCK_FLAGS_MASK = (1 << SECTOR_BITS) - 1;
/** Reads (source) and writes (target) in flight at once, as QEMU's MAX_PARALLEL_IO. */
export const BLOCK_IO_DEPTH = 16;
