import { z } from 'zod';
import { qEnum, qStruct, qUint64 } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyArgs, EmptyReturn } from './types.js';

/** mig only (not in QEMU): the guest workload's write patterns. */
export const WORKLOAD_PATTERNS = ['random', 'sparse', 'zero'] as const;
export const WORKLOAD_ACTIONS = ['start', 'stop', 'set'] as const;

/**
 * mig only: start, stop or change the guest workload of mig-daemon. `dirty-rate` is bytes of pages written per
 * second (one page write = 4096 bytes: 20971520 means 5120 writes/s); `wss` and `offset` are bytes (page
 * aligned). `start` may carry new settings; `set` changes them without starting or stopping.
 */
export const XMigWorkloadArgs = qStruct({
  action: qEnum(WORKLOAD_ACTIONS),
  'dirty-rate': qUint64().optional(),
  wss: qUint64().optional(),
  offset: qUint64().optional(),
  pattern: qEnum(WORKLOAD_PATTERNS).optional(),
});
export type XMigWorkloadArgs = z.infer<typeof XMigWorkloadArgs>;

export const xMigWorkload = defineCommand({ name: 'x-mig-workload', args: XMigWorkloadArgs, returns: EmptyReturn });

export const WorkloadInfoSchema = z.strictObject({
  /** Started (by -workload or x-mig-workload start). */
  active: z.boolean(),
  /** Writing now: active and the guest runs. */
  running: z.boolean(),
  'dirty-rate': z.number(),
  wss: z.number(),
  offset: z.number(),
  pattern: z.enum(WORKLOAD_PATTERNS),
  /** auto-converge's throttle applied to the workload, percent. */
  throttle: z.number(),
  /** Page writes since the daemon started. */
  writes: z.number(),
});
export type WorkloadInfo = z.infer<typeof WorkloadInfoSchema>;

/** mig only: the guest workload's settings and counters. */
export const xMigQueryWorkload = defineCommand({ name: 'x-mig-query-workload', args: EmptyArgs, returns: WorkloadInfoSchema });
