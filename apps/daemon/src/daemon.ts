// mig-daemon assembled: the guest, its QMP server, and the migrations in and out. Wiring only: the logic
// lives in the packages and in the migration controllers.
import fs from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { Blockers } from '@mig/core';
import { DirtyBitmap, PAGE_SIZE } from '@mig/ram';
import { QmpError, QmpServer, type QmpHandlers, type QmpListener } from '@mig/qmp';
import type { DaemonConfig } from './cli/args.js';
import { setUpGuestRam } from './guest/memory-setup.js';
import { Vm } from './guest/vm.js';
import { Workload } from './guest/workload.js';
import { completeWorkload, WorkloadConfigError, type WorkloadConfig } from './guest/workload-config.js';
import type { Logger } from './log.js';
import { IncomingMigration } from './migration/incoming.js';
import { OutgoingMigration } from './migration/outgoing.js';
import { MigrationSettings } from './migration/settings.js';
import type { WorkerRamBlock } from './migration/protocol.js';

const VERSION = { qemu: { major: 7, minor: 2, micro: 0 }, package: 'mig 0.1.0' };

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
  #listeners: QmpListener[] = [];

  constructor(
    readonly config: DaemonConfig,
    private readonly log: Logger,
    private readonly exit: (code: number) => void,
  ) {
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
    this.qmp = new QmpServer({
      handlers: this.handlers(),
      greeting: VERSION,
      log: (level, message, err) => this.log[level === 'warn' ? 'warn' : 'error'](message, err === undefined ? undefined : { cause: String(err) }),
    });
    this.outgoing = new OutgoingMigration(this.vm, config.machine, workerRam, this.settings, log, {
      onPass: (pass) => {
        if (this.settings.capability('events')) this.qmp.emit('MIGRATION_PASS', { pass });
      },
      onThrottle: (percent) => this.workload.setThrottle(percent),
      onNotConverging: (r) =>
        this.qmp.emit('X_MIG_NOT_CONVERGING', { pass: r.pass, remaining: r.remaining, 'dirty-rate': r['dirty-rate'], bandwidth: r.bandwidth, advice: r.advice }),
    });
    this.outgoing.guestDirty = this.dirty.map((d) => d.words.buffer as SharedArrayBuffer);
    this.incoming = new IncomingMigration(this.vm, config.machine, workerRam, log);
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
    this.vm.on('STOP', () => this.qmp.emit('STOP'));
    this.vm.on('RESUME', () => this.qmp.emit('RESUME'));
  }

  async start(): Promise<void> {
    await this.#populateRam();
    // As QEMU: the incoming listener is up before QMP answers, so a harness that sees QMP can migrate at once.
    if (this.config.incoming !== undefined && this.config.incoming !== 'defer') {
      await this.incoming.start(this.config.incoming);
    }
    for (const endpoint of this.config.qmp) this.#listeners.push(await this.qmp.listen(endpoint));
    this.log.info('ready', {
      runstate: this.vm.runstate,
      ram: this.vm.ram.map((b) => `${b.idstr}:${b.memory.size}`).join(','),
      qmp: this.#listeners.map((l) => (l.endpoint.kind === 'unix' ? `unix:${l.endpoint.path}` : `tcp:${l.endpoint.host}:${l.endpoint.port}`)).join(' '),
    });
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
    this.qmp.emit('SHUTDOWN', { guest: false, reason });
    await Promise.all(this.#listeners.map((l) => l.close()));
    this.qmp.close();
    this.exit(0);
  }

  private handlers(): QmpHandlers {
    const vm = () => this.vm;
    return {
      'query-version': () => VERSION,
      'query-status': () => ({ status: vm().runstate, running: vm().running, singlestep: false }),
      stop: () => {
        if (vm().runstate === 'inmigrate') vm().autostart = false;
        else if (vm().running) vm().stop('paused');
      },
      cont: () => {
        const state = vm().runstate;
        if (state === 'inmigrate') {
          vm().autostart = true;
          return;
        }
        if (state === 'finish-migrate') {
          throw new QmpError('GenericError', 'Migration is not finalized yet');
        }
        vm().start();
      },
      quit: () => {
        setImmediate(() => void this.shutdown('host-qmp-quit'));
      },
      migrate: (args) => {
        if (args.blk || args.inc) {
          throw new QmpError('GenericError', 'Block migration (blk/inc) is not supported by mig yet');
        }
        if (args.resume) throw new QmpError('GenericError', 'Postcopy resume is not supported by mig');
        if (this.incoming.status !== 'none' && this.vm.runstate === 'inmigrate') {
          throw new QmpError('GenericError', 'Guest is waiting for an incoming migration');
        }
        try {
          this.blockers.check();
        } catch (err) {
          throw new QmpError('GenericError', (err as Error).message);
        }
        this.outgoing.start(args.uri);
      },
      'migrate-incoming': async (args) => {
        if (this.config.incoming !== 'defer') {
          throw new QmpError('GenericError', "'-incoming' was not specified on the command line");
        }
        try {
          await this.incoming.start(args.uri);
        } catch (err) {
          throw new QmpError('GenericError', (err as Error).message);
        }
      },
      migrate_cancel: () => {
        this.outgoing.cancel();
      },
      'query-migrate': () => (this.incoming.status !== 'none' ? this.incoming.queryMigrate() : this.outgoing.queryMigrate(this.blockers.list())) as never,
      'migrate-set-capabilities': (args) => {
        this.settings.setCapabilities(args.capabilities, this.outgoing.status);
      },
      'query-migrate-capabilities': () => this.settings.queryCapabilities() as never,
      'migrate-set-parameters': (args) => {
        this.settings.setParameters(args as Record<string, unknown>);
        this.outgoing.parametersChanged();
      },
      'query-migrate-parameters': () => this.settings.queryParameters() as never,
      migrate_set_speed: (args) => {
        this.settings.setSpeed(args.value);
        this.outgoing.parametersChanged();
      },
      migrate_set_downtime: (args) => {
        this.settings.setDowntime(args.value);
        this.outgoing.parametersChanged();
      },
      'migrate-set-cache-size': (args) => {
        this.settings.setCacheSize(args.value);
        this.outgoing.parametersChanged();
      },
      'query-migrate-cache-size': () => this.settings.cacheSize,
      pmemsave: async (args) => {
        let parts: Uint8Array[];
        try {
          parts = vm().readPhysical(args.val, args.size);
        } catch (err) {
          throw new QmpError('GenericError', `pmemsave: ${(err as Error).message}`);
        }
        const file = await fs.open(args.filename, 'w').catch((err: Error) => {
          throw new QmpError('GenericError', `Could not open '${args.filename}': ${err.message}`);
        });
        try {
          for (const part of parts) {
            for (let offset = 0; offset < part.length; offset += 64 << 20) {
              await file.write(part.subarray(offset, Math.min(part.length, offset + (64 << 20))));
            }
          }
        } finally {
          await file.close();
        }
      },
      'x-mig-workload': (args) => {
        const current = this.workload.config;
        const rate = args['dirty-rate'] ?? current?.dirtyRate;
        if (args.action === 'stop') {
          this.workload.stop();
          return;
        }
        if (rate === undefined) throw new QmpError('GenericError', "x-mig-workload: give 'dirty-rate' (bytes of pages per second) first");
        const next: Partial<WorkloadConfig> & { dirtyRate: number } = { ...current, dirtyRate: rate };
        if (args.wss !== undefined) next.wss = args.wss;
        if (args.offset !== undefined) next.offset = args.offset;
        if (args.pattern !== undefined) next.pattern = args.pattern;
        try {
          this.workload.configure(completeWorkload(next, this.vm.ramSize));
        } catch (err) {
          if (err instanceof WorkloadConfigError) throw new QmpError('GenericError', `x-mig-workload: ${err.message}`);
          throw err;
        }
        if (args.action === 'start') this.workload.start();
      },
      'x-mig-query-workload': () => this.workload.info(),
      'x-mig-write': (args) => {
        const bytes = decodeWriteData(args.data, args.encoding ?? 'base64');
        try {
          this.writePhysical(args.address, bytes);
        } catch (err) {
          throw new QmpError('GenericError', `x-mig-write: ${(err as Error).message}`);
        }
      },
      'x-mig-query-progress': () =>
        this.outgoing.queryProgress() ?? {
          status: this.outgoing.status, percent: 0, 'eta-ms': null, remaining: 0, 'remaining-min': 0, threshold: 0,
          'dirty-rate': 0, bandwidth: 0, 'stalled-syncs': 0, converging: true, pass: 0, throttle: 0, advice: [],
        },
      'human-monitor-command': (args) => {
        const line = args['command-line'].trim();
        if (line === 'info status') return `VM status: ${vm().runstate}\r\n`;
        if (line === 'info migrate') return `${JSON.stringify(this.handlers()['query-migrate']({}, undefined as never))}\r\n`;
        return `unknown command: '${line.split(/\s+/)[0] ?? ''}'\r\n`;
      },
    } satisfies QmpHandlers;
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

/** x-mig-write's `data`: base64 (default) or hex, checked strictly. */
export function decodeWriteData(data: string, encoding: 'base64' | 'hex'): Uint8Array {
  if (data.length === 0) throw new QmpError('GenericError', "x-mig-write: 'data' is empty");
  if (encoding === 'hex') {
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(data)) throw new QmpError('GenericError', "x-mig-write: 'data' is not hex (an even number of 0-9a-f digits)");
    return Buffer.from(data, 'hex');
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data) || data.length % 4 !== 0) {
    throw new QmpError('GenericError', "x-mig-write: 'data' is not base64 (or give encoding 'hex')");
  }
  return Buffer.from(data, 'base64');
}
