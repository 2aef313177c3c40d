/** QEMU's BUFFER_DELAY: the rate-limit slot and the period of the bandwidth measurement, ms. */
export const RATE_LIMIT_SLOT_MS = 100;
/** QEMU's XFER_LIMIT_RATIO: a slot may carry max-bandwidth / 10 bytes. */
export const XFER_LIMIT_RATIO = 1000 / RATE_LIMIT_SLOT_MS;

/** The bytes one slot may carry at `maxBandwidth` bytes/s; max-bandwidth 0 means unlimited (Infinity). */
export function slotLimitBytes(maxBandwidth: number): number {
  return maxBandwidth > 0 ? maxBandwidth / XFER_LIMIT_RATIO : Infinity;
}

/**
 * The outgoing stream's rate limit (QEMU's QEMUFile rate limit): time goes in slots of RATE_LIMIT_SLOT_MS,
 * each carrying at most max-bandwidth / XFER_LIMIT_RATIO bytes. A slot's limit is fixed when it begins, so a
 * max-bandwidth changed during a migration applies from the next slot. Times are ms on the caller's clock.
 */
export class RateLimiter {
  #slotStart: number;
  #limit: number;
  #used = 0;

  constructor(start: number, maxBandwidth: number) {
    this.#slotStart = start;
    this.#limit = slotLimitBytes(maxBandwidth);
  }

  /** When the current slot began. */
  get slotStart(): number {
    return this.#slotStart;
  }

  /** The bytes the current slot may carry (Infinity when unlimited). */
  get limitBytes(): number {
    return this.#limit;
  }

  /** The bytes counted in the current slot. */
  get usedBytes(): number {
    return this.#used;
  }

  /** The current slot has run its RATE_LIMIT_SLOT_MS at `t`. */
  slotOver(t: number): boolean {
    return t >= this.#slotStart + RATE_LIMIT_SLOT_MS;
  }

  /** Begins a new slot at `t` with the limit of `maxBandwidth` as it is now (qemu_file_reset_rate_limit). */
  nextSlot(t: number, maxBandwidth: number): void {
    this.#slotStart = t;
    this.#limit = slotLimitBytes(maxBandwidth);
    this.#used = 0;
  }

  /** The current slot's bytes are used up: nothing more may go before the slot ends. */
  get exhausted(): boolean {
    return this.#used >= this.#limit;
  }

  /** How long from `t` until the current slot ends, ms (≤ 0 once it has). */
  msToSlotEnd(t: number): number {
    return this.#slotStart + RATE_LIMIT_SLOT_MS - t;
  }

  /**
   * The budget of the next batch: what is left of the slot, at most `maxBatch`, and at least 1 byte (a saver
   * sends whole pages, so a slot may overshoot by less than one batch's last record).
   */
  budget(maxBatch: number): number {
    return Math.max(1, Math.min(this.#limit - this.#used, maxBatch));
  }

  /** Counts `bytes` that went out in the current slot. */
  count(bytes: number): void {
    this.#used += bytes;
  }
}
