import type { MigrationParameters } from './params.js';
import type { SyncInfo } from './precopy/interfaces.js';
import { ProgressEstimator, type ProgressSample } from './progress-estimate.js';

export { ProgressEstimator, type ProgressEstimate, type ProgressEstimatorOptions, type ProgressSample } from './progress-estimate.js';

/**
 * Beyond QEMU: a progress figure that moves as data flows and never goes backwards, an ETA, and the detection
 * of a precopy that is not converging, with advice derived from the numbers. Fed with samples of what is
 * pending as often as anyone looks (`sample`, see ProgressEstimator) and with each dirty sync's figures
 * (`update`, runPrecopy's onSync), which also count as samples.
 */
export interface ProgressReport {
  /** 0..100, never lower than a previous report of the same migration; 100 only once completed. */
  percent: number;
  /** Estimated ms until the migration is through (remaining ÷ net drain rate), or null when it does not drain. */
  'eta-ms': number | null;
  /** Bytes pending (RAM and disk) at the last sample. */
  remaining: number;
  /** RAM and disk bytes of the migration. */
  total: number;
  /** Bytes of guest data processed so far, each pass counted (what left the pending set). */
  processed: number;
  /** Bytes of guest data processed per second, over the last seconds. */
  'processing-rate': number;
  /** The lowest `remaining` seen after a sync (the bulk pass excluded). */
  'remaining-min': number;
  /** The switchover threshold (bandwidth × downtime-limit), bytes. */
  'threshold': number;
  /** Bytes the guest dirties per second (dirty-pages-rate × page size). */
  'dirty-rate': number;
  /** Bytes per second the link moved at the last measurement. */
  bandwidth: number;
  /** Syncs since `remaining-min` last shrank. */
  'stalled-syncs': number;
  /** False once `remaining` has not shrunk over the window of syncs. */
  converging: boolean;
  pass: number;
  throttle: number;
  /** What would make it converge, most effective first (empty while converging). */
  advice: string[];
}

export interface ProgressOptions {
  /** Syncs without a new low of `remaining` (by at least `minShrink`) before it is called not converging. Default 5. */
  windowSyncs?: number;
  /** Fraction a new low must undercut the old one by to count as shrinking. Default 0.05. */
  minShrink?: number;
  /** RAM and disk bytes of the migration (for the percentage). */
  totalBytes: number;
  pageSize?: number;
  /** Span the processing rate is measured over, ms (ProgressEstimator's windowMs). Default 3000. */
  rateWindowMs?: number;
}

export interface ProgressContext {
  params: Pick<MigrationParameters, 'max-bandwidth' | 'downtime-limit' | 'max-cpu-throttle'>;
  caps: { 'auto-converge'?: boolean; xbzrle?: boolean };
}

const MiB = 1024 * 1024;
const fmtRate = (bps: number) => `${(bps / MiB).toFixed(1)} MiB/s`;

/** The figures of the last dirty sync a report carries besides the estimate. */
type SyncPart = Pick<ProgressReport, 'remaining-min' | 'threshold' | 'dirty-rate' | 'bandwidth' | 'stalled-syncs' | 'converging' | 'pass' | 'throttle' | 'advice'>;

const NO_SYNC: SyncPart = {
  'remaining-min': 0, threshold: 0, 'dirty-rate': 0, bandwidth: 0, 'stalled-syncs': 0, converging: true, pass: 0, throttle: 0, advice: [],
};

export class ProgressTracker {
  readonly #window: number;
  readonly #minShrink: number;
  readonly #total: number;
  readonly #pageSize: number;
  readonly #estimator: ProgressEstimator;
  #min = Infinity;
  #stalled = 0;
  #converging = true;
  #sync: SyncPart = NO_SYNC;
  #remaining = 0;
  #last: ProgressReport | undefined;

  constructor(opts: ProgressOptions) {
    this.#window = opts.windowSyncs ?? 5;
    this.#minShrink = opts.minShrink ?? 0.05;
    this.#total = opts.totalBytes;
    this.#pageSize = opts.pageSize ?? 4096;
    if (!(this.#window >= 1)) throw new RangeError(`progress: windowSyncs must be ≥ 1, got ${opts.windowSyncs}`);
    if (!(this.#total > 0)) throw new RangeError(`progress: totalBytes must be positive, got ${opts.totalBytes}`);
    this.#estimator = new ProgressEstimator({
      totalBytes: opts.totalBytes,
      ...(opts.rateWindowMs !== undefined ? { windowMs: opts.rateWindowMs } : {}),
    });
  }

  /** The last report (undefined before any sample or sync). */
  get last(): ProgressReport | undefined {
    return this.#last;
  }

  /** A look at the running migration between syncs: the percentage and ETA move with it. */
  sample(s: ProgressSample): ProgressReport {
    this.#estimator.sample(s);
    this.#remaining = Math.max(0, s.remaining);
    if (this.#sync === NO_SYNC || s.pass > this.#sync.pass) this.#sync = { ...this.#sync, pass: s.pass, 'dirty-rate': Math.round(s.dirtyRate) };
    return this.#report();
  }

  #report(): ProgressReport {
    const e = this.#estimator.last;
    this.#last = {
      percent: e.percent, 'eta-ms': e.etaMs, remaining: this.#remaining, total: this.#total, processed: e.processed,
      'processing-rate': e.rate, ...this.#sync,
    };
    return this.#last;
  }

  /**
   * Takes one sync; returns the report and whether the migration just turned non-converging (so the caller
   * emits its event once per episode).
   */
  update(info: SyncInfo, ctx: ProgressContext): { report: ProgressReport; becameNotConverging: boolean } {
    const dirtyRate = info.dirtyPagesRate * this.#pageSize;
    const bandwidth = info.bandwidth;
    if (info.pass > 1) {
      if (info.remaining < this.#min * (1 - this.#minShrink) || info.remaining <= info.maxSize) {
        this.#min = Math.min(this.#min, info.remaining);
        this.#stalled = 0;
      } else {
        this.#min = Math.min(this.#min, info.remaining);
        this.#stalled++;
      }
    }
    const wasConverging = this.#converging;
    this.#converging = this.#stalled < this.#window;
    const remainingMin = Number.isFinite(this.#min) ? this.#min : info.remaining;
    this.#sync = {
      'remaining-min': remainingMin,
      threshold: Math.round(info.maxSize),
      'dirty-rate': Math.round(dirtyRate),
      bandwidth: Math.round(bandwidth),
      'stalled-syncs': this.#stalled,
      converging: this.#converging,
      pass: info.pass,
      throttle: info.throttle,
      advice: this.#converging ? [] : adviceFor(info, dirtyRate, bandwidth, remainingMin, ctx),
    };
    // the sync is two samples: what was pending just before it (the pass drained), then what it added
    const before = Math.max(0, info.remaining - info.dirtiedPages * this.#pageSize);
    this.#estimator.sample({ time: info.time, remaining: before, pass: info.pass - 1, dirtyRate });
    this.#estimator.sample({ time: info.time, remaining: info.remaining, pass: info.pass, dirtyRate });
    this.#remaining = info.remaining;
    return { report: this.#report(), becameNotConverging: wasConverging && !this.#converging };
  }

  /** The migration completed: 100 %, nothing left. */
  complete(): ProgressReport | undefined {
    if (!this.#last) return undefined;
    this.#estimator.complete();
    this.#remaining = 0;
    this.#sync = { ...this.#sync, converging: true, advice: [] };
    return this.#report();
  }
}

/** Advice the numbers support, most effective first. */
export function adviceFor(info: SyncInfo, dirtyRate: number, bandwidth: number, remainingMin: number, ctx: ProgressContext): string[] {
  const out: string[] = [];
  const maxBw = ctx.params['max-bandwidth'];
  const downtime = ctx.params['downtime-limit'];
  const faster = dirtyRate >= bandwidth && dirtyRate > 0;
  if (!ctx.caps['auto-converge']) {
    out.push(
      faster
        ? `enable auto-converge: the guest dirties ${fmtRate(dirtyRate)}, the link moves ${fmtRate(bandwidth)}`
        : 'enable auto-converge to slow the guest until the rest fits the downtime limit',
    );
  } else if (info.throttle >= ctx.params['max-cpu-throttle']) {
    out.push(`the throttle is at max-cpu-throttle (${info.throttle}%): raise max-cpu-throttle or the bandwidth`);
  }
  if (!ctx.caps.xbzrle) out.push('enable xbzrle: pages sent again go as small deltas (sparse writes shrink most)');
  if (maxBw > 0 && bandwidth >= maxBw * 0.8) {
    const want = Math.max(dirtyRate * 1.5, maxBw * 2);
    out.push(`raise max-bandwidth from ${fmtRate(maxBw)} to at least ${fmtRate(want)} (the link is held at the limit)`);
  }
  if (bandwidth > 0) {
    const neededMs = Math.ceil((remainingMin / bandwidth) * 1000);
    if (neededMs > downtime) out.push(`raise downtime-limit from ${downtime} ms to about ${neededMs} ms (the smallest remaining set, ${fmtRate(remainingMin).replace('/s', '')}, at ${fmtRate(bandwidth)})`);
  }
  return out;
}
