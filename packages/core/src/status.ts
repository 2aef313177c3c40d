import { StateTransitionError } from './errors.js';
import { Notifiers } from './notifiers.js';

/** The migration states mig uses, named and ordered as QEMU 7.2's MigrationStatus. */
export const MIGRATION_STATUSES = ['none', 'setup', 'cancelling', 'cancelled', 'active', 'completed', 'failed'] as const;
export type MigrationStatus = (typeof MIGRATION_STATUSES)[number];

const TERMINAL: readonly MigrationStatus[] = ['completed', 'failed', 'cancelled'];

/** Allowed transitions: from → the states it may go to. */
export const MIGRATION_TRANSITIONS: Readonly<Record<MigrationStatus, readonly MigrationStatus[]>> = {
  none: ['setup'],
  setup: ['active', 'failed', 'cancelling'],
  active: ['completed', 'failed', 'cancelling'],
  cancelling: ['cancelled', 'failed'],
  completed: ['setup'],
  failed: ['setup'],
  cancelled: ['setup'],
};

export function isMigrationStatus(value: unknown): value is MigrationStatus {
  return typeof value === 'string' && (MIGRATION_STATUSES as readonly string[]).includes(value);
}

/** A migration that has ended (a new one may start). */
export function isTerminalStatus(status: MigrationStatus): boolean {
  return TERMINAL.includes(status);
}

/** QEMU's migration_is_running(): setup, active or cancelling (capabilities cannot change then). */
export function isMigrationRunning(status: MigrationStatus): boolean {
  return status === 'setup' || status === 'active' || status === 'cancelling';
}

/** QEMU's migration_is_setup_or_active(): a new migrate is refused then. */
export function isMigrationSetupOrActive(status: MigrationStatus): boolean {
  return status === 'setup' || status === 'active';
}

export function isTransitionAllowed(from: MigrationStatus, to: MigrationStatus): boolean {
  return MIGRATION_TRANSITIONS[from]?.includes(to) ?? false;
}

export interface StatusChange {
  from: MigrationStatus;
  to: MigrationStatus;
}

/**
 * The state of one outgoing migration (QEMU's MigrationState.state with migrate_set_state()). `transition`
 * is a compare-and-set: it changes the state only if it is still `from`, so a cancel racing a completion
 * resolves to exactly one winner.
 */
export class MigrationStateMachine {
  private current: MigrationStatus;
  private readonly changes = new Notifiers<StatusChange>();

  constructor(initial: MigrationStatus = 'none') {
    if (!isMigrationStatus(initial)) throw new TypeError(`unknown migration status '${String(initial)}'`);
    this.current = initial;
  }

  get status(): MigrationStatus {
    return this.current;
  }

  /**
   * Sets the state to `to` if it is `from` now; returns whether it did. Throws StateTransitionError for a
   * pair that is never allowed (see MIGRATION_TRANSITIONS), whatever the current state. Change listeners
   * run synchronously after the change.
   */
  transition(from: MigrationStatus, to: MigrationStatus): boolean {
    if (!isMigrationStatus(from) || !isMigrationStatus(to) || !isTransitionAllowed(from, to)) {
      throw new StateTransitionError(String(from), String(to));
    }
    if (this.current !== from) return false;
    this.current = to;
    this.changes.notify({ from, to });
    return true;
  }

  /** Calls `fn` after each change; returns a function that stops it. */
  onChange(fn: (change: StatusChange) => void): () => void {
    return this.changes.add(fn);
  }
}
