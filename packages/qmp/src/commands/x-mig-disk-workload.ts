import { z } from 'zod';
import { qEnum, qStr, qStruct, qUint64 } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyArgs, EmptyReturn } from './types.js';

/** mig only (not in QEMU): what a disk workload writes. `zero` issues write-zeroes requests. */
export const DISK_WORKLOAD_PATTERNS = ['random', 'sparse', 'zero'] as const;
export const DISK_WORKLOAD_ACTIONS = ['start', 'stop', 'set'] as const;

/**
 * mig only: start, stop or change the disk workload of one drive of mig-daemon: writes of `block` bytes at
 * block-aligned random offsets of [offset, offset + length), `rate` bytes per second, while the guest runs.
 * `start` may carry new settings; `set` changes them without starting or stopping.
 */
export const XMigDiskWorkloadArgs = qStruct({
  drive: qStr(),
  action: qEnum(DISK_WORKLOAD_ACTIONS),
  rate: qUint64().optional(),
  offset: qUint64().optional(),
  length: qUint64().optional(),
  pattern: qEnum(DISK_WORKLOAD_PATTERNS).optional(),
  block: qUint64().optional(),
});
export type XMigDiskWorkloadArgs = z.infer<typeof XMigDiskWorkloadArgs>;

export const xMigDiskWorkload = defineCommand({ name: 'x-mig-disk-workload', args: XMigDiskWorkloadArgs, returns: EmptyReturn });

export const DiskWorkloadInfoSchema = z.strictObject({
  drive: z.string(),
  /** Started (by -disk-workload or x-mig-disk-workload start). */
  active: z.boolean(),
  /** Writing now: active and the guest runs. */
  running: z.boolean(),
  /** Bytes per second. */
  rate: z.number(),
  offset: z.number(),
  length: z.number(),
  pattern: z.enum(DISK_WORKLOAD_PATTERNS),
  block: z.number(),
  /** Writes completed since the daemon started, and their bytes. */
  writes: z.number(),
  bytes: z.number(),
  /** Writes the drive refused or that failed (e.g. while its image is inactive). */
  errors: z.number(),
  'last-error': z.string().optional(),
  /** Offsets of the last completed writes, oldest first (at most 8). */
  'last-offsets': z.array(z.number()),
});
export type DiskWorkloadInfo = z.infer<typeof DiskWorkloadInfoSchema>;

/** mig only: every drive's disk workload (the drives that have one configured). */
export const xMigQueryDiskWorkload = defineCommand({
  name: 'x-mig-query-disk-workload',
  args: EmptyArgs,
  returns: z.array(DiskWorkloadInfoSchema),
});
