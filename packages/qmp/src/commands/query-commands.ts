import { z } from 'zod';
import { defineCommand } from './define.js';
import { EmptyArgs } from './types.js';

/** Lists the commands of the registry; answered by the server itself. */
export const queryCommands = defineCommand({
  name: 'query-commands',
  args: EmptyArgs,
  returns: z.array(z.strictObject({ name: z.string() })),
  builtin: true,
});
