import { z } from 'zod';
import { qStr } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn } from './types.js';

/**
 * Create a user object (QEMU's ObjectOptions: `qom-type`, `id` and the type's own members, flat). mig makes
 * tls-creds-x509, authz-simple and authz-list; the daemon checks each type's members with QEMU's words.
 */
export const ObjectAddArgs = z.looseObject({ 'qom-type': qStr(), id: qStr() });
export type ObjectAddArgs = z.infer<typeof ObjectAddArgs>;

export const objectAdd = defineCommand({ name: 'object-add', args: ObjectAddArgs, returns: EmptyReturn });
