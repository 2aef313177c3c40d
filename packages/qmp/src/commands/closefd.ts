import type { z } from 'zod';
import { qStr, qStruct } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn } from './types.js';

/** Close and forget the descriptor `getfd` kept under `fdname`. */
export const ClosefdArgs = qStruct({ fdname: qStr() });
export type ClosefdArgs = z.infer<typeof ClosefdArgs>;

export const closefd = defineCommand({ name: 'closefd', args: ClosefdArgs, returns: EmptyReturn });
