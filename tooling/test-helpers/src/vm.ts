// Launch QEMU 7.2 or mig-daemon with the same QEMU-shaped argv, and drive it over QMP.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QmpClient } from '@mig/qmp';
import { onCleanup, trackProcess } from './cleanup.js';
import { sha256File, tmpDir } from './files.js';
import { migDaemonPath } from './paths.js';
import { QEMU_BINARY } from './qemu.js';

export type VmKind = 'qemu' | 'mig';

/** One `-drive if=none` backend: QEMU names its BlockBackend (and the block stream's device) after `id`. */
export interface DriveSpec {
  id: string;
  file: string;
  format: 'raw' | 'qcow2';
  /** `readonly=on`: QEMU's block migration skips such drives on the source. */
  readOnly?: boolean;
}

export interface LaunchOptions {
  kind: VmKind;
  /** Guest RAM size in MiB (`-m`). */
  ramMiB: number;
  /** Back RAM by this file (memory-backend-file, share=on); otherwise memory-backend-ram. */
  ramFile?: string;
  /** Memory backend id, which is also the RAMBlock idstr in the stream. Default `mem0`. */
  backendId?: string;
  /** `-incoming` value: a migration URI or `defer`. */
  incoming?: string;
  /** Start with `-S`. */
  paused?: boolean;
  /** Plain `-m` without a memory backend: QEMU names the RAMBlock `ram` (ramFile and backendId are ignored). */
  plainRam?: boolean;
  /** Disks, each as `-drive if=none,id=ID,file=F,format=FMT[,readonly=on]` after the common arguments. */
  drives?: readonly DriveSpec[];
  /** Appended verbatim after the common arguments (and the drives). */
  extraArgs?: string[];
  /** `-name`. */
  name?: string;
  /** Directory for the QMP socket and pmemsave dumps; default a fresh tmpDir(). */
  dir?: string;
  /** How long to wait for the QMP socket to answer. Default 20 s. */
  startTimeoutMs?: number;
  /** Descriptors the process inherits, as its descriptors 3, 4, ... in this order (for `-incoming fd:3`). */
  inheritFds?: readonly number[];
  /**
   * Run the program under this argv prefix, e.g. a test host's `['ip', 'netns', 'exec', NS]` (which execs in
   * place: the process is still the VM, so kill() reaches it). The QMP socket stays a unix path in `dir`.
   */
  wrap?: readonly string[];
}

/** query-migrate's reply (QEMU 7.2 shape; fields beyond status vary by state). */
export interface QueryMigrateReply {
  status?: string;
  'error-desc'?: string;
  'total-time'?: number;
  downtime?: number;
  ram?: Record<string, number>;
  /** Present while a block migration runs (QEMU drops it once the block state is cleaned up). */
  disk?: { transferred: number; remaining: number; total: number };
  [key: string]: unknown;
}

export const TERMINAL_MIGRATION_STATUSES: readonly string[] = ['completed', 'failed', 'cancelled'];

export interface Vm {
  readonly kind: VmKind;
  readonly argv: readonly string[];
  readonly qmp: QmpClient;
  readonly proc: ChildProcess;
  readonly dir: string;
  readonly qmpPath: string;
  readonly ramBytes: number;
  /** The drives it was launched with. */
  readonly drives: readonly DriveSpec[];
  /** Everything the process wrote to stderr so far. */
  readonly stderr: string;
  /** Everything it wrote to stdout so far (QEMU prints a block-migration target's progress there). */
  readonly stdout: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** QMP `quit`, wait for exit (SIGKILL after 5 s). */
  quit(): Promise<void>;
  /** sha256 of `pmemsave` of the whole guest RAM. */
  hashRam(): Promise<string>;
  /** Poll query-migrate until its status is one of `statuses`; returns that reply. */
  waitForMigration(statuses?: readonly string[], timeoutMs?: number): Promise<QueryMigrateReply>;
  /** query-status's `status` string. */
  runState(): Promise<string>;
}

export class VmStartError extends Error {
  constructor(message: string, readonly stderr: string) {
    super(stderr === '' ? message : `${message}\n--- stderr ---\n${stderr.slice(-4000)}`);
    this.name = 'VmStartError';
  }
}

export class MigrationWaitError extends Error {
  constructor(message: string, readonly lastReply: QueryMigrateReply | undefined) {
    super(`${message}; last query-migrate: ${JSON.stringify(lastReply)}`);
    this.name = 'MigrationWaitError';
  }
}

/** The argv both QEMU and mig-daemon get (without the executable). */
export function vmArgv(opts: LaunchOptions, qmpPath: string): string[] {
  if (!Number.isInteger(opts.ramMiB) || opts.ramMiB <= 0) {
    throw new RangeError(`launchVm: ramMiB must be a positive integer, got ${opts.ramMiB}`);
  }
  const id = opts.backendId ?? 'mem0';
  const size = `${opts.ramMiB}M`;
  const backend =
    opts.ramFile !== undefined
      ? `memory-backend-file,id=${id},size=${size},mem-path=${opts.ramFile},share=on`
      : `memory-backend-ram,id=${id},size=${size}`;
  const ramArgs = opts.plainRam === true
    ? ['-machine', 'none', '-m', size]
    : ['-machine', `none,memory-backend=${id}`, '-m', size, '-object', backend];
  const argv = [
    ...ramArgs,
    '-nodefaults',
    '-display', 'none',
    '-qmp', `unix:${qmpPath},server=on,wait=off`,
  ];
  if (opts.name !== undefined) argv.push('-name', opts.name);
  if (opts.paused === true) argv.push('-S');
  if (opts.incoming !== undefined) argv.push('-incoming', opts.incoming);
  for (const d of opts.drives ?? []) argv.push('-drive', driveArg(d));
  if (opts.extraArgs !== undefined) argv.push(...opts.extraArgs);
  return argv;
}

// QEMU's id rule; at most 255 because the block stream carries the name after a one-byte length.
const DRIVE_ID = /^[A-Za-z][A-Za-z0-9_.-]{0,254}$/;

/** `if=none,id=ID,file=F,format=FMT[,readonly=on]`; a comma in the path is doubled, as QEMU's option syntax wants. */
export function driveArg(d: DriveSpec): string {
  if (!DRIVE_ID.test(d.id)) {
    throw new RangeError(`launchVm: drive id must start with a letter and hold only letters, digits, '-', '_', '.' (at most 255), got '${d.id}'`);
  }
  if (d.format !== 'raw' && d.format !== 'qcow2') throw new RangeError(`launchVm: drive ${d.id}: format must be raw or qcow2, got '${String(d.format)}'`);
  if (d.file === '') throw new RangeError(`launchVm: drive ${d.id}: file is empty`);
  const ro = d.readOnly === true ? ',readonly=on' : '';
  return `if=none,id=${d.id},file=${d.file.replaceAll(',', ',,')},format=${d.format}${ro}`;
}

const STDERR_CAP = 1 << 20;

/** Spawn QEMU or mig-daemon, wait until QMP answers, and register it for cleanupAll(). */
export async function launchVm(opts: LaunchOptions): Promise<Vm> {
  const dir = opts.dir ?? (await tmpDir(`mig-${opts.kind}-`));
  const qmpPath = join(dir, `qmp-${opts.kind}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.sock`);
  const argv = vmArgv(opts, qmpPath);
  const [program, programArgs] =
    opts.kind === 'qemu' ? [QEMU_BINARY, argv] : [process.execPath, [migDaemonPath(), ...argv]];
  const wrap = opts.wrap ?? [];
  const [cmd, cmdArgs] = wrap.length > 0 ? [wrap[0]!, [...wrap.slice(1), program, ...programArgs]] : [program, programArgs];
  if (opts.kind === 'mig' && !existsSync(join(migDaemonPath(), '..', '..', 'dist', 'main.js'))) {
    throw new VmStartError('launchVm: apps/daemon/dist/main.js is missing: run `pnpm build` first', '');
  }

  const proc = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe', ...(opts.inheritFds ?? [])] });
  trackProcess(proc);
  let stderr = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (s: string) => {
    if (stderr.length < STDERR_CAP) stderr += s;
  });
  let stdout = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (s: string) => {
    if (stdout.length < STDERR_CAP) stdout += s;
  });
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  const spawnError = new Promise<Error>((resolve) => proc.once('error', resolve));

  let qmp: QmpClient | undefined;
  const unregisterEarly = onCleanup(async () => {
    proc.kill('SIGKILL');
    await exited;
  });
  try {
    qmp = await connectQmp(qmpPath, opts.startTimeoutMs ?? 20_000, () => exitInfo, spawnError);
  } catch (err) {
    proc.kill('SIGKILL');
    await Promise.race([exited, sleep(2000)]);
    unregisterEarly();
    const what = `${opts.kind === 'qemu' ? QEMU_BINARY : 'mig-daemon'} ${argv.join(' ')}`;
    throw new VmStartError(`launchVm: ${what}: ${(err as Error).message}`, stderr);
  }
  unregisterEarly();
  const client = qmp;

  const kill = async (): Promise<void> => {
    if (exitInfo === undefined) proc.kill('SIGKILL');
    await exited;
    await closeQuietly(client);
  };
  const unregister = onCleanup(kill);

  const ramBytes = opts.ramMiB * 1024 * 1024;
  const vm: Vm = {
    kind: opts.kind,
    argv: [cmd, ...cmdArgs],
    qmp: client,
    proc,
    dir,
    qmpPath,
    ramBytes,
    drives: [...(opts.drives ?? [])],
    get stderr() {
      return stderr;
    },
    get stdout() {
      return stdout;
    },
    exited,
    async kill() {
      unregister();
      await kill();
    },
    async quit() {
      unregister();
      if (exitInfo === undefined) {
        try {
          await client.execute('quit');
        } catch {
          // the connection may close before the reply arrives
        }
        const t = await Promise.race([exited, sleep(5000).then(() => 'timeout' as const)]);
        if (t === 'timeout') proc.kill('SIGKILL');
      }
      await exited;
      await closeQuietly(client);
    },
    async hashRam() {
      const file = join(dir, `pmemsave-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.bin`);
      try {
        await client.execute('pmemsave', { val: 0, size: ramBytes, filename: file });
        return await sha256File(file);
      } finally {
        await unlink(file).catch(() => undefined);
      }
    },
    async waitForMigration(statuses = TERMINAL_MIGRATION_STATUSES, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      let last: QueryMigrateReply | undefined;
      for (;;) {
        if (exitInfo !== undefined) {
          throw new MigrationWaitError(
            `${opts.kind} exited (${JSON.stringify(exitInfo)}) while waiting for ${statuses.join('|')}\n${stderr.slice(-2000)}`,
            last,
          );
        }
        last = (await client.execute('query-migrate')) as QueryMigrateReply;
        if (last.status !== undefined && statuses.includes(last.status)) return last;
        if (Date.now() > deadline) {
          throw new MigrationWaitError(
            `${opts.kind}${opts.name !== undefined ? ` (${opts.name})` : ''}: timed out after ${timeoutMs} ms waiting for ${statuses.join('|')}\n--- stderr ---\n${stderr.slice(-2000)}`,
            last,
          );
        }
        await sleep(50);
      }
    },
    async runState() {
      const r = (await client.execute('query-status')) as { status: string };
      return r.status;
    },
  };
  return vm;
}

async function connectQmp(
  path: string,
  timeoutMs: number,
  exitInfo: () => { code: number | null; signal: NodeJS.Signals | null } | undefined,
  spawnError: Promise<Error>,
): Promise<QmpClient> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  let failed: Error | undefined;
  void spawnError.then((e) => (failed = e));
  for (;;) {
    if (failed !== undefined) throw new Error(`spawn failed: ${failed.message}`);
    const info = exitInfo();
    if (info !== undefined) throw new Error(`exited before QMP answered (code ${info.code}, signal ${info.signal})`);
    if (existsSync(path)) {
      try {
        return await QmpClient.connect({ kind: 'unix', path });
      } catch (err) {
        lastErr = err;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`QMP socket ${path} did not answer within ${timeoutMs} ms: ${String(lastErr ?? 'no socket')}`);
    }
    await sleep(25);
  }
}

async function closeQuietly(client: QmpClient): Promise<void> {
  try {
    await client.close();
  } catch {
    // already closed
  }
}
