import { defineCommand } from './define.js';
import { EmptyArgs, MigrationParametersSchema } from './types.js';

export const queryMigrateParameters = defineCommand({
  name: 'query-migrate-parameters',
  args: EmptyArgs,
  returns: MigrationParametersSchema,
});
