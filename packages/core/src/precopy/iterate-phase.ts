import { TARGET_PAGE_SIZE } from '../params.js';
import { isSyncDue } from './dirty-sync.js';
import { guardStep } from './failure.js';
import { RateLimiter } from './rate-limiter.js';
import type { PrecopyRun } from './run-context.js';
import { waitForSaver } from './saver-ready.js';
import { syncDirty } from './sync-step.js';

/**
 * The iterations of QEMU's migration_thread, until the convergence rule says to switch over: in rate-limit
 * slots, each batch at most the slot's remaining bytes and maxBatch, awaited through the sink's backpressure.
 * At each slot end the bandwidth (and so the switchover threshold) is measured and the event loop gets a turn.
 */
export async function iteratePhase(run: PrecopyRun): Promise<void> {
  const start = run.now();
  const limiter = new RateLimiter(start, run.params()['max-bandwidth']);
  run.output.countControlBytes();
  run.meter.restart(start, run.output.transferred);
  while (true) {
    run.cancel.check();
    const t = run.now();
    if (limiter.slotOver(t)) {
      endSlot(run, limiter, t);
      await run.sleep(0); // let the event loop run (QMP, cancel) even when the sink never blocks
      continue;
    }
    if (limiter.exhausted) {
      await run.sleep(limiter.msToSlotEnd(t));
      continue;
    }
    const pending = pendingNow(run);
    if (switchoverDue(run, pending)) return;
    const sent = await sendBatch(run, pending, limiter.budget(run.maxBatch));
    limiter.count(sent);
    if (sent === 0 && pending > 0) await waitForSaver(run, 'iterate');
  }
}

/** migration_update_counters, then a new slot with max-bandwidth as it is now. */
function endSlot(run: PrecopyRun, limiter: RateLimiter, t: number): void {
  const p = run.params();
  const { stats } = run;
  run.output.countControlBytes(); // the transport's writes of this slot, also those that went out after the last batch
  run.meter.measure(t, run.output.transferred, {
    downtimeLimit: p['downtime-limit'], remaining: stats.remaining, dirtyPagesRate: stats.dirtyPagesRate,
  });
  run.recorder.measured(run.meter);
  limiter.nextSlot(t, p['max-bandwidth']);
}

/** What is pending, after a dirty sync when one is due (nothing left, or less than the threshold). */
function pendingNow(run: PrecopyRun): number {
  let pending = run.saver.pendingBytes(run.meter.thresholdBytes);
  if (isSyncDue(pending, run.meter.thresholdBytes)) pending = syncDirty(run);
  run.recorder.remaining(pending);
  return pending;
}

function switchoverDue(run: PrecopyRun, pending: number): boolean {
  const input = {
    pendingBytes: pending,
    thresholdBytes: run.meter.thresholdBytes,
    bandwidth: run.meter.bytesPerSecond,
    passes: run.syncs.passes,
    elapsedMs: run.now() - run.startTime,
    params: run.params(),
  };
  return guardStep('iterate', 'convergence rule', () => run.convergence(input));
}

/**
 * One iterate() of at most `budget` bytes, written out; returns the bytes it used of the budget: its stream
 * bytes and the pages a transport's control path took (QEMU's rate_limit_used counts both when taken).
 */
async function sendBatch(run: PrecopyRun, pendingBefore: number, budget: number): Promise<number> {
  const takenBefore = run.saver.controlBytesTaken ?? 0;
  guardStep('iterate', 'iterate', () => run.saver.iterate(budget));
  const taken = (run.saver.controlBytesTaken ?? 0) - takenBefore;
  const sent = (await run.output.flush()) + taken;
  const after = run.saver.pendingBytes(run.meter.thresholdBytes);
  run.meter.addPages(Math.max(0, pendingBefore - after) / TARGET_PAGE_SIZE);
  run.recorder.remaining(after);
  run.opts.onProgress?.(run.stats);
  return sent;
}
