import type { z } from 'zod';
import { qEnum, qStr, qStruct, qUint64 } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn } from './types.js';

/**
 * mig only: writes `data` at guest-physical `address` as the guest would (the pages are marked dirty after the
 * write). `data` is base64 unless `encoding` is `hex`.
 */
export const XMigWriteArgs = qStruct({
  address: qUint64(),
  data: qStr(),
  encoding: qEnum(['base64', 'hex'] as const).optional(),
});
export type XMigWriteArgs = z.infer<typeof XMigWriteArgs>;

export const xMigWrite = defineCommand({ name: 'x-mig-write', args: XMigWriteArgs, returns: EmptyReturn });
