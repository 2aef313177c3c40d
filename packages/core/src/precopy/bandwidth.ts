/**
 * Bytes a measured period must carry before the expected downtime is recomputed from it (QEMU: "if we haven't
 * sent anything, we don't want to recalculate").
 */
export const EXPECTED_DOWNTIME_MIN_BYTES = 10000;

/** What the measurement needs besides the byte count. */
export interface MeasureInput {
  /** downtime-limit now, ms. */
  downtimeLimit: number;
  /** Bytes still pending (stats.remaining). */
  remaining: number;
  /** Dirty pages per second (stats.dirtyPagesRate); the expected downtime is kept while it is 0. */
  dirtyPagesRate: number;
}

/**
 * The bandwidth measurement of QEMU's migration_update_counters: at each slot end, the stream bytes sent
 * since the last one over the time it took give the bandwidth, and from it the switchover threshold
 * (threshold_size = bandwidth × downtime-limit), mbps, pages per second and the expected downtime. Times are
 * ms on the caller's clock.
 */
export class BandwidthMeter {
  #start = 0;
  #startBytes = 0;
  #pages = 0;
  #bytesPerMs = 0;
  #threshold = 0;
  #mbps = 0;
  #pagesPerSecond = 0;
  #expectedDowntime: number | undefined;

  /** Starts a period at `t`, when `bytes` stream bytes had gone out. */
  restart(t: number, bytes: number): void {
    this.#start = t;
    this.#startBytes = bytes;
    this.#pages = 0;
  }

  /** Counts `pages` sent in the current period (fractions allowed). */
  addPages(pages: number): void {
    this.#pages += pages;
  }

  /**
   * Ends the current period at `t` (after its start), when `bytes` stream bytes had gone out, updates every
   * figure and starts the next period there.
   */
  measure(t: number, bytes: number, input: MeasureInput): void {
    const spent = t - this.#start;
    const sent = bytes - this.#startBytes;
    const bandwidth = sent / spent;
    this.#bytesPerMs = bandwidth;
    this.#threshold = bandwidth * input.downtimeLimit;
    this.#mbps = (sent * 8) / (spent / 1000) / 1e6;
    this.#pagesPerSecond = this.#pages / (spent / 1000);
    if (input.dirtyPagesRate > 0 && sent > EXPECTED_DOWNTIME_MIN_BYTES && bandwidth > 0) {
      this.#expectedDowntime = input.remaining / bandwidth;
    }
    this.restart(t, bytes);
  }

  /** Bytes per ms over the last measured period; 0 before the first. */
  get bytesPerMs(): number {
    return this.#bytesPerMs;
  }

  /** Bytes per second over the last measured period; 0 before the first. */
  get bytesPerSecond(): number {
    return this.#bytesPerMs * 1000;
  }

  /** The switchover threshold (QEMU's threshold_size / max_size), bytes; 0 before the first measurement. */
  get thresholdBytes(): number {
    return this.#threshold;
  }

  /** Megabits per second over the last measured period. */
  get mbps(): number {
    return this.#mbps;
  }

  get pagesPerSecond(): number {
    return this.#pagesPerSecond;
  }

  /** remaining ÷ bandwidth at the last measurement that could tell, ms; undefined until one could. */
  get expectedDowntimeMs(): number | undefined {
    return this.#expectedDowntime;
  }
}
