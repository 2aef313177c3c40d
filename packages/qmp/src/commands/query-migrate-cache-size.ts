import { z } from 'zod';
import { defineCommand } from './define.js';
import { EmptyArgs } from './types.js';

/** Legacy (removed from QEMU in 7.1): the XBZRLE cache size in bytes. */
export const queryMigrateCacheSize = defineCommand({
  name: 'query-migrate-cache-size',
  args: EmptyArgs,
  returns: z.number().int(),
  legacy: true,
});
