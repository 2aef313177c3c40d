import { qNumber, qStruct } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn } from './types.js';

/** Legacy (removed from QEMU in 7.1): seconds, a number; successor is migrate-set-parameters downtime-limit (ms). */
export const migrateSetDowntime = defineCommand({
  name: 'migrate_set_downtime',
  args: qStruct({ value: qNumber() }),
  returns: EmptyReturn,
  legacy: true,
});
