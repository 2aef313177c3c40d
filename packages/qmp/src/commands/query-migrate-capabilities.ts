import { z } from 'zod';
import { defineCommand } from './define.js';
import { EmptyArgs, MigrationCapabilityStatusSchema } from './types.js';

export const queryMigrateCapabilities = defineCommand({
  name: 'query-migrate-capabilities',
  args: EmptyArgs,
  returns: z.array(MigrationCapabilityStatusSchema),
});
