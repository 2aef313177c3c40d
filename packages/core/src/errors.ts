/**
 * Error classes of @mig/core. Each names what was wrong; `cause` chains the underlying error.
 * `errorClass` is the QMP error class a command handler should answer with (QEMU uses GenericError for all
 * of these).
 */

export interface MigErrorOptions {
  cause?: unknown;
}

/** Base class: every error thrown by @mig/core is a MigError. */
export class MigError extends Error {
  readonly errorClass: string = 'GenericError';
  constructor(message: string, options?: MigErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** A migration parameter was given a value of the wrong type or out of QEMU's range. Message as QEMU's. */
export class ParameterError extends MigError {
  /** The parameter as QEMU names it in the message (e.g. `downtime_limit` or `tls-creds`). */
  readonly parameter: string;
  constructor(parameter: string, message: string, options?: MigErrorOptions) {
    super(message, options);
    this.parameter = parameter;
  }
}

/** A capability cannot be set: unknown, or known to QEMU 7.2 but one that mig does not offer. */
export class CapabilityError extends MigError {
  readonly capability: string;
  constructor(capability: string, message: string, options?: MigErrorOptions) {
    super(message, options);
    this.capability = capability;
  }
}

/** QEMU's QERR_MIGRATION_ACTIVE: the request is refused while a migration runs. */
export class MigrationActiveError extends MigError {
  constructor(options?: MigErrorOptions) {
    super("There's a migration process in progress", options);
  }
}

/** A migration was requested while blockers are registered. */
export class MigrationBlockedError extends MigError {
  readonly reasons: readonly string[];
  constructor(reasons: readonly string[], options?: MigErrorOptions) {
    super(reasons.join('; '), options);
    this.reasons = [...reasons];
  }
}

/**
 * A state change the migration state machine does not allow (a programming error in the caller). The
 * message names the direction for an incoming machine ("incoming migration state cannot ...").
 */
export class StateTransitionError extends MigError {
  readonly from: string;
  readonly to: string;
  readonly direction: 'outgoing' | 'incoming';
  constructor(from: string, to: string, options?: MigErrorOptions & { direction?: 'outgoing' | 'incoming' }) {
    const direction = options?.direction ?? 'outgoing';
    super(`${direction === 'incoming' ? 'incoming ' : ''}migration state cannot change from '${from}' to '${to}'`, options);
    this.from = from;
    this.to = to;
    this.direction = direction;
  }
}

/** One or more notifiers threw; all notifiers were still called. `errors` holds what each threw. */
export class NotifierError extends MigError {
  readonly errors: readonly unknown[];
  constructor(errors: readonly unknown[]) {
    const first = errors[0];
    const what = first instanceof Error ? first.message : String(first);
    super(`${errors.length} notifier(s) failed; first: ${what}`, { cause: first });
    this.errors = errors;
  }
}

/** A buffer handed to statsView() cannot hold the stats layout. */
export class StatsBufferError extends MigError {}

/** Bad options handed to runPrecopy() (names the option). */
export class PrecopyOptionsError extends MigError {}

/**
 * An outgoing migration failed. `phase` says where (setup, iterate, stop-guest, complete, write, end);
 * the message is what query-migrate shows as error-desc.
 */
export class MigrationFailedError extends MigError {
  readonly phase: string;
  constructor(phase: string, message: string, options?: MigErrorOptions) {
    super(message, options);
    this.phase = phase;
  }
}

/** The reason a cancelled migration's sink is destroyed with. */
export class MigrationCancelledError extends MigError {
  constructor(options?: MigErrorOptions) {
    super('migration cancelled', options);
  }
}

/** Message of any thrown value, for building error descriptions. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
