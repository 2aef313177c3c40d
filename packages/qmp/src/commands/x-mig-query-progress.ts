import { z } from 'zod';
import { defineCommand } from './define.js';
import { EmptyArgs, MigrationStatusSchema } from './types.js';

/** mig only: the outgoing migration's progress beyond query-migrate (see @mig/core's ProgressReport). */
export const MigrationProgressSchema = z.strictObject({
  status: MigrationStatusSchema,
  /** 0..100, never lower than an earlier answer for the same migration. */
  percent: z.number(),
  /** ms until the switchover at the current rates; null when the guest dirties at least as fast as the link. */
  'eta-ms': z.number().nullable(),
  remaining: z.number(),
  'remaining-min': z.number(),
  threshold: z.number(),
  'dirty-rate': z.number(),
  bandwidth: z.number(),
  'stalled-syncs': z.number(),
  converging: z.boolean(),
  pass: z.number(),
  throttle: z.number(),
  advice: z.array(z.string()),
});
export type MigrationProgress = z.infer<typeof MigrationProgressSchema>;

export const xMigQueryProgress = defineCommand({ name: 'x-mig-query-progress', args: EmptyArgs, returns: MigrationProgressSchema });
