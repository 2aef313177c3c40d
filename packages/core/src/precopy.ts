import {
  MigrationActiveError,
  MigrationCancelledError,
  MigrationFailedError,
  PrecopyOptionsError,
  errorMessage,
} from './errors.js';
import type { MigrationParameters } from './params.js';
import { TARGET_PAGE_SIZE } from './params.js';
import { createStats, type MigrationStats } from './stats.js';
import { MigrationStateMachine, isMigrationRunning, isTransitionAllowed, type MigrationStatus } from './status.js';

export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>; // resolves at once below the high-water mark, else on drain; rejects if the peer is gone
  end(): Promise<void>;
  destroy(err?: Error): void;
  /** Bytes that have left the process (written to the OS), when the sink can tell: lets the saver reuse chunks. */
  readonly bytesFlushed?: number;
}
export interface MigrationSaver {
  setup(): void;                       // header, CONFIGURATION, SECTION_START of each iterative section
  syncDirty(): void;                   // harvest dirty bits into the set still to send (one "pass")
  pendingBytes(): number;              // bytes still to send at this moment
  iterate(maxBytes: number): number;   // emit pages (SECTION_PART … EOS) up to ~maxBytes; returns bytes emitted
  complete(runstate: string): void;    // guest stopped: the rest, SECTION_END, timer, globalstate, EOF, vmdesc
  drainOutput(): Uint8Array[];         // chunks produced since the last call; not written again before recycleOutput says so
  /** Optional: the stream's first `flushedBytes` bytes have left the process, so their chunks may be reused. */
  recycleOutput?(flushedBytes: number): void;
}

/** QEMU's BUFFER_DELAY: the rate-limit slot and the period of the bandwidth measurement, ms. */
export const RATE_LIMIT_SLOT_MS = 100;
/** QEMU's XFER_LIMIT_RATIO: a slot may carry max-bandwidth / 10 bytes. */
export const XFER_LIMIT_RATIO = 1000 / RATE_LIMIT_SLOT_MS;
/** Default cap of one saver.iterate() call, so unlimited bandwidth still goes in bounded batches. */
export const DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024;

export interface PrecopyOptions {
  saver: MigrationSaver;
  sink: ByteSink;
  /** The parameters, or a getter read at every slot so migrate-set-parameters applies live. */
  params: Readonly<MigrationParameters> | (() => Readonly<MigrationParameters>);
  /**
   * Stops the guest for the switchover; returns the runstate it had (e.g. 'running', 'paused',
   * 'prelaunch'), which goes into the stream's globalstate section.
   */
  stopGuest(): Promise<string> | string;
  /** Restarts the guest after a failure or cancel that came after stopGuest(); gets what stopGuest returned. */
  resumeGuest(previousRunstate: string): Promise<void> | void;
  /**
   * The migration's state. If it is not 'setup' already it is moved there (from none or an ended state);
   * a migration that is still running is refused with MigrationActiveError. Default: a new machine.
   */
  state?: MigrationStateMachine;
  /** Counters to update (reset at start); default a new plain object. May be a shared-buffer view. */
  stats?: MigrationStats;
  /** Cancels the migration (migrate_cancel): state → cancelling at once, the sink is destroyed. */
  signal?: AbortSignal;
  /** Whether the guest runs now (bytes count as precopy-bytes then, else downtime-bytes). Default: true. */
  isGuestRunning?(): boolean;
  /** A dirty-bitmap sync began pass `pass` (1 at setup): the daemon emits MIGRATION_PASS. */
  onPass?(pass: number): void;
  /** Called after every batch and at the end, e.g. to copy the saver's page counters into `stats`. */
  onProgress?(stats: MigrationStats): void;
  /** RAM size for ram.total; default the saver's pendingBytes() right after the first sync. */
  totalBytes?: number;
  /** Clock in ms (default Date.now); stats times are on this clock. */
  now?(): number;
  /** Waits `ms` on the same clock (default setTimeout). Called with 0 at each slot end to yield. */
  sleep?(ms: number): Promise<void>;
  /** Largest iterate() budget (default 8 MiB). */
  maxBatchBytes?: number;
  /**
   * The auto-converge capability. When on, QEMU 7.2's migration_trigger_throttle runs at each dirty sync that
   * ends a period of more than 1 s: if the bytes dirtied in the period exceed throttle-trigger-threshold % of
   * the bytes sent in it, for the second time (dirty_rate_high_cnt ≥ 2), the throttle goes to
   * cpu-throttle-initial, then up by cpu-throttle-increment (or less with cpu-throttle-tailslow) to at most
   * max-cpu-throttle. Shown as stats.cpuThrottlePercentage.
   */
  autoConverge?: boolean;
  /** Apply a guest throttle of `percent` (0 = none): called when it changes and with 0 when the migration ends. */
  setThrottle?(percent: number): void;
  /** After every dirty sync before the switchover (pass ≥ 1): the figures of that sync. */
  onSync?(info: SyncInfo): void;
}

/** One dirty sync's figures, for progress and convergence reports. */
export interface SyncInfo {
  /** The pass number (1 = the bulk pass at setup). */
  pass: number;
  /** Clock time of the sync (ms, the `now` clock). */
  time: number;
  /** Bytes pending right after the sync. */
  remaining: number;
  /** Pages this sync added to the pending set (0 for the first). */
  dirtiedPages: number;
  /** Stream bytes handed to the sink so far. */
  transferred: number;
  /** The bandwidth measured at the last slot end, bytes/s (0 before the first). */
  bandwidth: number;
  /** The switchover threshold at the last slot end: bandwidth × downtime-limit, bytes. */
  maxSize: number;
  /** Dirty pages per second (stats.dirtyPagesRate). */
  dirtyPagesRate: number;
  /** The throttle applied now, percent. */
  throttle: number;
}

export interface PrecopyResult {
  status: Extract<MigrationStatus, 'completed' | 'failed' | 'cancelled'>;
  /** For 'failed': the error (its message is `errorDesc`; `cause` is what went wrong underneath). */
  error?: MigrationFailedError;
  /** For 'failed': the text for query-migrate's error-desc. */
  errorDesc?: string;
  /** Dirty-bitmap passes (= the last MIGRATION_PASS number). */
  passes: number;
  /** Stream bytes handed to the sink. */
  bytesWritten: number;
  /** What resumeGuest() threw, if it was called and failed (the outcome above stands). */
  resumeError?: unknown;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class Cancelled extends Error {}

/**
 * The seed's precopy migration loop (QEMU's migration_thread), over a MigrationSaver and a ByteSink.
 *
 * Setup: saver.setup(), its output written, the first dirty sync (pass 1), state setup → active.
 * Then per iteration, in 100 ms slots of max-bandwidth/10 bytes (0 = unlimited; every batch ≤
 * maxBatchBytes, each awaited through the sink's backpressure): when the pending bytes are exhausted or
 * below max_size (measured bandwidth × downtime-limit, recomputed at each slot end) a new pass is synced;
 * if then pending ≤ max_size, switchover: stopGuest(), saver.complete(runstate) (which takes the final
 * dirty bits, counted as one more pass), the rest written, sink.end(), downtime recorded, state completed.
 *
 * Cancel: `signal` aborting, or anyone moving the state to 'cancelling', is seen between batches; the sink is
 * destroyed at once so a blocked write returns. Once sink.end() is under way the signal is ignored.
 *
 * Never rejects for a migration failure: returns {status:'failed', errorDesc} (state failed, sink destroyed,
 * guest resumed if it had been stopped) or {status:'cancelled'}. Rejects only for bad options.
 */
export async function runPrecopy(opts: PrecopyOptions): Promise<PrecopyResult> {
  const { saver, sink } = opts;
  if (!saver || typeof saver.iterate !== 'function') throw new PrecopyOptionsError('runPrecopy: saver is missing');
  if (!sink || typeof sink.write !== 'function') throw new PrecopyOptionsError('runPrecopy: sink is missing');
  if (typeof opts.stopGuest !== 'function') throw new PrecopyOptionsError('runPrecopy: stopGuest is missing');
  if (typeof opts.resumeGuest !== 'function') throw new PrecopyOptionsError('runPrecopy: resumeGuest is missing');
  const maxBatch = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  if (!(maxBatch > 0)) throw new PrecopyOptionsError(`runPrecopy: maxBatchBytes must be positive, got ${maxBatch}`);
  const getParams = typeof opts.params === 'function' ? opts.params : () => opts.params as MigrationParameters;
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const state = opts.state ?? new MigrationStateMachine();
  const stats = opts.stats ?? createStats();
  const signal = opts.signal;
  const isGuestRunning = opts.isGuestRunning ?? (() => true);

  const st = state.status;
  if (st !== 'setup') {
    if (isMigrationRunning(st)) throw new MigrationActiveError();
    state.transition(st, 'setup');
  }

  for (const k of Object.keys(stats) as (keyof MigrationStats)[]) stats[k] = 0;
  stats.pageSize = TARGET_PAGE_SIZE;
  const startTime = now();
  stats.startTime = startTime;
  stats.expectedDowntime = getParams()['downtime-limit'];

  let written = 0;
  let passes = 0;
  let guestStopped = false;
  let runstate = '';
  let resumeError: unknown;

  const moveTo = (to: MigrationStatus): boolean => {
    const from = state.status;
    return isTransitionAllowed(from, to) && state.transition(from, to);
  };
  // A cancel is the signal's abort or anyone moving the state to 'cancelling' (QEMU's migrate_fd_cancel):
  // either way the state shows 'cancelling' at once and the sink is shut so a blocked write returns.
  let sinkShut = false;
  const shutSink = () => {
    if (sinkShut) return;
    sinkShut = true;
    sink.destroy(new MigrationCancelledError());
  };
  const onAbort = () => {
    const s = state.status;
    if (s === 'setup' || s === 'active') state.transition(s, 'cancelling'); // the listener shuts the sink
    else shutSink();
  };
  const offState = state.onChange(({ to }) => {
    if (to === 'cancelling') shutSink();
  });
  let listening = false;
  if (signal) {
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      listening = true;
    }
  }
  const detach = () => {
    if (listening) signal!.removeEventListener('abort', onAbort);
    listening = false;
    offState();
  };
  const cancelRequested = () => signal?.aborted === true || state.status === 'cancelling';
  const checkCancel = () => {
    if (cancelRequested()) throw new Cancelled();
  };

  // What went wrong, once; the phase names the step.
  let failure: MigrationFailedError | undefined;
  const fail = (phase: string, message: string, cause: unknown): never => {
    failure = new MigrationFailedError(phase, message, { cause });
    throw failure;
  };

  const writeOut = async (): Promise<number> => {
    if (saver.recycleOutput !== undefined && sink.bytesFlushed !== undefined) saver.recycleOutput(sink.bytesFlushed);
    const chunks = saver.drainOutput();
    let n = 0;
    for (const chunk of chunks) {
      checkCancel();
      try {
        await sink.write(chunk);
      } catch (err) {
        checkCancel();
        fail('write', `migration stream write failed: ${errorMessage(err)}`, err);
      }
      n += chunk.length;
      if (guestStopped || !isGuestRunning()) stats.downtimeBytes += chunk.length;
      else stats.precopyBytes += chunk.length;
    }
    written += n;
    stats.transferred = written;
    return n;
  };
  const call = <T>(phase: string, what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      return fail(phase, `migration ${what} failed: ${errorMessage(err)}`, err);
    }
  };

  // auto-converge (QEMU 7.2's migration_trigger_throttle / mig_throttle_guest_down).
  let throttle = 0;
  let dirtyRateHighCount = 0;
  let periodXferStart = 0;
  const applyThrottle = (percent: number) => {
    if (percent === throttle) return;
    throttle = percent;
    stats.cpuThrottlePercentage = percent;
    try {
      opts.setThrottle?.(percent);
    } catch (err) {
      fail('iterate', `migration could not throttle the guest: ${errorMessage(err)}`, err);
    }
  };
  const triggerThrottle = (dirtyPagesPeriod: number) => {
    if (opts.autoConverge !== true) return;
    const p = getParams();
    const bytesXferPeriod = written - periodXferStart;
    const bytesDirtyPeriod = dirtyPagesPeriod * stats.pageSize;
    const bytesDirtyThreshold = (bytesXferPeriod * p['throttle-trigger-threshold']) / 100;
    if (bytesDirtyPeriod > bytesDirtyThreshold && ++dirtyRateHighCount >= 2) {
      dirtyRateHighCount = 0;
      if (throttle === 0) {
        applyThrottle(Math.min(p['cpu-throttle-initial'], p['max-cpu-throttle']));
      } else {
        let inc = p['cpu-throttle-increment'];
        if (p['cpu-throttle-tailslow']) {
          const cpuNow = 100 - throttle;
          const cpuIdeal = cpuNow * (bytesDirtyThreshold / bytesDirtyPeriod);
          inc = Math.min(Math.trunc(cpuNow - cpuIdeal), inc);
        }
        applyThrottle(Math.min(throttle + inc, p['max-cpu-throttle']));
      }
    }
  };

  // Dirty-page rate over periods of at least 1 s, as QEMU's migration_bitmap_sync.
  let rateStart = startTime;
  let rateDirtyPages = 0;
  let lastBandwidth = 0; // bytes per ms
  let maxSize = 0;
  const sync = (): number => {
    const before = saver.pendingBytes();
    call('iterate', 'dirty sync', () => saver.syncDirty());
    const after = saver.pendingBytes();
    passes++;
    stats.dirtySyncCount = passes;
    const added = passes > 1 ? Math.max(0, after - before) / stats.pageSize : 0;
    rateDirtyPages += added;
    const t = now();
    if (t - rateStart >= 1000) {
      if (passes > 1) triggerThrottle(rateDirtyPages);
      stats.dirtyPagesRate = (rateDirtyPages * 1000) / (t - rateStart);
      rateStart = t;
      rateDirtyPages = 0;
      periodXferStart = written;
    }
    opts.onPass?.(passes);
    opts.onSync?.({
      pass: passes, time: t, remaining: after, dirtiedPages: added, transferred: written,
      bandwidth: lastBandwidth * 1000, maxSize, dirtyPagesRate: stats.dirtyPagesRate, throttle,
    });
    return after;
  };

  try {
    checkCancel();
    // --- setup
    call('setup', 'setup', () => saver.setup());
    await writeOut();
    checkCancel();
    const pending0 = sync();
    stats.total = opts.totalBytes ?? pending0;
    stats.remaining = pending0;
    checkCancel();
    stats.setupTime = now() - startTime;
    if (!state.transition('setup', 'active')) throw new Cancelled();

    // --- iterate
    let iterStart = now();
    let iterBytes = written;
    let iterPages = 0;
    let slotStart = iterStart;
    let slotBytes = 0;
    while (true) {
      checkCancel();
      const params = getParams();
      const bw = params['max-bandwidth'];
      const limit = bw > 0 ? bw / XFER_LIMIT_RATIO : Infinity;
      const t = now();
      if (t >= slotStart + RATE_LIMIT_SLOT_MS) {
        // migration_update_counters: measure the bandwidth since the last slot end
        const spent = t - iterStart;
        const sent = written - iterBytes;
        const bandwidth = sent / spent; // bytes per ms
        maxSize = bandwidth * params['downtime-limit'];
        lastBandwidth = bandwidth;
        stats.mbps = (sent * 8) / (spent / 1000) / 1e6;
        stats.pagesPerSecond = iterPages / (spent / 1000);
        if (stats.dirtyPagesRate > 0 && sent > 10000 && bandwidth > 0) {
          stats.expectedDowntime = stats.remaining / bandwidth;
        }
        iterStart = t;
        iterBytes = written;
        iterPages = 0;
        slotStart = t;
        slotBytes = 0;
        await sleep(0); // let the event loop run (QMP, cancel) even when the sink never blocks
        continue;
      }
      if (slotBytes >= limit) {
        await sleep(slotStart + RATE_LIMIT_SLOT_MS - t);
        continue;
      }
      let pending = saver.pendingBytes();
      if (pending === 0 || pending < maxSize) pending = sync();
      stats.remaining = pending;
      if (pending <= maxSize) break;
      const budget = Math.max(1, Math.min(limit - slotBytes, maxBatch));
      call('iterate', 'iterate', () => saver.iterate(budget));
      slotBytes += await writeOut();
      const after = saver.pendingBytes();
      iterPages += Math.max(0, pending - after) / stats.pageSize;
      stats.remaining = after;
      opts.onProgress?.(stats);
    }

    // --- switchover
    checkCancel();
    const downtimeStart = now();
    stats.downtimeStart = downtimeStart;
    try {
      runstate = await opts.stopGuest();
    } catch (err) {
      fail('stop-guest', `migration failed to stop the guest: ${errorMessage(err)}`, err);
    }
    guestStopped = true;
    checkCancel();
    // The last bitmap sync, then what it found in batches (memory stays bounded however much is left), then
    // complete() writes the trailer (its own sync finds nothing more: the guest is stopped).
    let left = sync();
    stats.remaining = left;
    while (left > 0) {
      checkCancel();
      call('complete', 'completion', () => saver.iterate(maxBatch));
      await writeOut();
      const after = saver.pendingBytes();
      if (after >= left) break; // the saver made no progress: complete() sends whatever it still holds
      left = after;
      stats.remaining = left;
    }
    call('complete', 'completion', () => saver.complete(runstate));
    await writeOut();
    checkCancel();
    detach(); // from here the signal is ignored: the stream is whole
    try {
      await sink.end();
    } catch (err) {
      fail('end', `migration stream write failed: ${errorMessage(err)}`, err);
    }
    const end = now();
    stats.downtime = end - downtimeStart;
    stats.totalTime = end - startTime;
    stats.remaining = 0;
    const transferTime = stats.totalTime - stats.setupTime;
    if (transferTime > 0) stats.mbps = (written * 8) / transferTime / 1000;
    endThrottle();
    opts.onProgress?.(stats);
    // A 'cancelling' set during end() wins as in QEMU (the source resumes): the state cannot complete from it.
    if (state.status === 'cancelling') throw new Cancelled();
    if (!moveTo('completed')) {
      fail('complete', `migration could not complete from state '${state.status}'`, undefined);
    }
    return { status: 'completed', passes, bytesWritten: written };
  } catch (err) {
    detach();
    endThrottle();
    if (err instanceof Cancelled || (cancelRequested() && err !== failure)) {
      shutSink();
      await resume();
      if (state.status === 'setup' || state.status === 'active') moveTo('cancelling');
      moveTo('cancelled');
      opts.onProgress?.(stats);
      return { status: 'cancelled', passes, bytesWritten: written, ...(resumeError !== undefined && { resumeError }) };
    }
    const error =
      err instanceof MigrationFailedError
        ? err
        : new MigrationFailedError('internal', `migration failed: ${errorMessage(err)}`, { cause: err });
    sink.destroy(error);
    await resume();
    moveTo('failed');
    opts.onProgress?.(stats);
    return {
      status: 'failed', error, errorDesc: error.message, passes, bytesWritten: written,
      ...(resumeError !== undefined && { resumeError }),
    };
  }

  /** The migration ends: the guest runs unthrottled again (QEMU's cpu_throttle_stop). */
  function endThrottle(): void {
    if (throttle === 0) return;
    throttle = 0;
    stats.cpuThrottlePercentage = 0;
    try {
      opts.setThrottle?.(0);
    } catch {
      // the outcome stands; the daemon resets its workload on its own at the end too
    }
  }

  async function resume(): Promise<void> {
    if (!guestStopped) return;
    guestStopped = false;
    try {
      await opts.resumeGuest(runstate);
    } catch (err) {
      resumeError = err; // the migration's outcome stands; reported beside it
    }
  }
}
