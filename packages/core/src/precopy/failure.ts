import { MigrationFailedError, errorMessage } from '../errors.js';

/** Thrown inside the loop to unwind to the cancelled outcome; never leaves runPrecopy. */
export class CancelRequested extends Error {
  constructor() {
    super('migration cancel requested');
  }
}

// The failures the loop raised itself: a cancel seen while one unwinds does not turn it into a cancel.
const raised = new WeakSet<object>();

/** Fails the migration in `phase`; `message` is query-migrate's error-desc, `cause` what went wrong underneath. */
export function raiseFailure(phase: string, message: string, cause: unknown): never {
  const err = new MigrationFailedError(phase, message, { cause });
  raised.add(err);
  throw err;
}

/** Fails the migration with a failure made elsewhere (the stall watch's), as raiseFailure does. */
export function raiseMade(err: MigrationFailedError): never {
  raised.add(err);
  throw err;
}

/** Whether `err` came from raiseFailure. */
export function isRaisedFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && raised.has(err);
}

/** Runs one step of the saver (or a rule); what it throws fails the migration as "migration <what> failed: …". */
export function guardStep<T>(phase: string, what: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    return raiseFailure(phase, `migration ${what} failed: ${errorMessage(err)}`, err);
  }
}
