import type { z } from 'zod';
import { qArray, qStruct } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn, MigrationCapabilityStatusArg } from './types.js';

export const MigrateSetCapabilitiesArgs = qStruct({ capabilities: qArray(MigrationCapabilityStatusArg) });
export type MigrateSetCapabilitiesArgs = z.infer<typeof MigrateSetCapabilitiesArgs>;

export const migrateSetCapabilities = defineCommand({
  name: 'migrate-set-capabilities',
  args: MigrateSetCapabilitiesArgs,
  returns: EmptyReturn,
});
