// The target side as the main thread sees it: QEMU's incoming states (none → setup → active → completed |
// failed), the worker that reads the stream, and what happens to the guest when the stream is loaded.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import type { Vm } from '../guest/vm.js';
import type { FromIncomingWorker, IncomingWorkerData, WorkerRamBlock } from './protocol.js';

export type IncomingStatus = 'none' | 'setup' | 'active' | 'completed' | 'failed' | 'cancelled';

export interface IncomingEvents {
  onStatus(status: IncomingStatus): void;
}

export class IncomingMigration {
  #status: IncomingStatus = 'none';
  #error: string | undefined;
  #worker: Worker | undefined;
  #stats = new SharedArrayBuffer(8 * 4);
  /** Where the listener is, once it listens (tcp port 0 → the chosen port). */
  address: string | undefined;

  constructor(
    private readonly vm: Vm,
    private readonly machine: string,
    private readonly ram: readonly WorkerRamBlock[],
    private readonly events: IncomingEvents,
    private readonly log: Logger,
  ) {}

  get status(): IncomingStatus {
    return this.#status;
  }

  get error(): string | undefined {
    return this.#error;
  }

  get bytesReceived(): number {
    return new Float64Array(this.#stats)[0] ?? 0;
  }

  /** The query-migrate reply on a target, as QEMU 7.2 fills it (plus error-desc when it failed). */
  queryMigrate(): Record<string, unknown> {
    if (this.#status === 'none') return {};
    const reply: Record<string, unknown> = { status: this.#status };
    if (this.#status === 'failed' && this.#error !== undefined) reply['error-desc'] = this.#error;
    return reply;
  }

  /** Starts listening on `uri`; resolves once listening (or rejects if the listener could not be set up). */
  start(uri: string): Promise<void> {
    if (this.#status !== 'none') {
      throw new Error(this.#status === 'setup' || this.#status === 'active'
        ? 'an incoming migration is already in progress'
        : "The incoming migration has already been started");
    }
    this.#setStatus('setup');
    const workerData: IncomingWorkerData = { uri, machine: this.machine, ram: [...this.ram], stats: this.#stats };
    const worker = new Worker(new URL('./incoming-worker.js', import.meta.url), { workerData });
    this.#worker = worker;
    this.log.info('incoming migration: waiting for a stream', { uri });
    return new Promise((resolve, reject) => {
      let listening = false;
      worker.on('message', (message: FromIncomingWorker) => {
        switch (message.type) {
          case 'listening':
            listening = true;
            this.address = message.address;
            resolve();
            break;
          case 'status':
            this.log.info('incoming migration: stream connected, loading');
            this.#setStatus('active');
            break;
          case 'done':
            this.#finish(message);
            if (!listening) reject(new Error(message.error ?? 'incoming migration ended before listening'));
            break;
        }
      });
      worker.on('error', (err) => {
        this.#finish({ type: 'done', status: 'failed', error: `incoming migration worker crashed: ${err.message}` });
        if (!listening) reject(err);
      });
      worker.on('exit', () => {
        if (this.#status === 'setup' || this.#status === 'active') {
          this.#finish({ type: 'done', status: 'failed', error: 'incoming migration worker exited unexpectedly' });
        }
      });
    });
  }

  cancel(): void {
    this.#worker?.postMessage({ type: 'cancel' });
  }

  #finish(message: Extract<FromIncomingWorker, { type: 'done' }>): void {
    if (this.#status === 'completed' || this.#status === 'failed' || this.#status === 'cancelled') return;
    if (message.status === 'completed') {
      this.log.info('incoming migration: stream loaded', { bytes: this.bytesReceived, sourceRunstate: message.runstate ?? null });
      this.#startGuestAfterLoad(message.runstate);
    } else {
      this.#error = message.error;
      // QEMU would exit here; mig-daemon stays up so the failure can be queried. The guest is never started.
      this.log.error(`load of migration failed: ${message.error ?? message.status}`);
    }
    this.#setStatus(message.status);
    void this.#worker?.terminate();
  }

  /** QEMU's process_incoming_migration_bh: run the guest if the source ran it (or sent no globalstate). */
  #startGuestAfterLoad(sourceRunstate: string | undefined): void {
    if (sourceRunstate === undefined || sourceRunstate === 'running') {
      if (this.vm.autostart) this.vm.start();
      else this.vm.setState('paused');
    } else {
      this.vm.setState(sourceRunstate as Parameters<Vm['setState']>[0]);
    }
  }

  #setStatus(status: IncomingStatus): void {
    this.#status = status;
    this.events.onStatus(status);
  }
}
