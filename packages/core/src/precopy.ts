import { iteratePhase } from './precopy/iterate-phase.js';
import type { PrecopyOptions, PrecopyResult } from './precopy/options.js';
import { settleRun } from './precopy/outcome.js';
import { startRun } from './precopy/run-context.js';
import { setupPhase } from './precopy/setup-phase.js';
import { completeRun, switchover } from './precopy/switchover.js';

export type { ByteSink, MigrationSaver, SyncInfo } from './precopy/interfaces.js';
export { DEFAULT_MAX_BATCH_BYTES, type PrecopyOptions, type PrecopyResult } from './precopy/options.js';
export * from './precopy/rate-limiter.js';
export * from './precopy/bandwidth.js';
export * from './precopy/convergence.js';
export * from './precopy/auto-converge.js';
export * from './precopy/dirty-sync.js';
export * from './precopy/precopy-stats.js';

/**
 * The precopy migration loop (QEMU's migration_thread), over a MigrationSaver and a ByteSink, composed of:
 * - setup: saver.setup(), its output written, the first dirty sync (pass 1), state setup → active;
 * - iterate: batches in 100 ms slots of max-bandwidth/10 bytes (RateLimiter; 0 = unlimited; every batch ≤
 *   maxBatchBytes, each awaited through the sink's backpressure); at each slot end the bandwidth and so the
 *   switchover threshold (bandwidth × downtime-limit) are measured (BandwidthMeter); a dirty sync when nothing
 *   or less than the threshold is pending (DirtySyncTracker, AutoConverge); after each, `convergence` (default
 *   qemuConvergence: pending ≤ threshold) decides whether to switch over;
 * - switchover: stopGuest(), the last sync, the rest in bounded batches, saver.complete(runstate), sink.end(),
 *   downtime recorded, state completed.
 *
 * Cancel: `signal` aborting, or anyone moving the state to 'cancelling', is seen between batches; the sink is
 * destroyed at once so a blocked write returns. Once sink.end() is under way the signal is ignored.
 *
 * Never rejects for a migration failure: returns {status:'failed', errorDesc} (state failed, sink destroyed,
 * guest resumed if it had been stopped) or {status:'cancelled'}. Rejects only for bad options or a migration
 * that is still running.
 */
export async function runPrecopy(opts: PrecopyOptions): Promise<PrecopyResult> {
  const run = startRun(opts);
  try {
    await setupPhase(run);
    await iteratePhase(run);
    await switchover(run);
    return completeRun(run);
  } catch (err) {
    return settleRun(run, err);
  }
}
