// A hung peer (issue 11, part 3): a peer that stops (SIGSTOP) mid-migration is detected by mig's
// x-stall-timeout. A stopped target fails the mig source with a message saying so, its guest running and its
// RAM as it was; a stopped source fails a mig target, which never runs the guest; migrate_cancel ends a stalled
// migration at once; a slow but steady source is not taken for a stalled one. No workload runs, so RAM is
// comparable before and after.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanupVms, createRawDisk, fillRamFile, launchVm, onCleanup, QEMU_SKIP_MESSAGE, requireQemu, sha256File, tmpDir, type QueryMigrateReply, type Vm, type VmKind,
} from '@mig/test-helpers';

const MiB = 1024 * 1024;
const RAM_MIB = 128;
const STALL_MS = 2000;
/** What may come on top of the timeout: the check period (timeout / 4), a loaded machine, query polling. */
const SLACK_MS = 5000;
const hasQemu = requireQemu();

/** Processes this file stopped: continued before anything kills them. */
const stopped = new Set<Vm>();

function stop(vm: Vm): void {
  vm.proc.kill('SIGSTOP');
  stopped.add(vm);
}

function resume(vm: Vm): void {
  if (stopped.delete(vm)) vm.proc.kill('SIGCONT');
}

async function continueAndClean(): Promise<void> {
  for (const vm of [...stopped]) resume(vm);
  await cleanupVms();
}

/** A mig source on a filled RAM file (so its pages are real data), and its RAM's hash. */
async function filledSource(dir: string, ramMiB = RAM_MIB, zeroFraction = 0.2): Promise<{ source: Vm; before: string }> {
  const ramFile = join(dir, 'src.ram');
  await fillRamFile(ramFile, ramMiB * MiB, { seed: 11, zeroFraction });
  const source = await launchVm({ kind: 'mig', ramMiB, ramFile, dir, name: 'source' });
  return { source, before: await source.hashRam() };
}

/** Waits until the source has put `bytes` on the stream (mid-bulk). */
async function waitForTransferred(vm: Vm, bytes: number): Promise<QueryMigrateReply> {
  for (let i = 0; i < 600; i++) {
    const r = (await vm.qmp.execute('query-migrate')) as QueryMigrateReply;
    if ((r.ram?.transferred ?? 0) >= bytes || r.status === 'failed' || r.status === 'completed') return r;
    await sleep(20);
  }
  throw new Error(`the source did not reach ${bytes} transferred bytes`);
}

/** A target of `kind` listening on a unix socket in `dir`. */
async function target(kind: VmKind, dir: string, ramMiB = RAM_MIB): Promise<{ vm: Vm; uri: string }> {
  const uri = `unix:${join(dir, `${kind}-target.sock`)}`;
  return { vm: await launchVm({ kind, ramMiB, incoming: uri, dir, name: `${kind}-target` }), uri };
}

/** Stops the target mid-bulk and checks the mig source fails with the stall message, guest running, RAM unchanged. */
async function stopTargetMidBulk(kind: VmKind): Promise<void> {
  const dir = await tmpDir(`mig-hung-${kind}-`);
  const { source, before } = await filledSource(dir);
  const t = await target(kind, dir);
  await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 16 * MiB, 'x-stall-timeout': STALL_MS });
  await source.qmp.execute('migrate', { uri: t.uri });
  const mid = await waitForTransferred(source, 16 * MiB);
  expect(mid.status).toBe('active');
  stop(t.vm);
  const stoppedAt = performance.now();
  const end = await source.waitForMigration(undefined, STALL_MS + 10 * SLACK_MS);
  const tookMs = performance.now() - stoppedAt;
  expect(end.status).toBe('failed');
  expect(end['error-desc']).toMatch(/^migration stalled: the target accepted no data for \d+\.\d s \(x-stall-timeout 2000 ms\)$/);
  // never before the timeout (the socket buffers fill first, then silence is counted), never long after
  expect(tookMs).toBeGreaterThanOrEqual(STALL_MS);
  expect(tookMs).toBeLessThan(STALL_MS + SLACK_MS);
  expect(await source.runState()).toBe('running');
  expect(await source.hashRam()).toBe(before);
  // the transport is gone: the continued target finds its stream cut, and never runs the guest
  resume(t.vm);
  if (kind === 'qemu') {
    expect((await t.vm.exited).code).not.toBe(0); // QEMU 7.2 exits when its incoming migration fails
    return;
  }
  const tEnd = await t.vm.waitForMigration(['failed'], 30_000);
  expect(tEnd.status).toBe('failed');
  expect(await t.vm.runState()).not.toBe('running');
}

/**
 * A tcp listener that never takes another connection: a stopped process whose accept queue (backlog 1) is
 * full, so a connect's SYN goes unanswered, as over a blackholed link.
 */
async function deafListener(): Promise<{ uri: string; close: () => void }> {
  const script = `const s=require('net').createServer(()=>{});s.listen({host:'127.0.0.1',port:0,backlog:1},()=>console.log(s.address().port))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
  child.kill('SIGSTOP');
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const socket = net.connect({ host: '127.0.0.1', port });
    fillers.push(socket);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  }
  const close = (): void => {
    for (const f of fillers) f.destroy();
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  };
  const unregister = onCleanup(async () => close());
  return { uri: `tcp:127.0.0.1:${port}`, close: () => (unregister(), close()) };
}

describe('a hung peer (x-stall-timeout)', () => {
  afterEach(continueAndClean);

  it('mig → mig, the target SIGSTOPped mid-bulk: the source fails within the timeout, guest running, RAM unchanged', async () => {
    await stopTargetMidBulk('mig');
  });

  it('mig → mig with blk, the target SIGSTOPped in the disk bulk: the source fails, its guest, RAM and disk unchanged', async () => {
    const dir = await tmpDir('mig-hung-blk-');
    const size = 96 * MiB;
    const srcDisk = join(dir, 'src.raw');
    await createRawDisk(srcDisk, size, { seed: 12 });
    const diskBefore = await sha256File(srcDisk);
    const dstDisk = join(dir, 'dst.raw');
    await writeFile(dstDisk, '');
    await truncate(dstDisk, size);
    const source = await launchVm({ kind: 'mig', ramMiB: 16, drives: [{ id: 'd0', file: srcDisk, format: 'raw' }], dir, name: 'source' });
    const ramBefore = await source.hashRam();
    const uri = `unix:${join(dir, 'blk.sock')}`;
    const t = await launchVm({ kind: 'mig', ramMiB: 16, drives: [{ id: 'd0', file: dstDisk, format: 'raw' }], incoming: uri, dir, name: 'target' });
    await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 16 * MiB, 'x-stall-timeout': STALL_MS });
    await source.qmp.execute('migrate', { uri, blk: true });
    for (let i = 0; i < 600; i++) {
      const r = (await source.qmp.execute('query-migrate')) as QueryMigrateReply;
      if ((r.disk?.transferred ?? 0) > 16 * MiB) break;
      await sleep(20);
    }
    stop(t);
    const end = await source.waitForMigration(undefined, STALL_MS + 10 * SLACK_MS);
    expect(end.status).toBe('failed');
    expect(end['error-desc']).toMatch(/^migration stalled: the target accepted no data/);
    expect(await source.runState()).toBe('running');
    expect(await source.hashRam()).toBe(ramBefore);
    await source.quit(); // the image is closed and flushed before it is hashed
    expect(await sha256File(srcDisk)).toBe(diskBefore);
  });

  it('mig → mig, the source SIGSTOPped mid-bulk: the target fails with the stall message and never runs the guest', async () => {
    const dir = await tmpDir('mig-hung-src-');
    const { source } = await filledSource(dir);
    const uri = `unix:${join(dir, 'deferred.sock')}`;
    const t = await launchVm({ kind: 'mig', ramMiB: RAM_MIB, incoming: 'defer', dir, name: 'target' });
    await t.qmp.execute('migrate-set-parameters', { 'x-stall-timeout': STALL_MS });
    await t.qmp.execute('migrate-incoming', { uri });
    await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 16 * MiB });
    await source.qmp.execute('migrate', { uri });
    await waitForTransferred(source, 16 * MiB);
    stop(source);
    const stoppedAt = performance.now();
    const end = await t.waitForMigration(undefined, STALL_MS + 10 * SLACK_MS);
    const tookMs = performance.now() - stoppedAt;
    expect(end.status).toBe('failed');
    expect(end['error-desc']).toMatch(/^migration stalled: the source sent no data for \d+\.\d s \(x-stall-timeout 2000 ms\)$/);
    expect(tookMs).toBeGreaterThanOrEqual(STALL_MS - 200); // the target's clock starts at the last bytes it read
    expect(tookMs).toBeLessThan(STALL_MS + SLACK_MS);
    const status = (await t.qmp.execute('query-status')) as { status: string; running: boolean };
    expect(status.running).toBe(false);
    expect(['inmigrate', 'paused']).toContain(status.status);
    await sleep(500);
    expect(await t.runState()).not.toBe('running');
    // the continued source finds its stream closed by the target: it fails and its guest runs on
    resume(source);
    const sEnd = await source.waitForMigration(undefined, 60_000);
    expect(sEnd.status).toBe('failed');
    expect(await source.runState()).toBe('running');
  });

  it('migrate_cancel on a stalled migration (target stopped, stall timeout long) ends it within 1 s', async () => {
    const dir = await tmpDir('mig-hung-cancel-');
    const { source, before } = await filledSource(dir);
    const t = await target('mig', dir);
    await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 16 * MiB, 'x-stall-timeout': 600_000 });
    await source.qmp.execute('migrate', { uri: t.uri });
    await waitForTransferred(source, 16 * MiB);
    stop(t.vm);
    await sleep(1500); // the socket buffers are full and the source's write is held
    const held = (await source.qmp.execute('query-migrate')) as QueryMigrateReply;
    expect(held.status).toBe('active');
    const cancelAt = performance.now();
    await source.qmp.execute('migrate_cancel');
    const end = await source.waitForMigration(undefined, 10_000);
    expect(performance.now() - cancelAt).toBeLessThan(1000);
    expect(end.status).toBe('cancelled');
    expect(await source.runState()).toBe('running');
    expect(await source.hashRam()).toBe(before);
  });

  it('mig → mig at 1 MiB/s with x-stall-timeout 2000 on both ends: slow but steady, completes', async () => {
    const dir = await tmpDir('mig-hung-slow-');
    // 16 MiB, 70 % zero pages: about 5 MiB of page data, some 5 s at 1 MiB/s, well past the timeout
    const { source, before } = await filledSource(dir, 16, 0.7);
    const uri = `unix:${join(dir, 'slow.sock')}`;
    const t = await launchVm({ kind: 'mig', ramMiB: 16, incoming: 'defer', dir, name: 'target' });
    await t.qmp.execute('migrate-set-parameters', { 'x-stall-timeout': STALL_MS });
    await t.qmp.execute('migrate-incoming', { uri });
    await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': MiB, 'x-stall-timeout': STALL_MS });
    const startedAt = performance.now();
    await source.qmp.execute('migrate', { uri });
    const end = await source.waitForMigration(undefined, 120_000);
    expect(end.status, end['error-desc'] as string | undefined).toBe('completed');
    expect(performance.now() - startedAt).toBeGreaterThan(2 * STALL_MS);
    const tEnd = await t.waitForMigration(undefined, 30_000);
    expect(tEnd.status).toBe('completed');
    expect(await t.hashRam()).toBe(before);
  });

  it('a target that never takes the connection: the source fails after the timeout; a cancel during the connect is at once', async () => {
    const dir = await tmpDir('mig-hung-connect-');
    const { source, before } = await filledSource(dir, 16);
    const deaf = await deafListener();
    await source.qmp.execute('migrate-set-parameters', { 'x-stall-timeout': STALL_MS });
    const startedAt = performance.now();
    await source.qmp.execute('migrate', { uri: deaf.uri });
    const end = await source.waitForMigration(undefined, STALL_MS + 10 * SLACK_MS);
    const tookMs = performance.now() - startedAt;
    expect(end.status).toBe('failed');
    expect(end['error-desc']).toBe('migration stalled: the target did not take the connection within 2.0 s (x-stall-timeout 2000 ms)');
    expect(tookMs).toBeGreaterThanOrEqual(STALL_MS);
    expect(tookMs).toBeLessThan(STALL_MS + SLACK_MS);
    expect(await source.runState()).toBe('running');
    // the same connect, cancelled: over at once, not after the timeout
    await source.qmp.execute('migrate-set-parameters', { 'x-stall-timeout': 600_000 });
    await source.qmp.execute('migrate', { uri: deaf.uri });
    await sleep(1500); // the worker is up and its connect is held
    expect(((await source.qmp.execute('query-migrate')) as QueryMigrateReply).status).toBe('setup');
    const cancelAt = performance.now();
    await source.qmp.execute('migrate_cancel');
    expect((await source.waitForMigration(undefined, 10_000)).status).toBe('cancelled');
    expect(performance.now() - cancelAt).toBeLessThan(1000);
    expect(await source.runState()).toBe('running');
    expect(await source.hashRam()).toBe(before);
    deaf.close();
  });

  it.skipIf(!hasQemu)(`mig → QEMU 7.2, the QEMU target SIGSTOPped mid-bulk: the mig source detects it${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, async () => {
    await stopTargetMidBulk('qemu');
  });
});
