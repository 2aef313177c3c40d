// mig-daemon assembled: the guest, its QMP server, and the migrations in and out. Wiring only: the logic
// lives in the packages and in the migration controllers.
import { Worker } from 'node:worker_threads';
import { Blockers } from '@mig/core';
import { DirtyBitmap, PAGE_SIZE } from '@mig/ram';
import { QmpError, QmpServer, type QmpHandlers, type QmpListener } from '@mig/qmp';
import type { DaemonConfig } from './cli/args.js';
import { Drives } from './block/drives.js';
import { completeDiskWorkload } from './guest/disk-workload-config.js';
import { DiskWorkloads } from './guest/disk-workloads.js';
import { setUpGuestRam } from './guest/memory-setup.js';
import { Vm } from './guest/vm.js';
import { Workload } from './guest/workload.js';
import { completeWorkload } from './guest/workload-config.js';
import type { Logger } from './log.js';
import { IncomingMigration } from './migration/incoming.js';
import { OutgoingMigration } from './migration/outgoing.js';
import { MigrationSettings } from './migration/settings.js';
import { MigrationMetrics } from './metrics/migration-metrics.js';
import { MetricsServer } from './metrics/metrics-server.js';
import type { WorkerRamBlock } from './migration/protocol.js';
import { blockHandlers } from './qmp/block.js';
import { diskWorkloadHandlers } from './qmp/disk-workload.js';
import { hmpHandlers } from './qmp/hmp.js';
import { qemuIoMonitorCommand } from './qmp/hmp-qemu-io.js';
import { commandLineDescriptors, fdHandlers, incomingDescriptors, MonitorDescriptors, outgoingDescriptors } from './qmp/fds.js';
import { memoryHandlers } from './qmp/memory.js';
import { objectHandlers } from './qmp/objects.js';
import { UserObjects } from './objects/registry.js';
import { migrateHandlers, queryMigrate, type MigrateControl } from './qmp/migrate.js';
import { runStateHandlers } from './qmp/run-state.js';
import { settingsHandlers } from './qmp/settings.js';
import { VERSION, versionHandlers } from './qmp/version.js';
import { workloadHandlers } from './qmp/workload.js';

export class Daemon {
  readonly vm: Vm;
  readonly settings: MigrationSettings;
  readonly outgoing: OutgoingMigration;
  readonly incoming: IncomingMigration;
  readonly qmp: QmpServer;
  /** Reasons this guest cannot migrate (none for `-machine none`; devices would add theirs). */
  readonly blockers = new Blockers();
  /** One dirty bitmap per RAM block, shared by every writer of guest RAM and the outgoing migration's saver. */
  readonly dirty: DirtyBitmap[];
  /** The guest's workload (writes guest RAM from its own thread while the guest runs and it is started). */
  readonly workload: Workload;
  /**
   * The -drive images, opened once here in the main thread by start(). Guest writes (qemu-io, the disk
   * workloads) go through them; a migration worker reaches them through a DriveHost (block/drive-host.ts).
   */
  readonly drives: Drives;
  /** Guest writes to the drives, one workload per drive, while the guest runs (main thread). */
  readonly diskWorkloads: DiskWorkloads;
  /** getfd's descriptors, by monitor and name, until a migration takes one. */
  readonly descriptors = new MonitorDescriptors();
  /** -object and object-add's objects by id (the TLS credentials and authz objects a migration names). */
  readonly objects = new UserObjects();
  #listeners: QmpListener[] = [];
  /** `-metrics`: the Prometheus endpoint (none unless asked for). */
  #metrics: MetricsServer | undefined;

  constructor(
    readonly config: DaemonConfig,
    private readonly log: Logger,
    private readonly exit: (code: number) => void,
  ) {
    this.#makeObjects();
    const ram = setUpGuestRam(config);
    const initial = config.incoming !== undefined ? 'inmigrate' : config.startPaused ? 'prelaunch' : 'running';
    this.vm = new Vm(config.name, ram, initial, !config.startPaused);
    const workerRam: WorkerRamBlock[] = ram.map((b) => ({
      idstr: b.idstr,
      guestAddress: b.guestAddress,
      handle: { address: b.memory.address, size: b.memory.size},
    }));
    this.settings = new MigrationSettings(this.vm.ramSize);
    this.dirty = ram.map((b) => DirtyBitmap.createShared(b.memory.size / PAGE_SIZE));
    this.workload = new Workload(
      ram.map((b, i) => ({ guestAddress: b.guestAddress, handle: { address: b.memory.address, size: b.memory.size}, dirty: this.dirty[i]!.words.buffer as SharedArrayBuffer })),
      this.vm.ramSize,
    );
    if (config.workload !== undefined) {
      this.workload.configure(completeWorkload(config.workload, this.vm.ramSize));
      this.workload.start();
    }
    this.drives = new Drives(() => this.vm.runstate);
    this.diskWorkloads = new DiskWorkloads(this.drives);
    this.outgoing = new OutgoingMigration(this.vm, config.machine, workerRam, this.settings, this.objects, log, {
      onPass: (pass) => {
        if (this.settings.capability('events')) this.qmp.emit('MIGRATION_PASS', { pass });
      },
      onThrottle: (percent) => this.workload.setThrottle(percent),
      onNotConverging: (r) =>
        this.qmp.emit('X_MIG_NOT_CONVERGING', { pass: r.pass, remaining: r.remaining, 'dirty-rate': r['dirty-rate'], bandwidth: r.bandwidth, advice: r.advice }),
    });
    this.outgoing.guestDirty = this.dirty.map((d) => d.words.buffer as SharedArrayBuffer);
    this.outgoing.guestDirtyBitmaps = this.dirty;
    this.outgoing.drives = this.drives;
    this.incoming = new IncomingMigration(this.vm, config.machine, workerRam, this.settings, this.objects, log);
    this.incoming.drives = this.drives;
    this.incoming.stallTimeoutMs = () => this.settings.parameters['x-stall-timeout'];
    // the handlers hold the controllers made above
    this.qmp = new QmpServer({
      handlers: this.handlers(),
      greeting: VERSION,
      log: (level, message, err) => this.log[level === 'warn' ? 'warn' : 'error'](message, err === undefined ? undefined : { cause: String(err) }),
    });
    // MIGRATION events follow each direction's state machine (after the controllers' own listeners)
    for (const state of [this.outgoing.state, this.incoming.state]) {
      state.onChange(({ to }) => {
        if (this.settings.capability('events')) this.qmp.emit('MIGRATION', { status: to });
      });
    }
    // The workload writes only while the guest runs: a stop (switchover included) returns once it has paused.
    this.vm.on('STOP', () => this.workload.setGuestRunning(false));
    this.vm.on('RESUME', () => this.workload.setGuestRunning(true));
    this.workload.setGuestRunning(this.vm.running);
    this.vm.on('STOP', () => this.diskWorkloads.setGuestRunning(false));
    this.vm.on('RESUME', () => this.diskWorkloads.setGuestRunning(true));
    this.diskWorkloads.setGuestRunning(this.vm.running);
    this.vm.on('STOP', () => this.qmp.emit('STOP'));
    this.vm.on('RESUME', () => this.qmp.emit('RESUME'));
  }

  /** -object's objects, in command-line order (as QEMU: TLS credentials read their files now). */
  #makeObjects(): void {
    for (const b of this.config.backends) this.objects.register({ type: `memory-backend-${b.kind}`, id: b.id });
    for (const o of this.config.objects) {
      try {
        this.objects.add(o.type, o.props);
      } catch (err) {
        throw new Error(`-object ${o.text}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  async start(): Promise<void> {
    // as QEMU: the drives are opened before anything listens; a drive that cannot be opened fails the start
    await this.drives.open(this.config.drives, (warning) => process.stderr.write(`${warning}\n`));
    for (const option of this.config.diskWorkloads) {
      const { drive, ...settings } = option;
      try {
        const workload = this.diskWorkloads.of(drive);
        workload.configure(completeDiskWorkload(settings, workload.drive.size));
        workload.start();
      } catch (err) {
        throw new Error(`-disk-workload drive=${drive}: ${(err as Error).message}`, { cause: err });
      }
    }
    await this.#populateRam();
    // As QEMU: the incoming listener is up before QMP answers, so a harness that sees QMP can migrate at once.
    if (this.config.incoming !== undefined && this.config.incoming !== 'defer') {
      try {
        await this.incoming.start(this.config.incoming, commandLineDescriptors);
      } catch (err) {
        throw new Error(`-incoming ${this.config.incoming}: ${err instanceof QmpError ? err.desc : (err as Error).message}`, { cause: err });
      }
    }
    for (const endpoint of this.config.qmp) {
      const socketMode = endpoint.kind === 'unix' ? endpoint.mode : undefined;
      this.#listeners.push(await this.qmp.listen(endpoint, socketMode === undefined ? {} : { socketMode }));
    }
    if (this.config.metrics) await this.#serveMetrics(this.config.metrics);
    this.log.info('ready', {
      runstate: this.vm.runstate,
      ram: this.vm.ram.map((b) => `${b.idstr}:${b.memory.size}`).join(','),
      drives: this.drives.list.map((d) => `${d.id}:${d.image.format}:${d.size}${d.readOnly ? ':ro' : ''}`).join(','),
      qmp: this.#listeners.map((l) => (l.endpoint.kind === 'unix' ? `unix:${l.endpoint.path}` : `tcp:${l.endpoint.host}:${l.endpoint.port}`)).join(' '),
    });
  }

  async #serveMetrics({ host, port }: { host: string; port: number }): Promise<void> {
    const metrics = new MigrationMetrics(
      {
        queryMigrate: () => queryMigrate(this.#migrateControl()) as never,
        progress: () => this.outgoing.queryProgress(),
        outgoing: this.outgoing.state,
        incoming: this.incoming.state,
      },
      { guestName: this.config.name, version: VERSION.package.replace(/^mig /, ''), qemuVersion: `${VERSION.qemu.major}.${VERSION.qemu.minor}.${VERSION.qemu.micro}` },
    );
    try {
      this.#metrics = await MetricsServer.listen(metrics, host, port);
    } catch (err) {
      throw new Error(`-metrics tcp:${host}:${port}: ${(err as Error).message}`, { cause: err });
    }
    this.log.info('metrics', { url: this.#metrics.url });
  }

  /**
   * How guest RAM is faulted in ahead of use. A target will receive all of it: it allocates every page before
   * it listens (QEMU's prealloc=on; `prealloc=off` on the backend opts out). A source maps the cached pages of
   * its RAM file in the background. Anonymous RAM of a source is left alone (untouched pages read as zero).
   */
  async #populateRam(): Promise<void> {
    const backend = this.config.backends.find((b) => b.id === this.config.memoryBackendId);
    const prealloc = backend?.prealloc ?? this.config.incoming !== undefined;
    const mode = prealloc ? 'write' : backend?.kind === 'file' && backend.share ? 'read' : undefined;
    if (this.vm.ram.length === 0 || mode === undefined) return;
    const handles = this.vm.ram.map((b) => ({ address: b.memory.address, size: b.memory.size }));
    const worker = new Worker(new URL('./guest/populate-worker.js', import.meta.url), { workerData: { handles, mode } });
    const done = new Promise<void>((resolve) => {
      worker.once('message', (m: { ok: boolean; ms: number }) => {
        if (m.ok) this.log.info(`guest RAM faulted in (${mode})`, { ms: m.ms });
        else this.log.warn('guest RAM could not be faulted in ahead (kernel older than 5.14?): it faults in on use');
        resolve();
      });
      worker.once('error', (err) => {
        this.log.warn(`guest RAM populate failed: ${err.message}`);
        resolve();
      });
    });
    if (prealloc) await done;
    else worker.unref();
  }

  /** `quit`, SIGTERM, SIGINT: SHUTDOWN, then exit. An outgoing migration is cancelled first. */
  async shutdown(reason: 'host-qmp-quit' | 'host-signal'): Promise<void> {
    this.outgoing.cancel();
    this.incoming.cancel();
    await this.workload.close();
    await this.diskWorkloads.close();
    await this.drives.close().catch((err: unknown) => this.log.error(`drives not closed cleanly: ${(err as Error).message}`));
    this.qmp.emit('SHUTDOWN', { guest: false, reason });
    // closes the listeners and disconnects the clients together: a listener alone waits for its clients to
    // leave, and a client waiting for the exit would hold the daemon until it gave up
    await this.qmp.close();
    await this.#metrics?.close();
    this.descriptors.closeAll();
    this.exit(0);
  }

  /** What the migrate commands (and the metrics) see of this daemon. */
  #migrateControl(): MigrateControl {
    return {
      outgoing: this.outgoing,
      incoming: this.incoming,
      vm: this.vm,
      blockers: this.blockers,
      incomingArg: this.config.incoming,
      settings: this.settings,
      descriptors: {
        outgoing: (ctx) => outgoingDescriptors(this.descriptors, ctx),
        incoming: (ctx) => incomingDescriptors(this.descriptors, ctx),
      },
    };
  }

  /** The QMP commands, one module per group under qmp/, each given only what it needs. */
  private handlers(): QmpHandlers {
    const migrate = this.#migrateControl();
    return {
      ...versionHandlers(),
      ...runStateHandlers({ vm: this.vm, quit: () => void this.shutdown('host-qmp-quit'), drain: () => this.diskWorkloads.idle() }),
      ...migrateHandlers(migrate),
      ...fdHandlers(this.descriptors),
      ...objectHandlers(this.objects),
      ...settingsHandlers({ settings: this.settings, outgoing: this.outgoing }),
      ...memoryHandlers({ readPhysical: (a, n) => this.vm.readPhysical(a, n), writePhysical: (a, b) => this.writePhysical(a, b) }),
      ...workloadHandlers({ workload: this.workload, ramSize: this.vm.ramSize }),
      ...hmpHandlers({
        runstate: () => this.vm.runstate,
        queryMigrate: () => queryMigrate(migrate),
        qemuIo: (rest) => qemuIoMonitorCommand(rest, this.drives),
      }),
      ...blockHandlers({ drives: this.drives }),
      ...diskWorkloadHandlers({ workloads: this.diskWorkloads }),
    };
  }

  /** Writes `bytes` at guest-physical `address` as the guest would: data first, then the pages' dirty bits. */
  writePhysical(address: number, bytes: Uint8Array): void {
    const parts = this.vm.readPhysical(address, bytes.length); // checks the whole range first
    let at = 0;
    for (const part of parts) {
      part.set(bytes.subarray(at, at + part.length));
      at += part.length;
    }
    let cursor = address;
    const end = address + bytes.length;
    while (cursor < end) {
      const i = this.vm.ram.findIndex((b) => cursor >= b.guestAddress && cursor < b.guestAddress + b.memory.size);
      const block = this.vm.ram[i]!;
      const length = Math.min(end - cursor, block.guestAddress + block.memory.size - cursor);
      this.dirty[i]!.markRange(cursor - block.guestAddress, length);
      cursor += length;
    }
  }
}
