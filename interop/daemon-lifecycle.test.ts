// mig-daemon ↔ mig-daemon lifecycle, no QEMU needed: command-line errors, QMP events of a migration,
// migrate_cancel and a dead target leave the source guest running with its RAM intact, a target that lost
// its source never completes, query-migrate answers while pages flow.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanupVms, fillRamFile, launchVm, migDaemonPath, tmpDir, type Vm } from '@mig/test-helpers';

const RAM_MIB = 64;

async function pair(bandwidth: number): Promise<{ source: Vm; target: Vm; uri: string; ramHash: string }> {
  const dir = await tmpDir('mig-lifecycle-');
  const ramFile = join(dir, 'src.ram');
  await fillRamFile(ramFile, RAM_MIB << 20, { seed: 7, zeroFraction: 0.2 });
  const uri = `unix:${join(dir, 'mig.sock')}`;
  const target = await launchVm({ kind: 'mig', ramMiB: RAM_MIB, incoming: uri, dir, name: 'target' });
  const source = await launchVm({ kind: 'mig', ramMiB: RAM_MIB, ramFile, dir, name: 'source' });
  await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': bandwidth });
  return { source, target, uri, ramHash: await source.hashRam() };
}

function runNode(script: string, argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const runDaemon = (argv: string[]) => runNode(migDaemonPath(), argv);
const runCli = (argv: string[]) => runNode(join(dirname(migDaemonPath()), 'mig'), argv);

describe('mig-daemon lifecycle', () => {
  afterEach(cleanupVms);

  it.each([
    [['-bogus'], '-bogus: invalid option'],
    [['-m', '64M', '-machine', 'pc'], "machine type 'pc' is not supported"],
    [['-m', 'lots'], "invalid size 'lots'"],
    [['-object', 'memory-backend-file,id=m,size=8M,mem-path=/nonexistent-dir/ram'], 'ENOENT'],
  ])('exits 1 on %j with a message naming it', async (argv, message) => {
    const { code, stderr } = await runDaemon(argv.concat(argv[0] === '-object' ? ['-machine', 'none,memory-backend=m'] : []));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^mig-daemon: /);
    expect(stderr).toContain(message);
  });

  it('emits MIGRATION and MIGRATION_PASS with the events capability, STOP on the source, RESUME on the target', async () => {
    const { source, target, uri, ramHash } = await pair(1 << 30);
    for (const vm of [source, target]) {
      await vm.qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });
    }
    const srcMark = source.qmp.eventCount;
    const dstMark = target.qmp.eventCount;
    await source.qmp.execute('migrate', { uri });
    expect((await source.waitForMigration()).status).toBe('completed');
    expect((await target.waitForMigration()).status).toBe('completed');
    await source.qmp.waitForEvent('MIGRATION', (d: { status: string }) => d.status === 'completed', 5000, { after: srcMark });
    const srcEvents = source.qmp.recentEvents.filter((e) => e.seq > srcMark);
    const statuses = srcEvents.filter((e) => e.event === 'MIGRATION').map((e) => e.data['status']);
    expect(statuses).toEqual(['setup', 'active', 'completed']);
    expect(srcEvents.some((e) => e.event === 'MIGRATION_PASS' && e.data['pass'] === 1)).toBe(true);
    expect(srcEvents.some((e) => e.event === 'STOP')).toBe(true);
    await target.qmp.waitForEvent('RESUME', undefined, 5000, { after: dstMark });
    const dstStatuses = target.qmp.recentEvents.filter((e) => e.seq > dstMark && e.event === 'MIGRATION').map((e) => e.data['status']);
    expect(dstStatuses).toEqual(['active', 'completed']);
    expect(await source.runState()).toBe('postmigrate');
    expect(await target.runState()).toBe('running');
    expect(await target.hashRam()).toBe(ramHash);
  });

  it('answers query-migrate while pages flow, and migrate_cancel leaves the source running and intact', async () => {
    const { source, target, uri, ramHash } = await pair(8 << 20); // 8 MiB/s: about 6 s for 64 MiB
    await source.qmp.execute('migrate', { uri });
    await source.waitForMigration(['active'], 10_000);
    let transferred = 0;
    for (let i = 0; i < 5; i++) {
      await sleep(100);
      const reply = (await source.qmp.execute('query-migrate')) as { status: string; ram?: { transferred: number } };
      expect(reply.status).toBe('active');
      expect(reply.ram!.transferred).toBeGreaterThanOrEqual(transferred);
      transferred = reply.ram!.transferred;
    }
    expect(transferred).toBeGreaterThan(0);
    await source.qmp.execute('migrate_cancel');
    expect((await source.waitForMigration()).status).toBe('cancelled');
    expect(await source.runState()).toBe('running');
    expect(await source.hashRam()).toBe(ramHash);
    const dst = await target.waitForMigration();
    expect(dst.status).toBe('failed');
    expect(dst['error-desc']).toMatch(/ended|truncat/i);
    expect(await target.runState()).toBe('inmigrate');
    // the source can migrate again afterwards
    expect((await source.qmp.execute('query-migrate')) as object).toMatchObject({ status: 'cancelled' });
  });

  it('a target killed mid-migration fails the source, whose guest runs on', async () => {
    const { source, target, uri, ramHash } = await pair(8 << 20);
    // slow enough that the stream is still flowing when the target dies, however loaded the machine
    await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 2 << 20 });
    await source.qmp.execute('migrate', { uri });
    for (let i = 0; i < 200; i++) {
      const r = (await source.qmp.execute('query-migrate')) as { ram?: { transferred: number } };
      if ((r.ram?.transferred ?? 0) > 0) break;
      await sleep(25);
    }
    await target.kill();
    const reply = await source.waitForMigration(undefined, 30_000);
    expect(reply.status).toBe('failed');
    expect(reply['error-desc']).toMatch(/migration stream write failed/);
    expect(await source.runState()).toBe('running');
    expect(await source.hashRam()).toBe(ramHash);
  });

  it('the mig CLI migrates, says how it went, and exits 0; status reads both ends; a bad command exits 2', async () => {
    const { source, target, uri, ramHash } = await pair(8 << 20);
    // the form the README shows, and the old one (`--qmp ADDR URI`), which still works and says what replaced it
    const migrate = await runCli(['migrate', '--from', `unix:${source.qmpPath}`, '--to', uri, '--bandwidth', '1G']);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toMatch(/status\s+completed/);
    expect(migrate.stdout).toMatch(/downtime\s+\d+ ms/);
    expect(migrate.stdout).toContain('result: completed on the source (the target was not asked: no --incoming-qmp)');
    const dst = await runCli(['status', `unix:${target.qmpPath}`]);
    expect(dst.stdout).toContain('guest: running');
    expect(dst.stdout).toContain('migration: completed');
    expect((await runCli(['status', '--qmp', `unix:${source.qmpPath}`])).stdout).toContain('guest: postmigrate');
    expect(await target.hashRam()).toBe(ramHash);
    const bad = await runCli(['bogus', '--qmp', `unix:${source.qmpPath}`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown command 'bogus'");
    const dead = await runCli(['status', `unix:${join(source.dir, 'nobody.qmp')}`]);
    expect(dead.code).toBe(3);
    expect(dead.stderr).toMatch(/cannot reach .*QMP at unix:.*nobody\.qmp/);
  });

  it('refuses a second migrate while one runs, an fd name it was not given, and rdma without an RDMA device', async () => {
    const { source, uri } = await pair(8 << 20);
    await expect(source.qmp.execute('migrate', { uri: 'fd:mig' })).rejects.toThrow("File descriptor named 'mig' has not been found");
    if (!existsSync('/sys/class/infiniband')) {
      await expect(source.qmp.execute('migrate', { uri: 'rdma:127.0.0.1:1' })).rejects.toThrow('rdma:127.0.0.1:1: no RDMA device was found (libibverbs lists none)');
    }
    await expect(source.qmp.execute('migrate', { uri: 'bogus:1' })).rejects.toThrow("unknown migration URI scheme 'bogus'");
    await source.qmp.execute('migrate', { uri });
    await expect(source.qmp.execute('migrate', { uri })).rejects.toThrow("There's a migration process in progress");
    await source.qmp.execute('migrate_cancel');
    expect((await source.waitForMigration()).status).toBe('cancelled');
  });
});
