import type { MigrationParameters } from '../params.js';

/** What the loop knows when it asks whether to switch over (once per batch, after a dirty sync if one was due). */
export interface ConvergenceInput {
  /** Bytes pending now: the saver's pendingBytes(thresholdBytes). */
  readonly pendingBytes: number;
  /** QEMU's threshold_size: bandwidth × downtime-limit at the last slot end, bytes; 0 before the first. */
  readonly thresholdBytes: number;
  /** The bandwidth measured at the last slot end, bytes/s; 0 before the first. */
  readonly bandwidth: number;
  /** Dirty-bitmap passes so far (1 = the bulk pass of setup). */
  readonly passes: number;
  /** ms since the migration started, on the loop's clock. */
  readonly elapsedMs: number;
  /** The migration parameters now. */
  readonly params: Readonly<MigrationParameters>;
}

/**
 * Decides whether the precopy loop stops iterating and switches over (stops the guest and sends the rest).
 * Called once per batch; what it throws fails the migration.
 */
export type ConvergenceRule = (input: ConvergenceInput) => boolean;

/**
 * QEMU's rule (migration_iteration_run): switch over once what is pending would go out within downtime-limit at
 * the measured bandwidth, i.e. pending ≤ threshold_size. Before the first measurement the threshold is 0, so
 * only a migration with nothing pending switches over then.
 */
export const qemuConvergence: ConvergenceRule = (input) => input.pendingBytes <= input.thresholdBytes;
