import { qInt, qStruct } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn } from './types.js';

/** Legacy (removed from QEMU in 7.1): bytes; successor is migrate-set-parameters xbzrle-cache-size. */
export const migrateSetCacheSize = defineCommand({
  name: 'migrate-set-cache-size',
  args: qStruct({ value: qInt() }),
  returns: EmptyReturn,
  legacy: true,
});
