// For the handler tests: call a handler as the QMP server would, and catch the QmpError it throws.
import { QmpError, type QmpCommandContext } from '@mig/qmp';

const ctx: QmpCommandContext = { clientId: 1, signal: new AbortController().signal, monitor: 1, takeDescriptor: () => undefined };

/**
 * Calls `handler` with `args` (unchecked: the server's zod schemas are not the subject here); `context`
 * overrides the request's context (a monitor, the descriptor that came with it).
 */
export function call<R>(handler: (args: never, ctx: QmpCommandContext) => R, args: object = {}, context: Partial<QmpCommandContext> = {}): R {
  return handler(args as never, { ...ctx, ...context });
}

/** The QmpError `fn` throws or rejects with, as `class: desc`; fails if it throws something else or nothing. */
export async function qmpErrorOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof QmpError) return `${err.errorClass}: ${err.desc}`;
    throw err;
  }
  throw new Error('expected a QmpError, nothing was thrown');
}
