// The hung-peer rule (x-stall-timeout): a migration whose peer takes or gives no bytes for that long, while
// mig waits on it, fails instead of waiting forever. One timer per migration, never one per write: the
// transport path only bumps counters and a flag the timer reads.
import { MigrationFailedError } from './errors.js';

/** What a stall watch reads at each check (numbers and flags kept by the stream's loop; no calls per write). */
export interface StallProbe {
  /** Grows with every sign of life from the peer (bytes accepted or received, writes completed). */
  progress(): number;
  /** Whether the loop is waiting on the peer right now (a write awaiting backpressure, a read awaiting data). */
  waiting(): boolean;
}

/** Arms a one-shot timer; returns what disarms it. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

export interface StallWatchOptions {
  probe: StallProbe;
  /** x-stall-timeout now, ms (read at every check, so migrate-set-parameters applies live); 0 disables. */
  timeoutMs(): number;
  /** Called once when the peer has been silent for the timeout: `idleMs` is how long it was measured. */
  onStall(idleMs: number, timeoutMs: number): void;
  /** Clock in ms (default Date.now). */
  now?(): number;
  /** Timer on the same clock (default setTimeout, unref'd so it never keeps a process alive). */
  setTimer?: SetTimer;
}

/** The longest time between two checks, ms: a timeout raised from 0 is seen within it. */
export const STALL_CHECK_MAX_MS = 1000;
/** The shortest time between two checks, ms. */
export const STALL_CHECK_MIN_MS = 25;

/** The check period for a timeout: a quarter of it within [STALL_CHECK_MIN_MS, STALL_CHECK_MAX_MS]. */
export function stallCheckPeriod(timeoutMs: number): number {
  if (!(timeoutMs > 0)) return STALL_CHECK_MAX_MS;
  return Math.min(STALL_CHECK_MAX_MS, Math.max(STALL_CHECK_MIN_MS, Math.floor(timeoutMs / 4)));
}

/** setTimeout's largest delay (2^31 - 1 ms); a longer one would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** setTimeout, unref'd; a delay past MAX_TIMER_MS (a uint64 x-stall-timeout may be) waits MAX_TIMER_MS. */
export const realTimer: SetTimer = (fn, ms) => {
  const t = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
  t.unref?.();
  return () => clearTimeout(t);
};

/**
 * Watches one migration for a silent peer. Silence counts only across checks that both found the loop
 * waiting on the peer with no progress in between, so time spent elsewhere (rate-limit sleeps, disk reads,
 * the guest stopping) never counts; a stall is reported after between timeout and timeout + one check
 * period of silence, never before.
 */
export class StallWatch {
  readonly #o: StallWatchOptions;
  readonly #now: () => number;
  readonly #setTimer: SetTimer;
  #disarm: (() => void) | undefined;
  #lastCheck = 0;
  #lastProgress = 0;
  #wasWaiting = false;
  #idleMs = 0;
  #stopped = false;
  #fired = false;

  constructor(options: StallWatchOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#setTimer = options.setTimer ?? realTimer;
  }

  /** The watch reported a stall. */
  get fired(): boolean {
    return this.#fired;
  }

  /** Starts checking (idempotent once started). */
  start(): void {
    if (this.#disarm !== undefined || this.#stopped) return;
    this.#lastCheck = this.#now();
    this.#lastProgress = this.#o.probe.progress();
    this.#arm();
  }

  /** Stops checking for good (the migration ended). */
  stop(): void {
    this.#stopped = true;
    this.#disarm?.();
    this.#disarm = undefined;
  }

  #arm(): void {
    this.#disarm = this.#setTimer(this.#check, stallCheckPeriod(this.#o.timeoutMs()));
  }

  readonly #check = (): void => {
    this.#disarm = undefined;
    if (this.#stopped) return;
    const t = this.#now();
    const progress = this.#o.probe.progress();
    const waiting = this.#o.probe.waiting();
    const timeout = this.#o.timeoutMs();
    // disabled: nothing is measured, so a timeout set later counts from then
    const silent = timeout > 0 && waiting && this.#wasWaiting && progress === this.#lastProgress;
    this.#idleMs = silent ? this.#idleMs + (t - this.#lastCheck) : 0;
    this.#lastCheck = t;
    this.#lastProgress = progress;
    this.#wasWaiting = waiting;
    if (timeout > 0 && this.#idleMs >= timeout) {
      this.#fired = true;
      this.#stopped = true;
      this.#o.onStall(this.#idleMs, timeout);
      return;
    }
    this.#arm();
  };
}

/** Who went silent, as a stall message names them. */
export type StallPeer = 'target' | 'source';

/** "migration stalled: the target accepted no data for 2.0 s (x-stall-timeout 2000 ms)". */
export function stallMessage(peer: StallPeer, idleMs: number, timeoutMs: number): string {
  const what = peer === 'target' ? 'the target accepted no data' : 'the source sent no data';
  return `migration stalled: ${what} for ${(idleMs / 1000).toFixed(1)} s (x-stall-timeout ${timeoutMs} ms)`;
}

/** A connect to the target that did not complete within the timeout (a blackholed link, a dead host). */
export function connectStallError(timeoutMs: number): MigrationFailedError {
  const s = (timeoutMs / 1000).toFixed(1);
  return new MigrationFailedError('stall', `migration stalled: the target did not take the connection within ${s} s (x-stall-timeout ${timeoutMs} ms)`);
}

/** The failure a stall ends a migration with (phase 'stall'); query-migrate's error-desc is its message. */
export function stallError(peer: StallPeer, idleMs: number, timeoutMs: number): MigrationFailedError {
  return new MigrationFailedError('stall', stallMessage(peer, idleMs, timeoutMs));
}
