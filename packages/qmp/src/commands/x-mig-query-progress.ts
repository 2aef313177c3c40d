import { z } from 'zod';
import { defineCommand } from './define.js';
import { EmptyArgs, MigrationStatusSchema } from './types.js';

/** mig only: the outgoing migration's progress beyond query-migrate (see @mig/core's ProgressReport). */
export const MigrationProgressSchema = z.strictObject({
  status: MigrationStatusSchema,
  /** 0..100, moving as data flows (not only at dirty syncs), never lower than an earlier answer; 100 only once completed. */
  percent: z.number(),
  /** ms until the migration is through at the current rates; null before a rate is measured or when it does not drain. */
  'eta-ms': z.number().nullable(),
  /** Bytes pending, RAM and disk. */
  remaining: z.number(),
  /** RAM and disk bytes of the migration. */
  total: z.number(),
  /** Bytes of guest data processed so far (each pass counted). */
  processed: z.number(),
  /** Bytes of guest data processed per second over the last seconds. */
  'processing-rate': z.number(),
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
