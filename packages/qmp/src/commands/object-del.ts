import type { z } from 'zod';
import { qStr, qStruct } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn } from './types.js';

/** Delete the user object `id` (made by -object or object-add). */
export const ObjectDelArgs = qStruct({ id: qStr() });
export type ObjectDelArgs = z.infer<typeof ObjectDelArgs>;

export const objectDel = defineCommand({ name: 'object-del', args: ObjectDelArgs, returns: EmptyReturn });
