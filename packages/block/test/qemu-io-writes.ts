// A spread of qemu-io writes: aligned, unaligned, across clusters and L2 tables, zeroes, discards, the
// last sector of an 8 MiB disk.
export const QEMU_IO_WRITES = [
  'write -P 0x5a 0 4k',
  'write -P 0xa5 60k 10k',
  'write -P 0x33 1M 1536k',
  'write -z 3M 128k',
  'write -P 0x77 5000k 3k',
  'write -z -u 6M 64k',
  'discard 1M 64k',
  'write -P 0x44 7000k 1100k',
  'write -P 0x11 8388096 512',
  'write -z 2100k 1k',
];
