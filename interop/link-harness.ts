// Migrations between two test hosts (network namespaces on a shaped veth link) that a fault strikes at a
// seeded moment of a chosen phase: the link cut by the proxy on the target host, or kill -9 of one end. What
// every case then checks: the source ends failed and its guest runs on with its RAM (and disk) as the guest
// left them, the target never runs the guest, and a retry over a healthy link completes with equal hashes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import {
  createBlankDisk, createRawDisk, createTestHosts, fillRamFile, launchVm, sha256Disk, sha256File, startLinkProxy, startMigration,
  tmpDir, type DriveSpec, type LinkProxy, type QueryMigrateReply, type TestHosts, type Vm, type VmKind,
} from '@mig/test-helpers';

export const MiB = 1 << 20;
export type Phase = 'setup' | 'bulk' | 'iteration' | 'switchover';

/** The link's rate while a fault is aimed: slow enough that every phase lasts long enough to hit. */
export const SHAPED_MBIT = 80;
/** Inside the target host: the target listens here, the proxy in front of it there, a retry's target on the third. */
export const PORTS = { target: 4444, proxy: 4445, retry: 4446 } as const;
/** The setup part of the stream (header, configuration, the RAM section's block list) is longer than this. */
export const SETUP_BYTES = 48;
/** The guest's workload writes only this window of its RAM (the rest must stay as the file was). */
export const WORKLOAD = { offset: 8 * MiB, wss: 8 * MiB, rate: '8M/s' } as const;
/**
 * Guest RAM: half of it data (the rest zero pages), so a pass over it takes about two seconds on the shaped link
 * (a mig source runs some MiB ahead of what the link has carried: the bulk moments stay well before its end).
 */
export const RAM_MIB = 32;

export interface FaultCase {
  src: VmKind;
  dst: VmKind;
  phase: Phase;
  seed: number;
  /** A 32 MiB raw disk (half of it zero) migrated with blk beside the RAM. */
  blk?: boolean;
}

/** A seeded stream of numbers in [0, 1) (mulberry32): the same moments on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whether this case runs a guest workload on the source (the phases that need passes). */
export const withWorkload = (c: FaultCase): boolean => c.phase === 'iteration' || c.phase === 'switchover';

export interface Ends {
  readonly c: FaultCase;
  readonly hosts: TestHosts;
  readonly dir: string;
  readonly ramMiB: number;
  readonly ramFile: string;
  /** sha256 of the RAM file as filled, and of the ranges the workload never writes. */
  readonly ramHash: string;
  readonly untouched: readonly { offset: number; length: number; sha: string }[];
  readonly srcDrives: readonly DriveSpec[];
  readonly diskHash: string | undefined;
  /** migrate-set-parameters for the targets before they listen. */
  readonly targetParameters: Record<string, number> | undefined;
  source: Vm;
  target: Vm;
  /** The retry's target, launched with the others (on PORTS.retry) so that the retry need not wait for it. */
  retryTarget: Vm;
}

/** Hosts shaped at SHAPED_MBIT, the RAM file (and disk), the target listening and the source running. */
export async function setUpEnds(c: FaultCase, targetParameters?: Record<string, number>): Promise<Ends> {
  const hosts = await createTestHosts({ rateMbit: SHAPED_MBIT });
  const dir = await tmpDir(`mig-link-${c.src}-${c.dst}-${c.phase}-`);
  const ramMiB = RAM_MIB;
  const ramFile = join(dir, 'src.ram');
  await fillRamFile(ramFile, ramMiB * MiB, { seed: c.seed, zeroFraction: 0.5 });
  const bytes = await readFile(ramFile);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const untouched = [
    { offset: 0, length: WORKLOAD.offset },
    { offset: WORKLOAD.offset + WORKLOAD.wss, length: bytes.length - WORKLOAD.offset - WORKLOAD.wss },
  ].map((r) => ({ ...r, sha: sha(bytes.subarray(r.offset, r.offset + r.length)) }));
  const srcDrives: DriveSpec[] = [];
  let diskHash: string | undefined;
  if (c.blk === true) {
    const file = join(dir, 'd0-src.raw');
    await createRawDisk(file, 32 * MiB, { seed: c.seed + 1, zeroFraction: 0.5 });
    srcDrives.push({ id: 'd0', file, format: 'raw' });
    diskHash = await sha256File(file);
  }
  const base = { c, hosts, dir, ramMiB, ramFile, ramHash: sha(bytes), untouched, srcDrives, diskHash, targetParameters };
  const [target, retryTarget, source] = await Promise.all([launchTarget(base, PORTS.target), launchTarget(base, PORTS.retry), launchSource(base)]);
  return { ...base, target, retryTarget, source };
}

export async function launchSource(e: Pick<Ends, 'c' | 'hosts' | 'dir' | 'ramMiB' | 'ramFile' | 'srcDrives'>): Promise<Vm> {
  const workload = withWorkload(e.c)
    ? ['-workload', `dirty-rate=${WORKLOAD.rate},wss=${WORKLOAD.wss / MiB}M,offset=${WORKLOAD.offset / MiB}M,pattern=random`]
    : [];
  return launchVm({
    kind: e.c.src, ramMiB: e.ramMiB, ramFile: e.ramFile, drives: e.srcDrives, wrap: e.hosts.src.wrap,
    dir: await tmpDir('mig-link-src-'), name: 'source', extraArgs: workload,
  });
}

/**
 * A target on the target host listening on `port`, with a blank disk of its own for blk cases. With
 * `targetParameters` it starts with `-incoming defer`, takes them, then listens: mig reads x-stall-timeout when
 * the incoming migration starts, so parameters set after `-incoming URI` would come too late.
 */
export async function launchTarget(e: Pick<Ends, 'c' | 'hosts' | 'dir' | 'ramMiB' | 'targetParameters'>, port: number): Promise<Vm> {
  const drives: DriveSpec[] = [];
  if (e.c.blk === true) {
    const file = join(e.dir, `d0-dst-${port}.raw`);
    await createBlankDisk(file, 32 * MiB, 'raw');
    drives.push({ id: 'd0', file, format: 'raw' });
  }
  const uri = `tcp:${e.hosts.dst.address}:${port}`;
  const vm = await launchVm({
    kind: e.c.dst, ramMiB: e.ramMiB, drives, wrap: e.hosts.dst.wrap, dir: await tmpDir('mig-link-dst-'),
    name: `target-${port}`, incoming: e.targetParameters === undefined ? uri : 'defer',
  });
  if (e.targetParameters !== undefined) {
    await vm.qmp.execute('migrate-set-parameters', e.targetParameters);
    await vm.qmp.execute('migrate-incoming', { uri });
  }
  return vm;
}

export async function startProxy(e: Ends): Promise<LinkProxy> {
  return startLinkProxy(e.hosts.dst, { listenPort: PORTS.proxy, targetHost: e.hosts.dst.address, targetPort: PORTS.target });
}

export interface Moment {
  /** Wait until `n` stream bytes are out (a proxy hold is exact; polling the source's count lags by a poll). */
  onBytes: (n: number) => Promise<void>;
  now: () => Promise<void>;
  /** The bulk moment is in [1 MiB, 1 MiB + this). Default 8 MiB, well before the end of the first pass. */
  bulkSpan?: number;
}

/**
 * Starts the migration (to `uri`) and waits until the source is in the case's phase: for setup and bulk the
 * moment is a seeded byte count (`onBytes` arms it, e.g. a proxy hold; or polling the source's count); for
 * iteration, a seeded pass (≥ 2) and delay; for switchover, the guest stopped for it (runstate finish-migrate)
 * and a seeded delay. Returns when the moment has come; the caller strikes.
 */
export async function approach(e: Ends, uri: string, moment: Moment): Promise<void> {
  const rnd = seeded(e.c.seed * 7 + 3);
  const passes = withWorkload(e.c);
  const started = startMigration(e.source, uri, { ...(e.c.blk === true ? { blk: true } : {}), ...(passes ? { downtimeLimitMs: 1 } : {}) });
  if (e.c.phase === 'setup') return moment.onBytes(Math.floor(rnd() * SETUP_BYTES)).finally(() => started);
  if (e.c.phase === 'bulk') return moment.onBytes(Math.floor(MiB + rnd() * (moment.bulkSpan ?? 8 * MiB))).finally(() => started);
  await started;
  await waitFor(e.source, async () => ((await query(e.source)).ram?.['dirty-sync-count'] ?? 0) >= 2 + Math.floor(rnd() * 2));
  if (e.c.phase === 'iteration') {
    await sleep(Math.floor(rnd() * 300));
    return moment.now();
  }
  // a downtime limit the next pass fits in: the source stops its guest and sends the rest, at the link's rate
  await e.source.qmp.execute('migrate-set-parameters', { 'downtime-limit': 10_000 });
  await waitFor(e.source, async () => (await e.source.runState()) === 'finish-migrate', 5);
  await sleep(Math.floor(rnd() * 40));
  return moment.now();
}

export async function query(vm: Vm): Promise<QueryMigrateReply> {
  return (await vm.qmp.execute('query-migrate')) as QueryMigrateReply;
}

/** Polls `cond` (every `everyMs`) until it holds; fails if the migration ended first. */
export async function waitFor(vm: Vm, cond: () => Promise<boolean>, everyMs = 20, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    const q = await query(vm);
    if (q.status === 'completed' || q.status === 'failed' || q.status === 'cancelled') {
      throw new Error(`the migration ended (${q.status}) before the moment came: ${JSON.stringify(q)}`);
    }
    if (Date.now() > deadline) throw new Error(`the moment did not come within ${timeoutMs} ms: ${JSON.stringify(q)}`);
    await sleep(everyMs);
  }
}

export interface Observation {
  phase: Phase;
  status: string;
  runstate: string;
  passes: number;
  /** Stream bytes the target got before the fault (the proxy's count), when known. */
  bytes?: number;
  disk?: QueryMigrateReply['disk'];
}

/** Where the source is, from what it reports (and how far into the stream the target got). */
export async function observe(source: Vm, bytes?: number): Promise<Observation> {
  const q = await query(source);
  const runstate = await source.runState();
  const passes = q.ram?.['dirty-sync-count'] ?? 0;
  let phase: Phase = passes >= 2 ? 'iteration' : 'bulk';
  if (bytes !== undefined && bytes < SETUP_BYTES) phase = 'setup';
  if (runstate === 'finish-migrate') phase = 'switchover';
  return { phase, status: q.status ?? '', runstate, passes, ...(bytes !== undefined ? { bytes } : {}), ...(q.disk ? { disk: q.disk } : {}) };
}

/** The source ended failed, saying why, and its guest runs on. */
export async function expectSourceFailedAndRunning(source: Vm): Promise<QueryMigrateReply> {
  const reply = await source.waitForMigration(undefined, 60_000);
  expect(reply.status, JSON.stringify(reply)).toBe('failed');
  expect(reply['error-desc'] ?? '').not.toBe('');
  expect(await source.runState()).toBe('running');
  return reply;
}

/**
 * The target never runs the guest: a mig target ends failed and stays `inmigrate`; QEMU 7.2 exits non-zero
 * (it quits when an incoming migration fails) or, until it does, is not running.
 */
export async function expectTargetNeverRan(target: Vm): Promise<void> {
  if (target.kind === 'qemu') {
    const end = await Promise.race([target.exited, sleep(30_000).then(() => undefined)]);
    if (end !== undefined) {
      expect(end.code, target.stderr).not.toBe(0);
      expect(target.stderr).toMatch(/load of migration failed/);
      return;
    }
  } else {
    const reply = await target.waitForMigration(['failed', 'completed', 'cancelled'], 60_000);
    expect(reply.status, JSON.stringify(reply)).toBe('failed');
  }
  expect(await target.runState()).not.toBe('running');
}

/** RAM (and disk) as the guest left them: the whole RAM as filled, or, with a workload, the ranges it never writes. */
export async function expectRamIntact(e: Ends, vm: Vm): Promise<void> {
  if (!withWorkload(e.c)) {
    expect(await vm.hashRam()).toBe(e.ramHash);
  } else {
    for (const r of e.untouched) expect(await hashRange(vm, r.offset, r.length), `RAM [${r.offset}, +${r.length})`).toBe(r.sha);
  }
  if (e.diskHash !== undefined) expect(await sha256Disk(e.srcDrives[0]!.file, 'raw')).toBe(e.diskHash);
}

async function hashRange(vm: Vm, offset: number, length: number): Promise<string> {
  const file = join(vm.dir, `range-${offset}-${Date.now()}.bin`);
  await vm.qmp.execute('pmemsave', { val: offset, size: length, filename: file });
  return sha256File(file);
}

/**
 * The retry over a healthy link: unshaped, the fresh target on the retry port, migrate straight to it (no proxy);
 * both ends complete with equal RAM (and disk) hashes. Returns the RAM hash.
 */
export async function retry(e: Ends, source: Vm): Promise<string> {
  await e.hosts.unshape();
  const target = e.retryTarget;
  // a workload case had a 1 ms downtime limit (no switchover); QEMU's default is back for the retry
  await startMigration(source, `tcp:${e.hosts.dst.address}:${PORTS.retry}`, {
    ...(e.c.blk === true ? { blk: true } : {}), ...(withWorkload(e.c) ? { downtimeLimitMs: 300 } : {}),
  });
  const [s, t] = [await source.waitForMigration(undefined, 120_000), await target.waitForMigration(undefined, 120_000)];
  expect([s.status, t.status], `${JSON.stringify(s)} ${JSON.stringify(t)}`).toEqual(['completed', 'completed']);
  expect(await target.runState()).toBe('running');
  const hash = await source.hashRam();
  expect(await target.hashRam()).toBe(hash);
  if (!withWorkload(e.c)) expect(hash).toBe(e.ramHash);
  if (e.c.blk === true) {
    await target.quit();
    expect(await sha256Disk(target.drives[0]!.file, 'raw')).toBe(e.diskHash);
  }
  return hash;
}
