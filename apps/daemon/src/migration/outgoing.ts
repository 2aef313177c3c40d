// The source side as the main thread sees it: QEMU's outgoing states in @mig/core's machine, the worker that
// writes the stream, and the guest's run state around switchover (stop → finish-migrate → postmigrate, or
// back to running).
import { Worker, type MessagePort } from 'node:worker_threads';
import {
  buildQueryMigrate, createSharedStats, isMigrationRunning, isTerminalStatus, MigrationFailedError, MigrationStateMachine,
  ProgressTracker, type DirtyBitmap, type MigrationStats, type MigrationStatus, type ProgressReport, type StatusChange,
} from '@mig/core';
import { QmpError } from '@mig/qmp';
import type { TransportContext } from '@mig/transports';
import type { Logger } from '../log.js';
import type { RunState, Vm } from '../guest/vm.js';
import { decodeMigrationError, errorLogFields } from './errors.js';
import type { DoneMessage, FromOutgoingWorker, OutgoingBlockData, OutgoingWorkerData, WorkerRamBlock } from './protocol.js';
import type { MigrationSettings } from './settings.js';
import { openDriveChannel, type DriveHost } from '../block/drive-host.js';
import type { Drive } from '../block/drive.js';
import type { Drives } from '../block/drives.js';
import { prepareUri, type PreparedUri } from './transport-uri.js';
import { outgoingTls, prepareTls } from '../objects/migration-tls.js';
import type { UserObjects } from '../objects/registry.js';
import { applyWorkerChange, settleWorkerEnd } from './worker-status.js';

/** How often a running migration's progress is sampled, ms (a query samples too). */
const PROGRESS_SAMPLE_MS = 250;

export interface OutgoingEvents {
  onPass(pass: number): void;
  /** auto-converge changed the guest's throttle (0 when the migration ends). */
  onThrottle?(percent: number): void;
  /** The migration stopped converging (once per episode): X_MIG_NOT_CONVERGING. */
  onNotConverging?(report: ProgressReport): void;
}

export class OutgoingMigration {
  /** The source's migration state; query-migrate and the MIGRATION events follow it. */
  readonly state = new MigrationStateMachine({ direction: 'outgoing' });
  /** Why the last migration failed, as the worker threw it (a MigrationFailedError with its phase, ...). */
  #error: Error | undefined;
  #worker: Worker | undefined;
  #stats: { buffer: SharedArrayBuffer; stats: MigrationStats } = createSharedStats();
  /** The run state before switchover stopped the guest (what goes back on failure). */
  #runstateBefore: RunState | undefined;
  #progress: ProgressTracker | undefined;
  /** The guest's shared dirty bitmaps (one per RAM block), handed to each migration's worker. */
  guestDirty: SharedArrayBuffer[] | undefined;
  /** The same bitmaps as the main thread sees them: their bits are what the next sync will add (progress). */
  guestDirtyBitmaps: readonly DirtyBitmap[] = [];
  /** Samples progress while a migration runs, so the processing rate is measured whoever asks and how often. */
  #sampler: NodeJS.Timeout | undefined;
  /** The -drive images: with capability block, the worker reads them through a DriveHost. */
  drives: Drives | undefined;
  /** The running block migration's host of drive requests, closed when its worker is gone. */
  #driveHost: DriveHost | undefined;

  constructor(
    private readonly vm: Vm,
    private readonly machine: string,
    private readonly ram: readonly WorkerRamBlock[],
    private readonly settings: MigrationSettings,
    private readonly objects: UserObjects,
    private readonly log: Logger,
    private readonly events: OutgoingEvents,
  ) {
    // first listener: the guest's run state is settled before anyone else (the MIGRATION event) hears the end
    this.state.onChange((change) => this.#changed(change));
  }

  get status(): MigrationStatus {
    return this.state.status;
  }

  /** Why the last migration failed, as the worker threw it (undefined unless it failed). */
  get error(): Error | undefined {
    return this.#error;
  }

  get isActive(): boolean {
    return isMigrationRunning(this.state.status);
  }

  queryMigrate(blockedReasons: readonly string[] = []): Record<string, unknown> {
    return buildQueryMigrate({
      status: this.state.status,
      stats: this.#stats.stats,
      params: this.settings.parameters,
      caps: this.settings.capabilities,
      now: Date.now(),
      blockedReasons,
      diskActive: this.#driveHost !== undefined,
      ...(this.#error === undefined ? {} : { errorDesc: this.#error.message }),
    }) as Record<string, unknown>;
  }

  /**
   * `migrate`: checks what QEMU checks, then starts the worker; the reply does not wait for the stream.
   * `descriptors` gives `fd:NAME` its descriptor (the monitor's getfd names).
   */
  start(uriText: string, descriptors: TransportContext = {}): void {
    if (this.isActive) throw new QmpError('GenericError', "There's a migration process in progress");
    // before the URI: a TLS error must not take an fd: descriptor
    const tls = prepareTls(uriText, () => outgoingTls(this.settings.parameters, this.objects));
    const transport = prepareUri(uriText, descriptors, 'outgoing');
    if (tls !== undefined) transport.tls = tls;
    this.#stats = createSharedStats();
    this.#error = undefined;
    this.#runstateBefore = undefined;
    const diskBytes = this.#blockEnabled() ? this.#writableDrives().reduce((n, d) => n + d.size, 0) : 0;
    const totalBytes = this.vm.ramSize + diskBytes;
    this.#progress = totalBytes > 0 ? new ProgressTracker({ totalBytes }) : undefined;
    this.state.transition(this.state.status, 'setup'); // from none or the last one's end
    this.log.info('migration started', { uri: uriText, ram: this.vm.ramSize, runstate: this.vm.runstate, tls: tls !== undefined });
    this.#spawn(uriText, transport);
    clearInterval(this.#sampler);
    this.#sampler = setInterval(() => this.#sampleProgress(), PROGRESS_SAMPLE_MS).unref();
  }

  /**
   * One progress sample from the shared counters (RAM and disk pending) and the dirty bitmaps (what the guest
   * wrote since the last sync). Only once the first sync has filled the counters, so setup's zeros do not read
   * as everything sent.
   */
  #sampleProgress(): void {
    const s = this.#stats.stats;
    if (!this.#progress || this.state.status !== 'active' || s.total === 0) return;
    if (this.#driveHost !== undefined && s.diskTotal === 0) return;
    let dirtyPending = 0;
    for (const bitmap of this.guestDirtyBitmaps) dirtyPending += bitmap.count() * bitmap.unitBytes;
    if (this.#driveHost !== undefined) for (const d of this.#writableDrives()) dirtyPending += d.dirty.count() * d.dirty.unitBytes;
    this.#progress.sample({
      time: Date.now(),
      remaining: s.remaining + s.diskRemaining,
      pass: s.dirtySyncCount,
      dirtyRate: s.dirtyPagesRate * (s.pageSize || 4096),
      dirtyPending,
      switchoverBytes: this.#switchoverBytes(s.mbps),
    });
  }

  /** QEMU's switchover threshold, bandwidth × downtime-limit: what goes out with the guest stopped, not in the ETA. */
  #switchoverBytes(mbps: number): number {
    const p = this.settings.parameters;
    const bandwidth = Number.isFinite(mbps) && mbps > 0 ? (mbps * 1e6) / 8 : p['max-bandwidth'];
    return (bandwidth * p['downtime-limit']) / 1000;
  }

  #blockEnabled(): boolean {
    return this.settings.capability('block');
  }

  #writableDrives(): Drive[] {
    return (this.drives?.list ?? []).filter((d) => !d.readOnly);
  }

  /** With capability block: a DriveHost for the worker and what it is told of the writable drives. */
  #blockData(): { data: OutgoingBlockData; port: MessagePort } | undefined {
    if (!this.#blockEnabled()) return undefined;
    const drives = this.#writableDrives();
    const { host, port } = openDriveChannel(drives);
    this.#driveHost = host;
    const data: OutgoingBlockData = {
      drives: drives.map((d) => d.workerInfo()),
      drivePort: port,
      incremental: this.settings.parameters['block-incremental'],
      zeroBlocks: this.settings.capability('zero-blocks'),
    };
    return { data, port };
  }

  #spawn(uri: string, transport: PreparedUri): void {
    const block = this.#blockData();
    const workerData: OutgoingWorkerData = {
      uri,
      transport,
      machine: this.machine,
      ram: [...this.ram],
      parameters: { ...this.settings.parameters },
      capabilities: { ...this.settings.capabilities },
      stats: this.#stats.buffer,
      ...(this.guestDirty ? { dirty: this.guestDirty } : {}),
      ...(block ? { block: block.data } : {}),
    };
    const worker = new Worker(new URL('./outgoing-worker.js', import.meta.url), { workerData, transferList: block ? [block.port] : [] });
    this.#worker = worker;
    // a worker whose migration has ended may still be exiting when the next one starts: it no longer counts
    const current = (): boolean => this.#worker === worker;
    worker.on('message', (message: FromOutgoingWorker) => {
      if (current()) this.#onMessage(message);
    });
    worker.on('error', (err) => {
      if (current()) this.#workerGone(new MigrationFailedError('worker', `migration worker crashed: ${err.message}`, { cause: err }));
    });
    worker.on('exit', () => {
      void this.#closeDriveHost();
      if (!current()) return;
      this.#workerGone(new MigrationFailedError('worker', 'migration worker exited unexpectedly'));
      this.#worker = undefined;
    });
  }

  /** `migrate_cancel`: no-op when nothing runs, as in QEMU. The worker's own report of its end decides. */
  cancel(): void {
    const now = this.state.status;
    if (!this.#worker || !isMigrationRunning(now)) return;
    if (now !== 'cancelling') this.state.transition(now, 'cancelling');
    this.#worker.postMessage({ type: 'cancel' });
  }

  /** migrate-set-parameters and the legacy setters apply to a running migration at once. */
  parametersChanged(): void {
    this.#worker?.postMessage({ type: 'set-parameters', parameters: { ...this.settings.parameters } });
  }

  async #closeDriveHost(): Promise<void> {
    const host = this.#driveHost;
    this.#driveHost = undefined;
    await host?.close();
  }

  #onMessage(message: FromOutgoingWorker): void {
    switch (message.type) {
      case 'status':
        applyWorkerChange(this.state, message);
        break;
      case 'pass':
        this.events.onPass(message.pass);
        break;
      case 'throttle':
        this.events.onThrottle?.(message.percent);
        break;
      case 'sync': {
        if (!this.#progress) break;
        const { report, becameNotConverging } = this.#progress.update(message.info, {
          params: this.settings.parameters,
          caps: this.settings.capabilities,
        });
        if (becameNotConverging) {
          this.log.warn('migration is not converging', { pass: report.pass, remaining: report.remaining, advice: report.advice.join('; ') });
          this.events.onNotConverging?.(report);
        }
        break;
      }
      case 'stop-guest': {
        // QEMU's migration_completion: remember the state for globalstate, stop into finish-migrate, and
        // let the guest's disk writes in flight land (bdrv_drain_all) before the last dirty pass.
        const before = this.vm.runstate;
        this.#runstateBefore = before;
        this.vm.stop('finish-migrate');
        const worker = this.#worker;
        void (this.drives?.drain() ?? Promise.resolve()).then(() => worker?.postMessage({ type: 'guest-stopped', runstate: before }));
        break;
      }
      case 'resume-guest':
        this.#restoreGuest();
        break;
      case 'done':
        this.#workerDone(message);
        break;
    }
  }

  #restoreGuest(): void {
    const before = this.#runstateBefore;
    this.#runstateBefore = undefined;
    if (before === undefined) return;
    this.vm.setState(before);
    this.log.info('guest resumed on the source', { runstate: before });
  }

  /** x-mig-query-progress: the migration's progress, ETA and convergence (undefined before the first sync). */
  queryProgress(): (ProgressReport & { status: MigrationStatus }) | undefined {
    this.#sampleProgress();
    const last = this.#progress?.last;
    return last ? { status: this.state.status, ...last } : undefined;
  }

  #workerDone(message: DoneMessage): void {
    if (message.error !== undefined) this.#error = decodeMigrationError(message.error);
    if (settleWorkerEnd(this.state, message) || message.to !== 'completed') return;
    // QEMU's cancel wins over a completion it overlaps: the source resumes; the target has the whole stream
    this.log.warn('migration cancelled after its stream was complete: the target may start the guest too');
  }

  #workerGone(err: Error): void {
    if (!isMigrationRunning(this.state.status)) return;
    this.#error = err;
    settleWorkerEnd(this.state);
  }

  #changed({ to }: StatusChange): void {
    if (!isTerminalStatus(to)) return;
    clearInterval(this.#sampler);
    this.#sampler = undefined;
    this.settings.migrationEnded();
    this.events.onThrottle?.(0);
    if (to === 'completed') {
      this.#progress?.complete();
      this.vm.setState('postmigrate');
      const s = this.#stats.stats;
      this.log.info('migration completed', { bytes: s.transferred, ms: s.totalTime, downtimeMs: s.downtime, passes: s.dirtySyncCount });
    } else {
      this.#restoreGuest();
      if (to === 'failed') this.log.error(`migration failed: ${this.#error?.message ?? 'unknown error'}`, errorLogFields(this.#error));
      else this.log.info('migration cancelled');
    }
    void this.#worker?.terminate();
  }
}
