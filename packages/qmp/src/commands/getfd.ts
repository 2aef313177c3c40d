import type { z } from 'zod';
import { qStr, qStruct } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn } from './types.js';

/**
 * Keep the descriptor sent with this request (SCM_RIGHTS on a unix QMP socket) under `fdname`, for
 * `migrate fd:NAME` and `migrate-incoming fd:NAME`. A name already held is replaced (its old descriptor closed).
 */
export const GetfdArgs = qStruct({ fdname: qStr() });
export type GetfdArgs = z.infer<typeof GetfdArgs>;

export const getfd = defineCommand({ name: 'getfd', args: GetfdArgs, returns: EmptyReturn });
