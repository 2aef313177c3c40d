import { PrecopyOptionsError, type MigrationFailedError } from '../errors.js';
import type { MigrationParameters } from '../params.js';
import type { SetTimer } from '../stall.js';
import type { MigrationStats } from '../stats.js';
import type { MigrationStateMachine, MigrationStatus } from '../status.js';
import type { ConvergenceRule } from './convergence.js';
import type { ByteSink, MigrationSaver, SyncInfo } from './interfaces.js';

/** Default cap of one saver.iterate() call, so unlimited bandwidth still goes in bounded batches. */
export const DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024;

export interface PrecopyOptions {
  saver: MigrationSaver;
  sink: ByteSink;
  /** The parameters, or a getter read at every slot so migrate-set-parameters applies live. */
  params: Readonly<MigrationParameters> | (() => Readonly<MigrationParameters>);
  /**
   * Stops the guest for the switchover; returns the runstate it had (e.g. 'running', 'paused',
   * 'prelaunch'), which goes into the stream's globalstate section.
   */
  stopGuest(): Promise<string> | string;
  /** Restarts the guest after a failure or cancel that came after stopGuest(); gets what stopGuest returned. */
  resumeGuest(previousRunstate: string): Promise<void> | void;
  /**
   * The migration's state. If it is not 'setup' already it is moved there (from none or an ended state);
   * a migration that is still running is refused with MigrationActiveError. Default: a new machine.
   */
  state?: MigrationStateMachine;
  /** Counters to update (reset at start); default a new plain object. May be a shared-buffer view. */
  stats?: MigrationStats;
  /** Cancels the migration (migrate_cancel): state → cancelling at once, the sink is destroyed. */
  signal?: AbortSignal;
  /** Whether the guest runs now (bytes count as precopy-bytes then, else downtime-bytes). Default: true. */
  isGuestRunning?(): boolean;
  /** A dirty-bitmap sync began pass `pass` (1 at setup): the daemon emits MIGRATION_PASS. */
  onPass?(pass: number): void;
  /** Called after every batch and at the end, e.g. to copy the saver's page counters into `stats`. */
  onProgress?(stats: MigrationStats): void;
  /** RAM size for ram.total; default the saver's pendingBytes() right after the first sync. */
  totalBytes?: number;
  /** Clock in ms (default Date.now); stats times are on this clock. */
  now?(): number;
  /**
   * A one-shot timer on the same clock (default setTimeout): the x-stall-timeout watch, one per run, that
   * fails the migration when the sink takes nothing for that long while the loop waits on it.
   */
  setTimer?: SetTimer;
  /** Waits `ms` on the same clock (default setTimeout). Called with 0 at each slot end to yield. */
  sleep?(ms: number): Promise<void>;
  /** Largest iterate() budget (default 8 MiB). */
  maxBatchBytes?: number;
  /**
   * Whether to switch over now, asked once per batch with what is pending and the threshold (after a dirty
   * sync when one was due). Default qemuConvergence: pending ≤ bandwidth × downtime-limit (QEMU's
   * threshold_size). What it throws fails the migration.
   */
  convergence?: ConvergenceRule;
  /**
   * The auto-converge capability. When on, QEMU 7.2's migration_trigger_throttle runs at each dirty sync that
   * ends a period of at least 1 s: if the bytes dirtied in the period exceed throttle-trigger-threshold % of
   * the bytes sent in it, for the second time (dirty_rate_high_cnt ≥ 2), the throttle goes to
   * cpu-throttle-initial, then up by cpu-throttle-increment (or less with cpu-throttle-tailslow) to at most
   * max-cpu-throttle. Shown as stats.cpuThrottlePercentage.
   */
  autoConverge?: boolean;
  /** Apply a guest throttle of `percent` (0 = none): called when it changes and with 0 when the migration ends. */
  setThrottle?(percent: number): void;
  /** After every dirty sync (pass ≥ 1, the one after the guest stopped included): the figures of that sync. */
  onSync?(info: SyncInfo): void;
}

export interface PrecopyResult {
  status: Extract<MigrationStatus, 'completed' | 'failed' | 'cancelled'>;
  /** For 'failed': the error (its message is `errorDesc`; `cause` is what went wrong underneath). */
  error?: MigrationFailedError;
  /** For 'failed': the text for query-migrate's error-desc. */
  errorDesc?: string;
  /** Dirty-bitmap passes (= the last MIGRATION_PASS number). */
  passes: number;
  /** Stream bytes handed to the sink. */
  bytesWritten: number;
  /** What resumeGuest() threw, if it was called and failed (the outcome above stands). */
  resumeError?: unknown;
}

/** Refuses options runPrecopy cannot run with, naming the option (PrecopyOptionsError). */
export function checkPrecopyOptions(opts: PrecopyOptions): void {
  const { saver, sink } = opts;
  if (!saver || typeof saver.iterate !== 'function') throw new PrecopyOptionsError('runPrecopy: saver is missing');
  if (!sink || typeof sink.write !== 'function') throw new PrecopyOptionsError('runPrecopy: sink is missing');
  if (typeof opts.stopGuest !== 'function') throw new PrecopyOptionsError('runPrecopy: stopGuest is missing');
  if (typeof opts.resumeGuest !== 'function') throw new PrecopyOptionsError('runPrecopy: resumeGuest is missing');
  const maxBatch = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  if (!(maxBatch > 0)) throw new PrecopyOptionsError(`runPrecopy: maxBatchBytes must be positive, got ${maxBatch}`);
  if (opts.convergence !== undefined && typeof opts.convergence !== 'function') {
    throw new PrecopyOptionsError(`runPrecopy: convergence must be a function, got ${typeof opts.convergence}`);
  }
}
