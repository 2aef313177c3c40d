import { MigrationActiveError } from '../errors.js';
import { DEFAULT_STALL_TIMEOUT_MS, type MigrationParameters } from '../params.js';
import { createStats, type MigrationStats } from '../stats.js';
import { MigrationStateMachine, isMigrationRunning } from '../status.js';
import { AutoConverge } from './auto-converge.js';
import { BandwidthMeter } from './bandwidth.js';
import { CancelWatch } from './cancel.js';
import { qemuConvergence, type ConvergenceRule } from './convergence.js';
import { DirtySyncTracker } from './dirty-sync.js';
import { GuestControl } from './guest.js';
import type { ByteSink, MigrationSaver } from './interfaces.js';
import { checkPrecopyOptions, DEFAULT_MAX_BATCH_BYTES, type PrecopyOptions } from './options.js';
import { StreamOutput } from './output.js';
import { PrecopyStatsRecorder } from './precopy-stats.js';
import { SinkStallGuard } from './stall-guard.js';

/** One precopy run: the options and the parts the phases share. */
export interface PrecopyRun {
  readonly opts: PrecopyOptions;
  readonly saver: MigrationSaver;
  readonly sink: ByteSink;
  readonly state: MigrationStateMachine;
  readonly stats: MigrationStats;
  /** The parameters now (a live getter when the caller gave one). */
  readonly params: () => Readonly<MigrationParameters>;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly maxBatch: number;
  readonly startTime: number;
  readonly recorder: PrecopyStatsRecorder;
  readonly cancel: CancelWatch;
  readonly guest: GuestControl;
  readonly output: StreamOutput;
  /** x-stall-timeout: watches the sink from setup until the run settles. */
  readonly stall: SinkStallGuard;
  readonly syncs: DirtySyncTracker;
  readonly meter: BandwidthMeter;
  readonly throttle: AutoConverge;
  readonly convergence: ConvergenceRule;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Checks the options, moves the state to 'setup' (refusing a running migration), resets the stats and starts
 * watching for a cancel (a signal aborted already cancels at once) and for a stalled sink.
 */
export function startRun(opts: PrecopyOptions): PrecopyRun {
  checkPrecopyOptions(opts);
  const given = opts.params;
  const params = typeof given === 'function' ? given : () => given;
  const now = opts.now ?? Date.now;
  const state = opts.state ?? new MigrationStateMachine();
  const st = state.status;
  if (st !== 'setup') {
    if (isMigrationRunning(st)) throw new MigrationActiveError();
    state.transition(st, 'setup');
  }
  const recorder = new PrecopyStatsRecorder(opts.stats ?? createStats());
  const startTime = now();
  recorder.begin(startTime, params()['downtime-limit']);
  const cancel = new CancelWatch(state, opts.sink, opts.signal);
  const guest = new GuestControl(opts);
  const stall = new SinkStallGuard(opts.sink, () => params()['x-stall-timeout'] ?? DEFAULT_STALL_TIMEOUT_MS, {
    now, setTimer: opts.setTimer,
  });
  stall.start();
  return {
    opts, saver: opts.saver, sink: opts.sink, state, stats: recorder.stats, params, now,
    sleep: opts.sleep ?? defaultSleep,
    maxBatch: opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
    startTime, recorder, cancel, guest,
    stall,
    output: new StreamOutput(opts.saver, opts.sink, cancel, recorder, guest, stall),
    syncs: new DirtySyncTracker(startTime),
    meter: new BandwidthMeter(),
    throttle: new AutoConverge(opts.autoConverge === true, (percent) => {
      recorder.throttle(percent);
      opts.setThrottle?.(percent);
    }),
    convergence: opts.convergence ?? qemuConvergence,
  };
}
