// The source side as the main thread sees it: QEMU's outgoing states, the worker that writes the stream, and
// the guest's run state around switchover (stop → finish-migrate → postmigrate, or back to running).
import { Worker } from 'node:worker_threads';
import {
  buildQueryMigrate, createSharedStats, isMigrationRunning, ProgressTracker, type MigrationStats, type MigrationStatus,
  type ProgressReport,
} from '@mig/core';
import { QmpError } from '@mig/qmp';
import { parseMigrationUri, type MigrationUri } from '@mig/transports';
import type { Logger } from '../log.js';
import type { RunState, Vm } from '../guest/vm.js';
import type { FromOutgoingWorker, OutgoingWorkerData, WorkerRamBlock } from './protocol.js';
import type { MigrationSettings } from './settings.js';

export interface OutgoingEvents {
  onStatus(status: MigrationStatus): void;
  onPass(pass: number): void;
  /** auto-converge changed the guest's throttle (0 when the migration ends). */
  onThrottle?(percent: number): void;
  /** The migration stopped converging (once per episode): X_MIG_NOT_CONVERGING. */
  onNotConverging?(report: ProgressReport): void;
}

export class OutgoingMigration {
  #status: MigrationStatus = 'none';
  #error: string | undefined;
  #worker: Worker | undefined;
  #stats: { buffer: SharedArrayBuffer; stats: MigrationStats } = createSharedStats();
  /** The run state before switchover stopped the guest (what goes back on failure). */
  #runstateBefore: RunState | undefined;
  #progress: ProgressTracker | undefined;
  /** The guest's shared dirty bitmaps (one per RAM block), handed to each migration's worker. */
  guestDirty: SharedArrayBuffer[] | undefined;

  constructor(
    private readonly vm: Vm,
    private readonly machine: string,
    private readonly ram: readonly WorkerRamBlock[],
    private readonly settings: MigrationSettings,
    private readonly log: Logger,
    private readonly events: OutgoingEvents,
  ) {}

  get status(): MigrationStatus {
    return this.#status;
  }

  get isActive(): boolean {
    return isMigrationRunning(this.#status);
  }

  queryMigrate(blockedReasons: readonly string[] = []): Record<string, unknown> {
    return buildQueryMigrate({
      status: this.#status,
      stats: this.#stats.stats,
      params: this.settings.parameters,
      caps: this.settings.capabilities,
      now: Date.now(),
      blockedReasons,
      ...(this.#error === undefined ? {} : { errorDesc: this.#error }),
    }) as Record<string, unknown>;
  }

  /** `migrate`: checks what QEMU checks, then starts the worker; the reply does not wait for the stream. */
  start(uriText: string): void {
    if (this.isActive) throw new QmpError('GenericError', "There's a migration process in progress");
    let uri: MigrationUri;
    try {
      uri = parseMigrationUri(uriText);
    } catch (err) {
      throw new QmpError('GenericError', (err as Error).message);
    }
    if (uri.kind === 'fd' || uri.kind === 'rdma') {
      throw new QmpError('GenericError', `${uri.kind}: migration transport is not supported yet by mig`);
    }
    this.#stats = createSharedStats();
    this.#error = undefined;
    this.#runstateBefore = undefined;
    const workerData: OutgoingWorkerData = {
      uri: uriText,
      machine: this.machine,
      ram: [...this.ram],
      parameters: { ...this.settings.parameters },
      capabilities: { ...this.settings.capabilities },
      stats: this.#stats.buffer,
      ...(this.guestDirty ? { dirty: this.guestDirty } : {}),
    };
    this.#progress = this.vm.ramSize > 0 ? new ProgressTracker({ totalBytes: this.vm.ramSize }) : undefined;
    this.#setStatus('setup');
    this.log.info('migration started', { uri: uriText, ram: this.vm.ramSize, runstate: this.vm.runstate });
    const worker = new Worker(new URL('./outgoing-worker.js', import.meta.url), { workerData });
    this.#worker = worker;
    worker.on('message', (message: FromOutgoingWorker) => this.#onMessage(message));
    worker.on('error', (err) => this.#finish('failed', `migration worker crashed: ${err.message}`));
    worker.on('exit', () => {
      if (this.#worker === worker) this.#worker = undefined;
      if (this.isActive) this.#finish('failed', 'migration worker exited unexpectedly');
    });
  }

  /** `migrate_cancel`: no-op when nothing runs, as in QEMU. */
  cancel(): void {
    if (!this.isActive || !this.#worker) return;
    if (this.#status !== 'cancelling') this.#setStatus('cancelling');
    this.#worker.postMessage({ type: 'cancel' });
  }

  /** migrate-set-parameters and the legacy setters apply to a running migration at once. */
  parametersChanged(): void {
    this.#worker?.postMessage({ type: 'set-parameters', parameters: { ...this.settings.parameters } });
  }

  #onMessage(message: FromOutgoingWorker): void {
    switch (message.type) {
      case 'status':
        if (message.status !== this.#status && message.status !== 'completed' && message.status !== 'failed' && message.status !== 'cancelled') {
          if (!(this.#status === 'cancelling' && message.status === 'active')) this.#setStatus(message.status as MigrationStatus);
        }
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
        // QEMU's migration_completion: remember the state for globalstate, stop into finish-migrate.
        const before = this.vm.runstate;
        this.#runstateBefore = before;
        this.vm.stop('finish-migrate');
        this.#worker?.postMessage({ type: 'guest-stopped', runstate: before });
        break;
      }
      case 'resume-guest':
        this.#restoreGuest();
        break;
      case 'done':
        this.#finish(message.status, message.error);
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
    const last = this.#progress?.last;
    return last ? { status: this.#status, ...last } : undefined;
  }

  #finish(status: 'completed' | 'failed' | 'cancelled', error?: string): void {
    if (!this.isActive) return;
    this.events.onThrottle?.(0);
    if (status === 'completed') this.#progress?.complete();
    if (status === 'completed') {
      this.vm.setState('postmigrate');
      const s = this.#stats.stats;
      this.log.info('migration completed', { bytes: s.transferred, ms: s.totalTime, downtimeMs: s.downtime, passes: s.dirtySyncCount });
    } else {
      this.#restoreGuest();
      if (status === 'failed') {
        this.#error = error;
        this.log.error(`migration failed: ${error ?? 'unknown error'}`);
      } else {
        this.log.info('migration cancelled');
      }
    }
    if (status === 'cancelled' && this.#status !== 'cancelling') this.#setStatus('cancelling');
    this.#setStatus(status);
    void this.#worker?.terminate();
  }

  #setStatus(status: MigrationStatus): void {
    this.#status = status;
    this.events.onStatus(status);
  }
}
