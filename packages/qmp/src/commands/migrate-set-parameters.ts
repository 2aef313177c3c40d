import { defineCommand } from './define.js';
import { EmptyReturn, MigrateSetParametersArgs } from './types.js';

export const migrateSetParameters = defineCommand({
  name: 'migrate-set-parameters',
  args: MigrateSetParametersArgs,
  returns: EmptyReturn,
});
