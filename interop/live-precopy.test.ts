// Live precopy under a running guest workload (issue 3): mig-daemon's workload thread dirties guest RAM while
// pages move; the migration converges over several passes, the target's RAM equals the source's at
// postmigrate, the rate limit holds, auto-converge throttles a guest that outruns the link, and a migration
// that does not converge says so (x-mig-query-progress, X_MIG_NOT_CONVERGING).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupVms, fillRamFile, launchVm, QEMU_SKIP_MESSAGE, requireQemu, tmpDir, type Vm, type VmKind } from '@mig/test-helpers';

const hasQemu = requireQemu(); // throws in CI when QEMU is missing

const MiB = 1024 * 1024;
/** Downtime tolerance above downtime-limit: the stream's last flush and the target's load (2-core CI, TCG QEMU). */
const DOWNTIME_TOLERANCE_MS = 300;

interface Reply {
  status?: string;
  ram?: { transferred: number } & Record<string, number>;
  downtime?: number;
  'total-time'?: number;
  'expected-downtime'?: number;
  'setup-time'?: number;
  'cpu-throttle-percentage'?: number;
  'error-desc'?: string;
}

const query = async (vm: Vm) => (await vm.qmp.execute('query-migrate')) as Reply;

async function source(opts: { ramMiB: number; workload?: string; fill?: boolean; dir: string }): Promise<Vm> {
  let ramFile: string | undefined;
  if (opts.fill) {
    ramFile = join(opts.dir, 'src.ram');
    await fillRamFile(ramFile, opts.ramMiB * MiB, { seed: 11, zeroFraction: 0.25 });
  }
  return launchVm({
    kind: 'mig', ramMiB: opts.ramMiB, dir: opts.dir, name: 'source',
    ...(ramFile ? { ramFile } : {}),
    ...(opts.workload ? { extraArgs: ['-workload', opts.workload] } : {}),
  });
}

async function target(kind: VmKind, ramMiB: number, dir: string): Promise<{ vm: Vm; uri: string }> {
  const uri = `unix:${join(dir, `mig-${Math.random().toString(36).slice(2, 8)}.sock`)}`;
  return { vm: await launchVm({ kind, ramMiB, incoming: uri, dir, name: 'target' }), uri };
}

describe('live precopy under a running workload', () => {
  afterEach(cleanupVms);

  if (!hasQemu) it.skip(`mig → qemu (${QEMU_SKIP_MESSAGE})`, () => {});
  it.each(hasQemu ? (['mig', 'qemu'] as const) : (['mig'] as const))(
    '256 MiB, 20 MB/s sparse over 64 MiB, 200 MiB/s, 300 ms: mig → %s completes over several passes with equal RAM',
    async (kind) => {
      const dir = await tmpDir('mig-live-');
      const src = await source({ ramMiB: 256, workload: 'dirty-rate=20M/s,wss=64M,pattern=sparse', fill: true, dir });
      const dst = await target(kind, 256, dir);
      const w0 = (await src.qmp.execute('x-mig-query-workload')) as { running: boolean; writes: number };
      expect(w0.running).toBe(true);
      await src.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 200 * MiB, 'downtime-limit': 300 });
      await src.qmp.execute('migrate', { uri: dst.uri });
      const done = await src.waitForMigration(undefined, 60_000);
      expect(done.status).toBe('completed');
      expect(await src.runState()).toBe('postmigrate');
      const r = done as Reply;
      // pass 1 is the bulk pass at setup and the last is the one inside the switchover: > 1 iterative pass
      expect(r.ram!['dirty-sync-count']).toBeGreaterThanOrEqual(3);
      expect(r.downtime!).toBeLessThanOrEqual(300 + DOWNTIME_TOLERANCE_MS);
      expect(r['setup-time']).toBeGreaterThanOrEqual(0);
      expect(r['total-time']!).toBeGreaterThan(r.downtime!);
      expect(r.ram!.mbps).toBeGreaterThan(0);
      // the workload wrote during the migration and is paused at postmigrate
      const w1 = (await src.qmp.execute('x-mig-query-workload')) as { running: boolean; writes: number };
      expect(w1.running).toBe(false);
      expect(w1.writes).toBeGreaterThan(w0.writes);
      expect((await dst.vm.waitForMigration(undefined, 30_000)).status).toBe('completed');
      expect(await src.hashRam()).toBe(await dst.vm.hashRam());
      const progress = (await src.qmp.execute('x-mig-query-progress')) as { percent: number; status: string };
      expect(progress).toMatchObject({ status: 'completed', percent: 100 });
    },
  );

  it('holds max-bandwidth within 10% over 3 s, and a migrate_set_speed during the migration takes effect', async () => {
    const dir = await tmpDir('mig-live-');
    const src = await source({ ramMiB: 256, fill: true, dir });
    const dst = await target('mig', 256, dir);
    const first = 16 * MiB;
    await src.qmp.execute('migrate-set-parameters', { 'max-bandwidth': first });
    await src.qmp.execute('migrate', { uri: dst.uri });
    await src.waitForMigration(['active'], 10_000);
    await sleep(300);
    const rate = async (ms: number) => {
      const a = await query(src);
      await sleep(ms);
      const b = await query(src);
      expect(b.status).toBe('active');
      // bytes over the source's own clock (total-time), so a slow test process does not skew the figure
      return ((b.ram!.transferred - a.ram!.transferred) * 1000) / (b['total-time']! - a['total-time']!);
    };
    const r1 = await rate(3000);
    expect(Math.abs(r1 - first) / first).toBeLessThan(0.1);
    const second = 32 * MiB;
    await src.qmp.execute('migrate_set_speed', { value: second });
    await sleep(300);
    const r2 = await rate(2000);
    expect(Math.abs(r2 - second) / second).toBeLessThan(0.1);
    await src.qmp.execute('migrate_cancel');
    expect((await src.waitForMigration()).status).toBe('cancelled');
  });

  // 128 MB/s of page writes over 64 MiB against a 64 MiB/s link: each pass leaves ~80% of the working set
  // dirty, far above what 300 ms of link carries.
  const FAST = 'dirty-rate=128M/s,wss=64M,pattern=sparse';

  it('a workload faster than the link never completes without auto-converge, and says why', async () => {
    const dir = await tmpDir('mig-live-');
    const src = await source({ ramMiB: 256, workload: FAST, dir });
    const dst = await target('mig', 256, dir);
    await src.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 64 * MiB, 'downtime-limit': 300 });
    const mark = src.qmp.eventCount;
    await src.qmp.execute('migrate', { uri: dst.uri });
    const ev = await src.qmp.waitForEvent('X_MIG_NOT_CONVERGING', undefined, 30_000, { after: mark });
    const advice = (ev.data as { advice: string[] }).advice.join('\n');
    expect(advice).toMatch(/enable auto-converge/);
    expect(advice).toMatch(/enable xbzrle/);
    const p1 = (await src.qmp.execute('x-mig-query-progress')) as { converging: boolean; percent: number; 'eta-ms': number | null };
    expect(p1.converging).toBe(false);
    await sleep(2000);
    const r = await query(src);
    expect(r.status).toBe('active'); // still iterating after the window
    expect(r['cpu-throttle-percentage']).toBeUndefined();
    // the loop's facts as QEMU 7.2 reports them while active
    expect(r['expected-downtime']!).toBeGreaterThan(0);
    expect(r['setup-time']!).toBeGreaterThanOrEqual(0);
    expect(r.ram!['dirty-pages-rate']).toBeGreaterThan(0);
    expect(r.ram!['pages-per-second']).toBeGreaterThan(0);
    expect(r.ram!.mbps).toBeGreaterThan(0);
    expect(r.ram!['dirty-sync-count']).toBeGreaterThanOrEqual(4);
    const p2 = (await src.qmp.execute('x-mig-query-progress')) as { percent: number };
    expect(p2.percent).toBeGreaterThanOrEqual(p1.percent);
    await src.qmp.execute('migrate_cancel');
    expect((await src.waitForMigration()).status).toBe('cancelled');
    expect(await src.runState()).toBe('running');
  });

  it('the same workload completes with auto-converge, the throttle visible in query-migrate and reset after', async () => {
    const dir = await tmpDir('mig-live-');
    const src = await source({ ramMiB: 256, workload: FAST, dir });
    const dst = await target('mig', 256, dir);
    await src.qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'auto-converge', state: true }] });
    await src.qmp.execute('migrate-set-parameters', {
      'max-bandwidth': 64 * MiB, 'downtime-limit': 300, 'cpu-throttle-initial': 50, 'cpu-throttle-increment': 20,
    });
    await src.qmp.execute('migrate', { uri: dst.uri });
    let throttle = 0;
    let workloadThrottle = 0;
    let r: Reply = {};
    for (let i = 0; i < 600; i++) {
      r = await query(src);
      throttle = Math.max(throttle, r['cpu-throttle-percentage'] ?? 0);
      if (r.status !== 'active' && r.status !== 'setup') break;
      const w = (await src.qmp.execute('x-mig-query-workload')) as { throttle: number };
      workloadThrottle = Math.max(workloadThrottle, w.throttle);
      await sleep(50);
    }
    expect(r.status).toBe('completed');
    expect(throttle).toBeGreaterThanOrEqual(50);
    expect(workloadThrottle).toBeGreaterThanOrEqual(50);
    expect(r['cpu-throttle-percentage']).toBeUndefined();
    expect(r.downtime!).toBeLessThanOrEqual(300 + DOWNTIME_TOLERANCE_MS);
    expect(((await src.qmp.execute('x-mig-query-workload')) as { throttle: number }).throttle).toBe(0);
    expect((await dst.vm.waitForMigration(undefined, 30_000)).status).toBe('completed');
    expect(await src.hashRam()).toBe(await dst.vm.hashRam());
  });
});
