import { defineCommand } from './define.js';
import { EmptyArgs, EmptyReturn } from './types.js';

export const migrateCancel = defineCommand({ name: 'migrate_cancel', args: EmptyArgs, returns: EmptyReturn });
