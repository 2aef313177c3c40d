import type { z } from 'zod';
import { qBool, qStr, qStruct } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn } from './types.js';

export const MigrateArgs = qStruct({
  uri: qStr(),
  blk: qBool().optional(),
  inc: qBool().optional(),
  detach: qBool().optional(),
  resume: qBool().optional(),
});
export type MigrateArgs = z.infer<typeof MigrateArgs>;

export const migrate = defineCommand({ name: 'migrate', args: MigrateArgs, returns: EmptyReturn });
