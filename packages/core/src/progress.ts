import type { MigrationParameters } from './params.js';
import type { SyncInfo } from './precopy/interfaces.js';

/**
 * Beyond QEMU: a progress figure that never goes backwards, an ETA, and the detection of a precopy that is not
 * converging, with advice derived from the numbers. Fed with each dirty sync's figures (runPrecopy's onSync).
 */
export interface ProgressReport {
  /** 0..100, never lower than a previous report of the same migration; 100 only once completed. */
  percent: number;
  /** Estimated ms until the switchover (remaining ÷ net drain rate), or null when it does not drain. */
  'eta-ms': number | null;
  /** Bytes pending after the last sync. */
  remaining: number;
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
  /** Total RAM bytes (for the percentage). */
  totalBytes: number;
  pageSize?: number;
}

export interface ProgressContext {
  params: Pick<MigrationParameters, 'max-bandwidth' | 'downtime-limit' | 'max-cpu-throttle'>;
  caps: { 'auto-converge'?: boolean; xbzrle?: boolean };
}

const MiB = 1024 * 1024;
const fmtRate = (bps: number) => `${(bps / MiB).toFixed(1)} MiB/s`;

export class ProgressTracker {
  readonly #window: number;
  readonly #minShrink: number;
  readonly #total: number;
  readonly #pageSize: number;
  #percent = 0;
  #min = Infinity;
  #stalled = 0;
  #converging = true;
  #last: ProgressReport | undefined;

  constructor(opts: ProgressOptions) {
    this.#window = opts.windowSyncs ?? 5;
    this.#minShrink = opts.minShrink ?? 0.05;
    this.#total = opts.totalBytes;
    this.#pageSize = opts.pageSize ?? 4096;
    if (!(this.#window >= 1)) throw new RangeError(`progress: windowSyncs must be ≥ 1, got ${opts.windowSyncs}`);
    if (!(this.#total > 0)) throw new RangeError(`progress: totalBytes must be positive, got ${opts.totalBytes}`);
  }

  get last(): ProgressReport | undefined {
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
    // Progress: the share of RAM no longer pending, against the whole; held at its highest so far, and kept
    // below 100 until the migration completes.
    const raw = 100 * (1 - Math.min(info.remaining, this.#total) / this.#total);
    this.#percent = Math.min(99.9, Math.max(this.#percent, raw));
    const drain = bandwidth - dirtyRate;
    const toGo = Math.max(0, info.remaining - info.maxSize);
    const eta = toGo === 0 ? 0 : drain > 0 ? Math.round((toGo / drain) * 1000) : null;
    const report: ProgressReport = {
      percent: Math.round(this.#percent * 10) / 10,
      'eta-ms': eta,
      remaining: info.remaining,
      'remaining-min': Number.isFinite(this.#min) ? this.#min : info.remaining,
      threshold: Math.round(info.maxSize),
      'dirty-rate': Math.round(dirtyRate),
      bandwidth: Math.round(bandwidth),
      'stalled-syncs': this.#stalled,
      converging: this.#converging,
      pass: info.pass,
      throttle: info.throttle,
      advice: this.#converging ? [] : adviceFor(info, dirtyRate, bandwidth, Number.isFinite(this.#min) ? this.#min : info.remaining, ctx),
    };
    this.#last = report;
    return { report, becameNotConverging: wasConverging && !this.#converging };
  }

  /** The migration completed: 100 %, nothing left. */
  complete(): ProgressReport | undefined {
    if (!this.#last) return undefined;
    this.#percent = 100;
    this.#last = { ...this.#last, percent: 100, 'eta-ms': 0, remaining: 0, converging: true, advice: [] };
    return this.#last;
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
