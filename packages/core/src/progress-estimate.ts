/**
 * The moving part of progress: a percentage and an ETA from samples of what is still to send, taken as often as
 * anyone asks (a QMP query, a metrics scrape, a timer), not only at dirty syncs. Works from query-migrate's
 * figures alone, so a CLI can run it against QEMU 7.2 too.
 *
 * The model: guest data is *processed* when it leaves the pending set (a page sent, a zero page skipped, a disk
 * chunk read and sent). Processing runs at a rate measured over a sliding window of samples; the guest adds
 * data back at its dirty rate. What is left — the pending set plus what the guest dirtied since the last sync,
 * when the sampler can count it — takes left ÷ (rate − dirty rate): the sum of the passes still to come when
 * each pass is the data dirtied during the one before; less what the switchover sends in the downtime, when the
 * sampler knows that threshold. The percentage is processed ÷ (processed + what is still
 * expected to be processed), held at its highest and kept below 100 until the migration completes.
 *
 * The dirty rate: the growth of `dirtyPending` over the window while the pass stays the same (this sees the
 * guest during the bulk pass, before any sync has measured it), else the rate the last sync measured.
 */

/** One look at a running migration. */
export interface ProgressSample {
  /** Clock time, ms. */
  time: number;
  /** Bytes still to send: RAM and disk together. */
  remaining: number;
  /** Dirty-sync count (1 = the bulk pass). */
  pass: number;
  /** Bytes per second the guest dirties, as the last sync measured (0 while unknown, e.g. during the bulk pass). */
  dirtyRate: number;
  /**
   * Bytes the guest dirtied since the last sync, which the next sync adds to the pending set (mig-daemon counts
   * its dirty bitmaps; absent against QEMU, which does not tell).
   */
  dirtyPending?: number;
  /**
   * What the switchover sends with the guest stopped (QEMU's rule: once pending ≤ bandwidth × downtime-limit):
   * that rest goes out unthrottled in the downtime, not at the processing rate, so the ETA leaves it out.
   */
  switchoverBytes?: number;
}

export interface ProgressEstimate {
  /** 0..99.9 while running (one decimal), never lower than an earlier estimate. */
  percent: number;
  /** ms until the migration is through at the current rates; null before a rate is measured or when it does not drain. */
  etaMs: number | null;
  /** Bytes of guest data processed so far (RAM and disk; what left the pending set, counted each pass). */
  processed: number;
  /** Bytes of guest data processed per second over the window (0 before it could be measured). */
  rate: number;
  /** Bytes per second the guest dirties, as used for the ETA. */
  dirtyRate: number;
}

export interface ProgressEstimatorOptions {
  /** RAM and disk bytes of the migration. */
  totalBytes: number;
  /** Span of samples the processing rate is measured over, ms. Default 3000. */
  windowMs?: number;
  /** Shortest span a rate is measured over, ms. Default 400. */
  minSpanMs?: number;
}

/** How many samples the window keeps; older ones are overwritten (a window holds far fewer at 4 Hz). */
const RING = 64;

export class ProgressEstimator {
  readonly #total: number;
  readonly #windowMs: number;
  readonly #minSpanMs: number;
  // the window as a ring of (time, processed) points: no allocation per sample
  readonly #times = new Float64Array(RING);
  readonly #done = new Float64Array(RING);
  readonly #dirty = new Float64Array(RING);
  readonly #passes = new Float64Array(RING);
  #count = 0;
  #head = 0;
  #lastTime = -Infinity;
  #lastRemaining = NaN;
  #processed = 0;
  #percent = 0;
  #estimate: ProgressEstimate = { percent: 0, etaMs: null, processed: 0, rate: 0, dirtyRate: 0 };

  constructor(opts: ProgressEstimatorOptions) {
    if (!(opts.totalBytes > 0)) throw new RangeError(`progress: totalBytes must be positive, got ${opts.totalBytes}`);
    this.#total = opts.totalBytes;
    this.#windowMs = opts.windowMs ?? 3000;
    this.#minSpanMs = opts.minSpanMs ?? 400;
    if (!(this.#windowMs > this.#minSpanMs && this.#minSpanMs > 0)) {
      throw new RangeError(`progress: need windowMs > minSpanMs > 0, got ${this.#windowMs} and ${this.#minSpanMs}`);
    }
  }

  get last(): ProgressEstimate {
    return this.#estimate;
  }

  /** Takes one sample (one older than the last is ignored: threads' messages can arrive late). */
  sample(s: ProgressSample): ProgressEstimate {
    if (s.time < this.#lastTime) return this.#estimate;
    const remaining = Math.max(0, s.remaining);
    if (Number.isNaN(this.#lastRemaining)) this.#processed = Math.max(0, this.#total - remaining);
    else if (remaining < this.#lastRemaining) this.#processed += this.#lastRemaining - remaining;
    // a rise is a sync adding dirtied data back: nothing processed, the rate window goes on
    this.#lastRemaining = remaining;
    this.#lastTime = s.time;
    this.#push(s.time, this.#processed, s.dirtyPending ?? 0, s.pass);
    const rate = this.#rate(s.time);
    const dirtyRate = s.dirtyPending === undefined ? Math.max(0, s.dirtyRate) : this.#dirtyRate(s.time, s.dirtyRate);
    const left = remaining + Math.max(0, s.dirtyPending ?? 0);
    const drain = rate - dirtyRate;
    const draining = Math.max(0, left - Math.max(0, s.switchoverBytes ?? 0));
    const etaMs = left === 0 ? 0 : rate > 0 && drain > 0 ? Math.round((draining / drain) * 1000) : null;
    const expectedLeft = left === 0 ? 0 : drain > 0 ? left * (rate / drain) : rate > 0 ? Infinity : left;
    const raw = (100 * this.#processed) / (this.#processed + expectedLeft);
    if (Number.isFinite(raw)) this.#percent = Math.min(99.9, Math.max(this.#percent, raw));
    this.#estimate = {
      percent: Math.floor(this.#percent * 10) / 10, etaMs, processed: this.#processed, rate: Math.round(rate), dirtyRate: Math.round(dirtyRate),
    };
    return this.#estimate;
  }

  /** The migration completed. */
  complete(): ProgressEstimate {
    this.#percent = 100;
    this.#estimate = { ...this.#estimate, percent: 100, etaMs: 0 };
    return this.#estimate;
  }

  #push(time: number, processed: number, dirtyPending: number, pass: number): void {
    this.#times[this.#head] = time;
    this.#done[this.#head] = processed;
    this.#dirty[this.#head] = dirtyPending;
    this.#passes[this.#head] = pass;
    this.#head = (this.#head + 1) % RING;
    if (this.#count < RING) this.#count++;
  }

  /**
   * Bytes processed per second between the oldest sample inside the window and now (the one before now when
   * samples come further apart than the window, e.g. slow scrapes).
   */
  #rate(now: number): number {
    if (this.#count < 2) return 0;
    let oldest = (this.#head - 2 + RING) % RING;
    for (let k = this.#count - 1; k >= 2; k--) {
      const i = (this.#head - 1 - k + RING) % RING;
      if (now - this.#times[i]! <= this.#windowMs) {
        oldest = i;
        break;
      }
    }
    const span = now - this.#times[oldest]!;
    if (span < this.#minSpanMs) return this.#estimate.rate; // too short to tell: keep the last figure
    return ((this.#processed - this.#done[oldest]!) * 1000) / span;
  }

  /** Growth of dirtyPending per second since the oldest sample of this pass in the window, else `synced`. */
  #dirtyRate(now: number, synced: number): number {
    const newest = (this.#head - 1 + RING) % RING;
    const pass = this.#passes[newest]!;
    let oldest = -1;
    for (let k = Math.min(this.#count, RING) - 1; k >= 1; k--) {
      const i = (this.#head - 1 - k + RING) % RING;
      if (now - this.#times[i]! <= this.#windowMs && this.#passes[i] === pass) {
        oldest = i;
        break;
      }
    }
    const span = oldest < 0 ? 0 : now - this.#times[oldest]!;
    if (span < this.#minSpanMs) return Math.max(0, synced);
    return Math.max(0, ((this.#dirty[newest]! - this.#dirty[oldest]!) * 1000) / span);
  }
}
