import type { MigrationParameters } from '../params.js';

/** The parameters auto-converge reads (each time, so migrate-set-parameters applies at the next period). */
export type ThrottleParameters = Pick<
  MigrationParameters,
  'throttle-trigger-threshold' | 'cpu-throttle-initial' | 'cpu-throttle-increment' | 'cpu-throttle-tailslow' | 'max-cpu-throttle'
>;

/**
 * The bytes the guest may dirty in a period before it counts as dirtying too fast: throttle-trigger-threshold
 * percent of the bytes sent in it, in whole bytes as QEMU's integer arithmetic has it.
 */
export function dirtyBytesThreshold(bytesXferPeriod: number, triggerThresholdPercent: number): number {
  return Math.floor((bytesXferPeriod * triggerThresholdPercent) / 100);
}

/**
 * QEMU 7.2's mig_throttle_guest_down: the throttle after one more step from `current` percent (0 = not
 * throttling yet). The first step is cpu-throttle-initial; later ones add cpu-throttle-increment, or with
 * cpu-throttle-tailslow only what should bring the dirty rate down to the threshold (the guest's CPU share now
 * times threshold/dirtied, in whole percent), never more than the increment; never above max-cpu-throttle.
 * Needs bytesDirtyPeriod > bytesDirtyThreshold (the caller's trigger).
 */
export function throttleGuestDown(
  current: number,
  bytesDirtyPeriod: number,
  bytesDirtyThreshold: number,
  p: ThrottleParameters,
): number {
  if (current === 0) return Math.min(p['cpu-throttle-initial'], p['max-cpu-throttle']);
  let increment = p['cpu-throttle-increment'];
  if (p['cpu-throttle-tailslow']) {
    const cpuNow = 100 - current;
    const cpuIdeal = Math.floor(cpuNow * (bytesDirtyThreshold / bytesDirtyPeriod));
    increment = Math.min(cpuNow - cpuIdeal, increment);
  }
  return Math.min(current + increment, p['max-cpu-throttle']);
}

/**
 * The auto-converge capability (QEMU 7.2's migration_trigger_throttle): at the end of each dirty-rate period,
 * if the guest dirtied more than throttle-trigger-threshold % of the bytes sent in it for the second time
 * (dirty_rate_high_cnt ≥ 2; the count then starts over), the guest is throttled one step further
 * (throttleGuestDown). `apply` gets every new percentage; stop() returns the guest to 0 at the end.
 */
export class AutoConverge {
  #percent = 0;
  #highCount = 0;

  constructor(
    /** The capability: when off, periodEnded() does nothing. */
    readonly enabled: boolean,
    /** Applies a throttle of `percent` to the guest; what it throws comes out of periodEnded(). */
    private readonly apply: (percent: number) => void,
  ) {}

  /** The throttle applied now, percent (0 = none). */
  get percent(): number {
    return this.#percent;
  }

  /** A dirty-rate period ended: the guest dirtied `bytesDirtyPeriod` while `bytesXferPeriod` went out. */
  periodEnded(bytesDirtyPeriod: number, bytesXferPeriod: number, params: ThrottleParameters): void {
    if (!this.enabled) return;
    const threshold = dirtyBytesThreshold(bytesXferPeriod, params['throttle-trigger-threshold']);
    if (bytesDirtyPeriod <= threshold || ++this.#highCount < 2) return;
    this.#highCount = 0;
    this.#set(throttleGuestDown(this.#percent, bytesDirtyPeriod, threshold, params));
  }

  /**
   * The migration ended (QEMU's cpu_throttle_stop): the guest runs unthrottled again. What `apply` throws here
   * is dropped: the migration's outcome stands, and the daemon resets its workload at the end on its own too.
   */
  stop(): void {
    try {
      this.#set(0);
    } catch {
      // see above
    }
  }

  #set(percent: number): void {
    if (percent === this.#percent) return;
    this.#percent = percent;
    this.apply(percent);
  }
}
