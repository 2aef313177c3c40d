import { qInt, qStruct } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn } from './types.js';

/** Legacy (removed from QEMU in 7.1): bytes per second; successor is migrate-set-parameters max-bandwidth. */
export const migrateSetSpeed = defineCommand({
  name: 'migrate_set_speed',
  args: qStruct({ value: qInt() }),
  returns: EmptyReturn,
  legacy: true,
});
