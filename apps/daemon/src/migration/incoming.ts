// The target side as the main thread sees it: QEMU's incoming states (none → setup → active → completed |
// failed; mig's cancel at quit: → cancelling → cancelled) in @mig/core's machine, the worker that reads the
// stream, and what happens to the guest when the stream is loaded.
import { Worker } from 'node:worker_threads';
import {
  DEFAULT_STALL_TIMEOUT_MS, isMigrationRunning, isTerminalStatus, MigrationStateMachine, type MigrationStatus, type StatusChange,
} from '@mig/core';
import type { TransportContext } from '@mig/transports';
import type { Logger } from '../log.js';
import type { Vm } from '../guest/vm.js';
import { decodeMigrationError, errorLogFields } from './errors.js';
import type { FromIncomingWorker, IncomingWorkerData, WorkerRamBlock } from './protocol.js';
import { prepareUri } from './transport-uri.js';
import { incomingTls, prepareTls } from '../objects/migration-tls.js';
import type { UserObjects } from '../objects/registry.js';
import type { MigrationSettings } from './settings.js';
import { applyWorkerChange, settleWorkerEnd } from './worker-status.js';
import { openDriveChannel, type DriveHost } from '../block/drive-host.js';
import type { Drives } from '../block/drives.js';

type DoneFromIncoming = Extract<FromIncomingWorker, { type: 'done' }>;

export class IncomingMigration {
  /** The target's migration state; query-migrate and the MIGRATION events follow it. */
  readonly state = new MigrationStateMachine({ direction: 'incoming' });
  #error: Error | undefined;
  #worker: Worker | undefined;
  #stats = new SharedArrayBuffer(8 * 4);
  /** The source's run state from the stream's globalstate (set with the load's completion). */
  #sourceRunstate: string | undefined;
  /** Where the listener is, once it listens (tcp port 0 → the chosen port). */
  address: string | undefined;
  /** The -drive images a stream's `block` section is written into (through a DriveHost for the worker). */
  drives: Drives | undefined;
  #driveHost: DriveHost | undefined;
  /** x-stall-timeout now (the daemon's parameters), read when an incoming migration starts. */
  stallTimeoutMs: () => number = () => DEFAULT_STALL_TIMEOUT_MS;

  constructor(
    private readonly vm: Vm,
    private readonly machine: string,
    private readonly ram: readonly WorkerRamBlock[],
    private readonly settings: Pick<MigrationSettings, 'parameters'>,
    private readonly objects: UserObjects,
    private readonly log: Logger,
  ) {
    // first listener: the guest starts before anyone else (the MIGRATION event) hears 'completed'
    this.state.onChange((change) => this.#changed(change));
  }

  get status(): MigrationStatus {
    return this.state.status;
  }

  /** Why the load failed, as the worker threw it (a StreamError with its offset and record, ...). */
  get error(): Error | undefined {
    return this.#error;
  }

  get bytesReceived(): number {
    return new Float64Array(this.#stats)[0] ?? 0;
  }

  /** The query-migrate reply on a target, as QEMU 7.2 fills it (plus error-desc when it failed). */
  queryMigrate(): Record<string, unknown> {
    const status = this.state.status;
    if (status === 'none') return {};
    const reply: Record<string, unknown> = { status };
    if (status === 'failed' && this.#error !== undefined) reply['error-desc'] = this.#error.message;
    return reply;
  }

  /**
   * Starts listening on `uri`; resolves once listening (or rejects if the listener could not be set up).
   * `descriptors` gives `fd:NAME` its descriptor (a getfd name, or an inherited number).
   */
  start(uri: string, descriptors: TransportContext = {}): Promise<void> {
    const now = this.state.status;
    if (now !== 'none') {
      throw new Error(isMigrationRunning(now) ? 'an incoming migration is already in progress' : 'The incoming migration has already been started');
    }
    // tls-creds set before migrate-incoming (QEMU's order): the stream must be TLS, checked as QEMU checks it
    const tls = prepareTls(uri, () => incomingTls(this.settings.parameters, this.objects));
    const transport = prepareUri(uri, descriptors, 'incoming');
    if (tls !== undefined) transport.tls = tls;
    this.state.transition('none', 'setup');
    // a `block` section may come whatever this side's capabilities say (QEMU's target needs none): the drives
    // are always offered, and a stream naming a drive this target lacks fails naming it
    const drives = this.drives?.list ?? [];
    const { host, port } = openDriveChannel(drives);
    this.#driveHost = host;
    const workerData: IncomingWorkerData = {
      uri, transport, machine: this.machine, ram: [...this.ram], stats: this.#stats, stallTimeoutMs: this.stallTimeoutMs(),
      block: { drives: drives.map((d) => d.workerInfo()), drivePort: port },
    };
    const worker = new Worker(new URL('./incoming-worker.js', import.meta.url), { workerData, transferList: [port] });
    this.#worker = worker;
    this.log.info('incoming migration: waiting for a stream', { uri, tls: tls !== undefined });
    return new Promise((resolve, reject) => {
      let listening = false;
      worker.on('message', (message: FromIncomingWorker) => {
        if (message.type === 'listening') {
          listening = true;
          this.address = message.address;
          resolve();
        } else if (message.type === 'status') {
          applyWorkerChange(this.state, message);
        } else if (message.type === 'tls-refused') {
          // as QEMU 7.2: the refused peer is reported and the target waits for another
          this.log.error(`incoming migration: ${message.message}; still waiting for a stream`);
        } else {
          this.#workerDone(message);
          if (!listening) reject(this.#error ?? new Error('incoming migration ended before listening'));
        }
      });
      worker.on('error', (err) => {
        this.#workerGone(new Error(`incoming migration worker crashed: ${err.message}`, { cause: err }));
        if (!listening) reject(err);
      });
      worker.on('exit', () => {
        void this.#driveHost?.close();
        this.#workerGone(new Error('incoming migration worker exited unexpectedly'));
      });
    });
  }

  /** Cancels a waiting or loading target (mig-daemon quitting; QEMU has no cancel for a target). */
  cancel(): void {
    const now = this.state.status;
    if (now !== 'setup' && now !== 'active') return;
    this.state.transition(now, 'cancelling');
    this.#worker?.postMessage({ type: 'cancel' });
  }

  #workerDone(message: DoneFromIncoming): void {
    this.#error = message.error === undefined ? undefined : decodeMigrationError(message.error);
    this.#sourceRunstate = message.runstate;
    settleWorkerEnd(this.state, message);
  }

  #workerGone(err: Error): void {
    if (!isMigrationRunning(this.state.status)) return;
    this.#error = err;
    settleWorkerEnd(this.state);
  }

  #changed({ to }: StatusChange): void {
    if (to === 'active') this.log.info('incoming migration: stream connected, loading');
    if (!isTerminalStatus(to)) return;
    if (to === 'completed') {
      this.log.info('incoming migration: stream loaded', { bytes: this.bytesReceived, sourceRunstate: this.#sourceRunstate ?? null });
      this.#startGuestAfterLoad(this.#sourceRunstate);
    } else if (to === 'failed') {
      // QEMU would exit here; mig-daemon stays up so the failure can be queried. The guest is never started.
      this.log.error(`load of migration failed: ${this.#error?.message ?? 'unknown error'}`, errorLogFields(this.#error));
    } else {
      this.log.info('incoming migration cancelled');
    }
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
}
