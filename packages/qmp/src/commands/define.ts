import type { z } from 'zod';

/** One QMP command: its wire name, the zod schema of its `arguments` and of its `return` value. */
export interface CommandDefinition<N extends string = string, A extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly name: N;
  readonly args: A;
  readonly returns: R;
  /** Answered by the server itself (negotiation, query-commands): no daemon handler. */
  readonly builtin?: boolean;
  /** Not in QEMU 7.2 (the seed's legacy commands that mig keeps). */
  readonly legacy?: boolean;
}

export function defineCommand<const D extends CommandDefinition>(def: D): D {
  return def;
}
