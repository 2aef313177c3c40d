import { TARGET_PAGE_SIZE } from '../params.js';

/** The shortest period the dirty-page rate is measured over, ms (QEMU's migration_bitmap_sync: 1 s). */
export const DIRTY_RATE_PERIOD_MS = 1000;

/**
 * Whether a dirty sync is due before the next batch: when nothing is pending, or less than the switchover
 * threshold (QEMU's ram_save_pending syncs when remaining < max_size, so the rule sees what the guest dirtied).
 */
export function isSyncDue(pendingBytes: number, thresholdBytes: number): boolean {
  return pendingBytes === 0 || pendingBytes < thresholdBytes;
}

/** A dirty-rate period that a sync closed. */
export interface DirtyRatePeriod {
  /** Pages the syncs of the period added to the pending set. */
  dirtyPages: number;
  /** Stream bytes sent during the period. */
  transferredBytes: number;
  /** Its length, ms (≥ DIRTY_RATE_PERIOD_MS). */
  ms: number;
}

/** What one dirty sync found. */
export interface SyncRecord {
  /** The pass number (1 = the bulk pass at setup). */
  pass: number;
  /** Clock time of the sync, ms. */
  time: number;
  /** Bytes pending right after the sync. */
  remaining: number;
  /** Pages this sync added to the pending set (0 for the first, which selects all of RAM). */
  dirtiedPages: number;
  /** The period this sync closed, if it did (then the dirty-pages rate was recomputed). */
  period: DirtyRatePeriod | undefined;
}

/**
 * The bookkeeping of QEMU's migration_bitmap_sync: counts passes and the pages each one added, and over
 * periods of at least DIRTY_RATE_PERIOD_MS gives the dirty-pages rate (pages per second) and the figures
 * auto-converge judges. Times are ms on the caller's clock.
 */
export class DirtySyncTracker {
  #passes = 0;
  #rate = 0;
  #periodStart: number;
  #periodPages = 0;
  #periodXferStart = 0;

  constructor(
    /** When the migration started (the first period starts there). */
    start: number,
    private readonly pageSize: number = TARGET_PAGE_SIZE,
  ) {
    this.#periodStart = start;
  }

  /** Dirty syncs so far (query-migrate's dirty-sync-count, MIGRATION_PASS). */
  get passes(): number {
    return this.#passes;
  }

  /** Pages per second the guest dirtied over the last closed period (0 before one closed). */
  get dirtyPagesRate(): number {
    return this.#rate;
  }

  /**
   * One sync at `t`: pending went from `pendingBefore` to `pendingAfter` bytes; `transferred` stream bytes had
   * gone out by then.
   */
  record(t: number, pendingBefore: number, pendingAfter: number, transferred: number): SyncRecord {
    this.#passes++;
    const dirtiedPages = this.#passes > 1 ? Math.max(0, pendingAfter - pendingBefore) / this.pageSize : 0;
    this.#periodPages += dirtiedPages;
    let period: DirtyRatePeriod | undefined;
    const ms = t - this.#periodStart;
    if (ms >= DIRTY_RATE_PERIOD_MS) {
      period = { dirtyPages: this.#periodPages, transferredBytes: transferred - this.#periodXferStart, ms };
      this.#rate = (this.#periodPages * 1000) / ms;
      this.#periodStart = t;
      this.#periodPages = 0;
      this.#periodXferStart = transferred;
    }
    return { pass: this.#passes, time: t, remaining: pendingAfter, dirtiedPages, period };
  }
}
