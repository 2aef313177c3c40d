import type { z } from 'zod';
import { qStr, qStruct } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn } from './types.js';

export const MigrateIncomingArgs = qStruct({ uri: qStr() });
export type MigrateIncomingArgs = z.infer<typeof MigrateIncomingArgs>;

export const migrateIncoming = defineCommand({ name: 'migrate-incoming', args: MigrateIncomingArgs, returns: EmptyReturn });
