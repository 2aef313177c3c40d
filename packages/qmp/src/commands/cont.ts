import { defineCommand } from './define.js';
import { EmptyArgs, EmptyReturn } from './types.js';

export const cont = defineCommand({ name: 'cont', args: EmptyArgs, returns: EmptyReturn });
