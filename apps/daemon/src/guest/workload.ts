// The guest workload as the main thread drives it: a worker thread that writes guest RAM while the guest
// runs and the workload is started. pause() returns only once the worker has stopped writing, so the
// switchover's final dirty sync sees every write.
import { Worker } from 'node:worker_threads';
import {
  CFG_OFFSET, CFG_RATE, CFG_SEED, CFG_WRITES, CFG_WSS_PAGES, CONTROL_BYTES, CTRL_ACK, CTRL_GEN, CTRL_PATTERN, CTRL_RUN,
  CTRL_THROTTLE, controlViews, type WorkloadBlock, type WorkloadWorkerData,
} from './workload-shared.js';
import { WORKLOAD_PAGE_SIZE, WORKLOAD_PATTERNS, validateWorkload, type WorkloadConfig } from './workload-config.js';

/** What x-mig-query-workload returns. */
export interface WorkloadInfo {
  /** Started (x-mig-workload start or -workload), whether or not the guest runs. */
  active: boolean;
  /** Writing now: active, guest running. */
  running: boolean;
  'dirty-rate': number;
  wss: number;
  offset: number;
  pattern: WorkloadConfig['pattern'];
  /** The auto-converge throttle applied, percent. */
  throttle: number;
  /** Page writes done since the daemon started. */
  writes: number;
}

const PAUSE_TIMEOUT_MS = 2000;

export class Workload {
  readonly #control = new SharedArrayBuffer(CONTROL_BYTES);
  readonly #ctrl: Int32Array;
  readonly #cfg: Float64Array;
  #worker: Worker | undefined;
  #config: WorkloadConfig | undefined;
  #active = false;
  #guestRunning = false;

  constructor(
    private readonly blocks: readonly WorkloadBlock[],
    private readonly ramSize: number,
    seed = Date.now(),
  ) {
    const { ctrl, cfg } = controlViews(this.#control);
    this.#ctrl = ctrl;
    this.#cfg = cfg;
    cfg[CFG_SEED] = seed >>> 0;
  }

  get config(): WorkloadConfig | undefined {
    return this.#config ? { ...this.#config } : undefined;
  }

  get active(): boolean {
    return this.#active;
  }

  /** Sets the workload's settings (validated against guest RAM); takes effect at the worker's next batch. */
  configure(config: WorkloadConfig): void {
    validateWorkload(config, this.ramSize);
    this.#config = { ...config };
    this.#cfg[CFG_RATE] = config.dirtyRate / WORKLOAD_PAGE_SIZE;
    this.#cfg[CFG_WSS_PAGES] = config.wss / WORKLOAD_PAGE_SIZE;
    this.#cfg[CFG_OFFSET] = config.offset;
    Atomics.store(this.#ctrl, CTRL_PATTERN, WORKLOAD_PATTERNS.indexOf(config.pattern));
    Atomics.add(this.#ctrl, CTRL_GEN, 1);
    this.#ensureWorker(); // thread start-up (koffi, mapping) happens now, not when the guest starts
  }

  /** Starts writing (when the guest runs). Needs a configuration. */
  start(): void {
    if (!this.#config) throw new Error('the workload has no settings yet: give dirty-rate (and wss) first');
    this.#active = true;
    this.#apply();
  }

  stop(): void {
    this.#active = false;
    this.#apply();
  }

  /** The guest's run state changed: writes happen only while it runs. */
  setGuestRunning(running: boolean): void {
    this.#guestRunning = running;
    this.#apply();
  }

  /** auto-converge: the workload runs at (100 - percent)% of its rate. */
  setThrottle(percent: number): void {
    const p = Math.max(0, Math.min(99, Math.trunc(percent)));
    Atomics.store(this.#ctrl, CTRL_THROTTLE, p);
  }

  get throttle(): number {
    return Atomics.load(this.#ctrl, CTRL_THROTTLE);
  }

  get writes(): number {
    return this.#cfg[CFG_WRITES]!;
  }

  info(): WorkloadInfo {
    const c = this.#config;
    return {
      active: this.#active,
      running: this.#active && this.#guestRunning,
      'dirty-rate': c?.dirtyRate ?? 0,
      wss: c?.wss ?? 0,
      offset: c?.offset ?? 0,
      pattern: c?.pattern ?? 'sparse',
      throttle: this.throttle,
      writes: this.writes,
    };
  }

  /** Ends the worker thread. */
  async close(): Promise<void> {
    Atomics.store(this.#ctrl, CTRL_RUN, 2);
    Atomics.notify(this.#ctrl, CTRL_RUN);
    const w = this.#worker;
    this.#worker = undefined;
    if (w) await w.terminate();
  }

  #apply(): void {
    const run = this.#active && this.#guestRunning;
    if (run) {
      this.#ensureWorker();
      Atomics.store(this.#ctrl, CTRL_RUN, 1);
      Atomics.notify(this.#ctrl, CTRL_RUN);
      return;
    }
    Atomics.store(this.#ctrl, CTRL_RUN, 0);
    Atomics.notify(this.#ctrl, CTRL_RUN);
    if (!this.#worker) return;
    // Wait (briefly: a batch is a few ms) until the worker says it no longer writes.
    const deadline = Date.now() + PAUSE_TIMEOUT_MS;
    while (Atomics.load(this.#ctrl, CTRL_ACK) !== 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`guest workload did not pause within ${PAUSE_TIMEOUT_MS} ms`);
      Atomics.wait(this.#ctrl, CTRL_ACK, 1, Math.min(left, 50));
    }
  }

  #ensureWorker(): void {
    if (this.#worker) return;
    const workerData: WorkloadWorkerData = { control: this.#control, blocks: [...this.blocks] };
    const worker = new Worker(new URL('./workload-worker.js', import.meta.url), { workerData });
    worker.unref();
    worker.on('error', (err) => {
      process.stderr.write(`mig-daemon: guest workload thread failed: ${err.message}\n`);
    });
    worker.on('exit', () => {
      if (this.#worker === worker) this.#worker = undefined;
      Atomics.store(this.#ctrl, CTRL_ACK, 0);
    });
    this.#worker = worker;
  }
}
