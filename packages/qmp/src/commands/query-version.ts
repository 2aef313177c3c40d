import { z } from 'zod';
import { defineCommand } from './define.js';
import { EmptyArgs } from './types.js';

export const VersionInfoSchema = z.strictObject({
  qemu: z.strictObject({ major: z.number().int(), minor: z.number().int(), micro: z.number().int() }),
  package: z.string(),
});
export type VersionInfo = z.infer<typeof VersionInfoSchema>;

export const queryVersion = defineCommand({ name: 'query-version', args: EmptyArgs, returns: VersionInfoSchema });
