import { errorMessage } from '../errors.js';
import { TARGET_PAGE_SIZE } from '../params.js';
import type { DirtyRatePeriod, SyncRecord } from './dirty-sync.js';
import { guardStep, raiseFailure } from './failure.js';
import type { SyncInfo } from './interfaces.js';
import type { PrecopyRun } from './run-context.js';

/**
 * One dirty sync (QEMU's migration_bitmap_sync) with its bookkeeping: the pass and dirty-pages rate, auto-converge
 * at the end of a period, MIGRATION_PASS (onPass) and onSync. Returns the bytes pending after it.
 */
export function syncDirty(run: PrecopyRun): number {
  const threshold = run.meter.thresholdBytes;
  const before = run.saver.pendingBytes(threshold);
  guardStep('iterate', 'dirty sync', () => run.saver.syncDirty());
  const after = run.saver.pendingBytes(threshold);
  const record = run.syncs.record(run.now(), before, after, run.output.transferred);
  if (record.period !== undefined && record.pass > 1) triggerThrottle(run, record.period);
  run.recorder.synced(record.pass, run.syncs.dirtyPagesRate);
  run.opts.onPass?.(record.pass);
  run.opts.onSync?.(syncInfo(run, record));
  return after;
}

function triggerThrottle(run: PrecopyRun, period: DirtyRatePeriod): void {
  try {
    run.throttle.periodEnded(period.dirtyPages * TARGET_PAGE_SIZE, period.transferredBytes, run.params());
  } catch (err) {
    raiseFailure('iterate', `migration could not throttle the guest: ${errorMessage(err)}`, err);
  }
}

function syncInfo(run: PrecopyRun, record: SyncRecord): SyncInfo {
  return {
    pass: record.pass,
    time: record.time,
    remaining: record.remaining,
    dirtiedPages: record.dirtiedPages,
    transferred: run.output.transferred,
    bandwidth: run.meter.bytesPerSecond,
    maxSize: run.meter.thresholdBytes,
    dirtyPagesRate: run.syncs.dirtyPagesRate,
    throttle: run.throttle.percent,
  };
}
