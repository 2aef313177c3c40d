import { resetStats, type MigrationStats } from '../stats.js';
import type { BandwidthMeter } from './bandwidth.js';

/**
 * The precopy loop's updates of query-migrate's counters (QEMU's ram_counters and MigrationState times), in
 * one place. `stats` may be a shared-buffer view another thread reads. Times are ms on the loop's clock.
 */
export class PrecopyStatsRecorder {
  #start = 0;
  #setupTime = 0;
  #downtimeStart = 0;

  constructor(readonly stats: MigrationStats) {}

  /** A migration begins at `t`: every counter 0 (QEMU resets them per migration), expected downtime = the limit. */
  begin(t: number, downtimeLimit: number): void {
    resetStats(this.stats);
    this.#start = t;
    this.stats.startTime = t;
    this.stats.expectedDowntime = downtimeLimit;
  }

  /** `bytes` went out (stream, or beside it): precopy-bytes while the guest runs, downtime-bytes once it does not. */
  streamBytes(bytes: number, inDowntime: boolean): void {
    if (inDowntime) this.stats.downtimeBytes += bytes;
    else this.stats.precopyBytes += bytes;
  }

  /** Bytes sent so far (the stream and what the transport sent beside it). */
  transferred(bytes: number): void {
    this.stats.transferred = bytes;
  }

  /** Bytes still to send. */
  remaining(bytes: number): void {
    this.stats.remaining = bytes;
  }

  /** The first sync is done: RAM total and what is pending. */
  setupSynced(totalBytes: number, remaining: number): void {
    this.stats.total = totalBytes;
    this.stats.remaining = remaining;
  }

  /** Setup ended at `t` (the state goes to active). */
  setupDone(t: number): void {
    this.#setupTime = t - this.#start;
    this.stats.setupTime = this.#setupTime;
  }

  /** A dirty sync: the pass count and the dirty-pages rate. */
  synced(passes: number, dirtyPagesRate: number): void {
    this.stats.dirtySyncCount = passes;
    this.stats.dirtyPagesRate = dirtyPagesRate;
  }

  /** A slot ended: the meter's figures (mbps, pages per second, expected downtime once it could tell). */
  measured(meter: BandwidthMeter): void {
    this.stats.mbps = meter.mbps;
    this.stats.pagesPerSecond = meter.pagesPerSecond;
    if (meter.expectedDowntimeMs !== undefined) this.stats.expectedDowntime = meter.expectedDowntimeMs;
  }

  /** The guest throttle now, percent. */
  throttle(percent: number): void {
    this.stats.cpuThrottlePercentage = percent;
  }

  /** The switchover begins at `t` (the downtime counts from here). */
  downtimeStarted(t: number): void {
    this.#downtimeStart = t;
    this.stats.downtimeStart = t;
  }

  /** The stream ended at `t` after `transferred` bytes: downtime, total time, nothing remaining, the run's mbps. */
  completed(t: number, transferred: number): void {
    const s = this.stats;
    s.downtime = t - this.#downtimeStart;
    s.totalTime = t - this.#start;
    s.remaining = 0;
    const transferTime = s.totalTime - this.#setupTime;
    if (transferTime > 0) s.mbps = (transferred * 8) / transferTime / 1000;
  }
}
