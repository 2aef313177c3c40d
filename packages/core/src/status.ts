import { StateTransitionError } from './errors.js';
import { Notifiers } from './notifiers.js';

/** The migration states mig uses, named and ordered as QEMU 7.2's MigrationStatus. */
export const MIGRATION_STATUSES = ['none', 'setup', 'cancelling', 'cancelled', 'active', 'completed', 'failed'] as const;
export type MigrationStatus = (typeof MIGRATION_STATUSES)[number];

/** Which end of a migration a state machine follows: the source (QEMU's MigrationState) or the target. */
export type MigrationDirection = 'outgoing' | 'incoming';

export type MigrationTransitions = Readonly<Record<MigrationStatus, readonly MigrationStatus[]>>;

const TERMINAL: readonly MigrationStatus[] = ['completed', 'failed', 'cancelled'];

/**
 * Allowed transitions of an outgoing migration: from → the states it may go to. An ended migration may
 * start again (a new `migrate`).
 */
export const MIGRATION_TRANSITIONS: MigrationTransitions = {
  none: ['setup'],
  setup: ['active', 'failed', 'cancelling'],
  active: ['completed', 'failed', 'cancelling'],
  cancelling: ['cancelled', 'failed'],
  completed: ['setup'],
  failed: ['setup'],
  cancelled: ['setup'],
};

/**
 * Allowed transitions of an incoming migration (QEMU 7.2's MigrationIncomingState.state): setup once
 * migrate-incoming (or -incoming) listens, active once the stream is connected, then completed or failed.
 * QEMU has no cancel for a target (migrate_cancel acts on the outgoing side); mig cancels a waiting or
 * loading target when the daemon quits, through cancelling as the source does. The ended states are
 * final: QEMU takes one incoming migration per process ("The incoming migration has already been started").
 */
export const INCOMING_MIGRATION_TRANSITIONS: MigrationTransitions = {
  none: ['setup'],
  setup: ['active', 'failed', 'cancelling'],
  active: ['completed', 'failed', 'cancelling'],
  cancelling: ['cancelled', 'failed'],
  completed: [],
  failed: [],
  cancelled: [],
};

/** The transition table of `direction`. */
export function migrationTransitions(direction: MigrationDirection): MigrationTransitions {
  return direction === 'incoming' ? INCOMING_MIGRATION_TRANSITIONS : MIGRATION_TRANSITIONS;
}

export function isMigrationStatus(value: unknown): value is MigrationStatus {
  return typeof value === 'string' && (MIGRATION_STATUSES as readonly string[]).includes(value);
}

/** A migration that has ended (a new outgoing one may start). */
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

/** Whether `from → to` is in the table of `direction` (outgoing when not given). */
export function isTransitionAllowed(from: MigrationStatus, to: MigrationStatus, direction: MigrationDirection = 'outgoing'): boolean {
  return migrationTransitions(direction)[from]?.includes(to) ?? false;
}

export interface StatusChange {
  from: MigrationStatus;
  to: MigrationStatus;
}

export interface MigrationStateMachineOptions {
  /** Which transition table applies. Default 'outgoing'. */
  direction?: MigrationDirection;
  /** The state to start in. Default 'none'. */
  initial?: MigrationStatus;
}

/**
 * The state of one migration, outgoing (QEMU's MigrationState.state with migrate_set_state()) or incoming
 * (MigrationIncomingState.state). `transition` is a compare-and-set: it changes the state only if it is
 * still `from`, so a cancel racing a completion resolves to exactly one winner.
 */
export class MigrationStateMachine {
  readonly direction: MigrationDirection;
  private current: MigrationStatus;
  private readonly table: MigrationTransitions;
  private readonly changes = new Notifiers<StatusChange>();

  /** `new MigrationStateMachine('active')` is short for `{ initial: 'active' }` (outgoing). */
  constructor(options: MigrationStatus | MigrationStateMachineOptions = {}) {
    const { direction = 'outgoing', initial = 'none' } = typeof options === 'string' ? { initial: options } : options;
    if (direction !== 'outgoing' && direction !== 'incoming') {
      throw new TypeError(`unknown migration direction '${String(direction)}'`);
    }
    if (!isMigrationStatus(initial)) throw new TypeError(`unknown migration status '${String(initial)}'`);
    this.direction = direction;
    this.table = migrationTransitions(direction);
    this.current = initial;
  }

  get status(): MigrationStatus {
    return this.current;
  }

  /** Whether this machine's table has `from → to` (whatever the current state). */
  allows(from: MigrationStatus, to: MigrationStatus): boolean {
    return this.table[from]?.includes(to) ?? false;
  }

  /**
   * Sets the state to `to` if it is `from` now; returns whether it did. Throws StateTransitionError for a
   * pair that is never allowed in this direction (see MIGRATION_TRANSITIONS, INCOMING_MIGRATION_TRANSITIONS),
   * whatever the current state. Change listeners run synchronously after the change.
   */
  transition(from: MigrationStatus, to: MigrationStatus): boolean {
    if (!isMigrationStatus(from) || !isMigrationStatus(to) || !this.allows(from, to)) {
      throw new StateTransitionError(String(from), String(to), { direction: this.direction });
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
