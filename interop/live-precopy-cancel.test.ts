// Cancel and failure paths of a live migration (issue 3): migrate_cancel at random moments in setup and active,
// 20 times, never leaves a completed target and leaves the source guest running with RAM the migration did not
// touch; a target killed mid-migration fails the source, whose guest (and workload) runs on.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupVms, fillRamFile, launchVm, tmpDir } from '@mig/test-helpers';

const MiB = 1024 * 1024;

/** Deterministic delays (xorshift32), so a failure can be replayed. */
function delays(seed: number, n: number, maxMs: number): number[] {
  let x = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.push(x % maxMs);
  }
  return out;
}

describe('live migration: cancel and failure', () => {
  afterEach(cleanupVms);

  it('20 cancels at random moments in setup and active: never a completed target, source running and intact', async () => {
    const dir = await tmpDir('mig-cancel-');
    const ramFile = join(dir, 'src.ram');
    await fillRamFile(ramFile, 64 * MiB, { seed: 5, zeroFraction: 0.2 });
    const source = await launchVm({ kind: 'mig', ramMiB: 64, ramFile, dir, name: 'source' });
    const before = await source.hashRam();
    await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 32 * MiB }); // ~1.6 s per migration: every cancel (≤ 0.75 s in) lands before completion
    const waits = delays(0x5eed, 20, 700);
    const phases: string[] = [];
    for (let i = 0; i < 20; i++) {
      const uri = `unix:${join(dir, `t${i}.sock`)}`;
      const target = await launchVm({ kind: 'mig', ramMiB: 64, incoming: uri, dir, name: `target-${i}` });
      if (i % 2 === 0) {
        // in setup: the cancel is queued right behind the migrate, before the stream has started flowing
        await Promise.all([source.qmp.execute('migrate', { uri }), source.qmp.execute('migrate_cancel')]);
        phases.push('setup');
      } else {
        await source.qmp.execute('migrate', { uri });
        await sleep(50 + waits[i]!);
        phases.push(((await source.qmp.execute('query-migrate')) as { status: string }).status);
        await source.qmp.execute('migrate_cancel');
      }
      const end = await source.waitForMigration(undefined, 30_000);
      expect(end.status, `cancel #${i}`).toBe('cancelled');
      expect(await source.runState()).toBe('running');
      const t = (await target.qmp.execute('query-migrate')) as { status?: string };
      expect(t.status, `target of cancel #${i}`).not.toBe('completed');
      expect(await target.runState()).toBe('inmigrate');
      await target.kill();
    }
    expect(phases.filter((p) => p === 'setup').length).toBeGreaterThanOrEqual(10);
    expect(phases.filter((p) => p === 'active').length).toBeGreaterThanOrEqual(5);
    expect(await source.hashRam()).toBe(before);
  });

  it('a cancel with the workload running leaves the guest running and writing, unthrottled', async () => {
    const dir = await tmpDir('mig-cancel-');
    const source = await launchVm({
      kind: 'mig', ramMiB: 128, dir, name: 'source', extraArgs: ['-workload', 'dirty-rate=64M/s,wss=32M,pattern=random'],
    });
    const uri = `unix:${join(dir, 'w.sock')}`;
    const target = await launchVm({ kind: 'mig', ramMiB: 128, incoming: uri, dir, name: 'target' });
    await source.qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'auto-converge', state: true }] });
    await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 32 * MiB });
    await source.qmp.execute('migrate', { uri });
    await source.waitForMigration(['active'], 10_000);
    // cancel once auto-converge has throttled the workload
    let throttled = 0;
    for (let i = 0; i < 300 && throttled === 0; i++) {
      await sleep(50);
      throttled = ((await source.qmp.execute('x-mig-query-workload')) as { throttle: number }).throttle;
    }
    expect(throttled).toBeGreaterThan(0);
    await source.qmp.execute('migrate_cancel');
    expect((await source.waitForMigration()).status).toBe('cancelled');
    expect(await source.runState()).toBe('running');
    const w1 = (await source.qmp.execute('x-mig-query-workload')) as { running: boolean; writes: number; throttle: number };
    expect(w1).toMatchObject({ running: true, throttle: 0 });
    await sleep(200);
    const w2 = (await source.qmp.execute('x-mig-query-workload')) as { writes: number };
    expect(w2.writes).toBeGreaterThan(w1.writes);
    expect(((await target.qmp.execute('query-migrate')) as { status?: string }).status).not.toBe('completed');
  });

  it('a target killed mid-migration under a workload: the source ends failed, its guest runs on', async () => {
    const dir = await tmpDir('mig-kill-');
    const source = await launchVm({
      kind: 'mig', ramMiB: 128, dir, name: 'source', extraArgs: ['-workload', 'dirty-rate=32M/s,wss=32M,pattern=sparse'],
    });
    const uri = `unix:${join(dir, 'k.sock')}`;
    const target = await launchVm({ kind: 'mig', ramMiB: 128, incoming: uri, dir, name: 'target' });
    await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 8 * MiB });
    await source.qmp.execute('migrate', { uri });
    await source.waitForMigration(['active'], 10_000);
    await sleep(300);
    await target.kill();
    const end = await source.waitForMigration(undefined, 30_000);
    expect(end.status).toBe('failed');
    expect(end['error-desc']).toMatch(/migration stream write failed/);
    expect(await source.runState()).toBe('running');
    expect(((await source.qmp.execute('x-mig-query-workload')) as { running: boolean }).running).toBe(true);
  });
});
