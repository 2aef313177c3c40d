import { defineCommand } from './define.js';
import { EmptyArgs, EmptyReturn } from './types.js';

export const quit = defineCommand({ name: 'quit', args: EmptyArgs, returns: EmptyReturn });
