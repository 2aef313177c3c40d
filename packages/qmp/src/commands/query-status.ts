import { z } from 'zod';
import { defineCommand } from './define.js';
import { EmptyArgs, RunStateSchema } from './types.js';

export const StatusInfoSchema = z.strictObject({
  running: z.boolean(),
  singlestep: z.boolean(),
  status: RunStateSchema,
});
export type StatusInfo = z.infer<typeof StatusInfoSchema>;

export const queryStatus = defineCommand({ name: 'query-status', args: EmptyArgs, returns: StatusInfoSchema });
