import { defineCommand } from './define.js';
import { EmptyArgs, MigrationInfoSchema } from './types.js';

export const queryMigrate = defineCommand({ name: 'query-migrate', args: EmptyArgs, returns: MigrationInfoSchema });
