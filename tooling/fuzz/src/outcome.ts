// What a fuzzed parser may do with bad input: complete, or throw one of its typed errors. Anything else in an
// error's cause chain (a TypeError, a RangeError: a bug the parser wrapped) is a crash.

export interface ErrorCheck {
  /** Class names (error.name) the parser's own refusals carry; a plain Error may sit between them. */
  readonly allowed: readonly string[];
  /** The outermost error must be one of these. */
  readonly top: readonly string[];
  /** Messages that mark an internal invariant, not a refusal of the input. */
  readonly forbiddenMessages?: RegExp;
}

/** Undefined when `err` is a refusal the check allows; else why it is a crash. */
export function checkErrorChain(err: unknown, check: ErrorCheck): string | undefined {
  if (!(err instanceof Error)) return `threw a non-Error: ${String(err)}`;
  if (!check.top.includes(err.name)) return `threw ${err.name}: ${err.message}`;
  let e: unknown = err;
  for (let depth = 0; e !== undefined; depth++) {
    if (depth > 8) return 'cause chain deeper than 8';
    if (!(e instanceof Error)) return `cause is a non-Error: ${String(e)}`;
    const plain = e.constructor === Error;
    if (!plain && !check.allowed.includes(e.name)) return `${e.name} in the cause chain: ${e.message}\n${e.stack ?? ''}`;
    if (check.forbiddenMessages?.test(e.message)) return `internal error: ${e.message}`;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** `p`, or a rejection naming `what` if it takes longer than `ms` (a hang). */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
