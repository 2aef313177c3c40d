import { z } from 'zod';
import { qArray, qEnum, qStruct } from '../qapi.js';
import { defineCommand } from './define.js';
import { EmptyReturn } from './types.js';

/** Capability negotiation; answered by the server itself. `enable` lists capabilities offered in the greeting. */
export const qmpCapabilities = defineCommand({
  name: 'qmp_capabilities',
  args: qStruct({ enable: qArray(qEnum(['oob'])).optional() }),
  returns: EmptyReturn,
  builtin: true,
});
export type QmpCapabilitiesArgs = z.input<typeof qmpCapabilities.args>;
