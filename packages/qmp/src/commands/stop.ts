import { defineCommand } from './define.js';
import { EmptyArgs, EmptyReturn } from './types.js';

export const stop = defineCommand({ name: 'stop', args: EmptyArgs, returns: EmptyReturn });
