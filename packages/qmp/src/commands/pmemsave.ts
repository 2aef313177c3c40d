import type { z } from 'zod';
import { qInt, qStr, qStruct } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn } from './types.js';

/**
 * Save `size` bytes of guest-physical memory from `val` to `filename`. `cpu-index` is a mig extension
 * (QEMU 7.2's pmemsave has none and rejects it as unexpected): do not send it to a real QEMU.
 */
export const PmemsaveArgs = qStruct({
  val: qInt(),
  size: qInt(),
  filename: qStr(),
  'cpu-index': qInt().optional(),
});
export type PmemsaveArgs = z.infer<typeof PmemsaveArgs>;

export const pmemsave = defineCommand({ name: 'pmemsave', args: PmemsaveArgs, returns: EmptyReturn });
