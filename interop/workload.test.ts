// mig-daemon's guest workload and x-mig-write (issue 3): writes only while the guest runs (stop returns once the
// workload has paused), QMP control with errors naming the bad member, the target runs its own -workload only
// after loading, and every write made while a pass runs reaches the target.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupVms, fillRamFile, launchVm, migDaemonPath, tmpDir, type Vm } from '@mig/test-helpers';

const MiB = 1024 * 1024;
type Info = { active: boolean; running: boolean; writes: number; throttle: number; pattern: string; wss: number; 'dirty-rate': number };
const info = async (vm: Vm) => (await vm.qmp.execute('x-mig-query-workload')) as Info;

async function readGuest(vm: Vm, address: number, size: number): Promise<Buffer> {
  const file = join(vm.dir, `peek-${Math.random().toString(36).slice(2)}.bin`);
  await vm.qmp.execute('pmemsave', { val: address, size, filename: file });
  return readFile(file);
}

describe('guest workload', () => {
  afterEach(cleanupVms);

  it('writes while the guest runs; stop pauses it before answering, cont resumes it', async () => {
    const vm = await launchVm({ kind: 'mig', ramMiB: 64, name: 'w', extraArgs: ['-workload', 'dirty-rate=40M/s,wss=16M,pattern=random'] });
    let a = await info(vm);
    // the workload thread's first writes (a loaded machine may take a while to schedule it)
    for (let i = 0; i < 100 && a.writes === 0; i++) {
      await sleep(50);
      a = await info(vm);
    }
    expect(a).toMatchObject({ active: true, running: true, pattern: 'random', wss: 16 * MiB, 'dirty-rate': 40 * MiB });
    expect(a.writes).toBeGreaterThan(0);
    await vm.qmp.execute('stop');
    const h1 = await vm.hashRam();
    const w1 = (await info(vm)).writes;
    await sleep(100);
    expect(await vm.hashRam()).toBe(h1); // nothing written while stopped
    expect((await info(vm)).writes).toBe(w1);
    expect((await info(vm)).running).toBe(false);
    await vm.qmp.execute('cont');
    await sleep(100);
    expect((await info(vm)).writes).toBeGreaterThan(w1);
    expect(await vm.hashRam()).not.toBe(h1);
  });

  it('x-mig-workload start/set/stop and x-mig-write, with errors that name the bad member', async () => {
    const vm = await launchVm({ kind: 'mig', ramMiB: 32, name: 'q' });
    expect(await info(vm)).toMatchObject({ active: false, running: false, writes: 0 });
    await expect(vm.qmp.execute('x-mig-workload', { action: 'start' })).rejects.toThrow("give 'dirty-rate'");
    await expect(vm.qmp.execute('x-mig-workload', { action: 'start', 'dirty-rate': MiB, wss: 64 * MiB })).rejects.toThrow(/outside guest RAM/);
    await expect(vm.qmp.execute('x-mig-workload', { action: 'start', 'dirty-rate': MiB, wss: 100 })).rejects.toThrow(/wss must be a positive multiple of 4096/);
    // the zero pattern over 1 MiB at 16 MiB: the rest of RAM is untouched
    await vm.qmp.execute('x-mig-write', { address: 32 * MiB - 8, data: 'deadbeefcafef00d', encoding: 'hex' });
    await vm.qmp.execute('x-mig-write', { address: 16 * MiB, data: Buffer.alloc(8192, 0xab).toString('base64') });
    expect((await readGuest(vm, 32 * MiB - 8, 8)).toString('hex')).toBe('deadbeefcafef00d');
    await vm.qmp.execute('x-mig-workload', { action: 'start', 'dirty-rate': 64 * MiB, wss: 8192, offset: 16 * MiB, pattern: 'zero' });
    for (let i = 0; i < 100 && (await info(vm)).writes < 50; i++) await sleep(20);
    expect((await readGuest(vm, 16 * MiB, 8192)).every((b) => b === 0)).toBe(true);
    expect((await readGuest(vm, 32 * MiB - 8, 8)).toString('hex')).toBe('deadbeefcafef00d');
    await vm.qmp.execute('x-mig-workload', { action: 'set', 'dirty-rate': 0 });
    expect(await info(vm)).toMatchObject({ active: true, 'dirty-rate': 0, pattern: 'zero' });
    await vm.qmp.execute('x-mig-workload', { action: 'stop' });
    expect((await info(vm)).active).toBe(false);
    await expect(vm.qmp.execute('x-mig-write', { address: 32 * MiB - 4, data: 'AAAAAAAA' })).rejects.toThrow(/not backed by guest RAM/);
    await expect(vm.qmp.execute('x-mig-write', { address: 0, data: 'xyz', encoding: 'hex' })).rejects.toThrow("'data' is not hex");
    await expect(vm.qmp.execute('x-mig-write', { address: 0, data: '!!!!' })).rejects.toThrow("'data' is not base64");
    await expect(vm.qmp.execute('x-mig-workload', { action: 'go' } as never)).rejects.toThrow("Parameter 'action' does not accept value 'go'");
  });

  it('a bad -workload exits 1 naming it', async () => {
    const child = spawn(process.execPath, [migDaemonPath(), '-m', '64M', '-workload', 'dirty-rate=1M/s,wss=128M'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^mig-daemon: .*outside guest RAM of 67108864 bytes/);
  });

  it('the target runs its own -workload only once loaded; x-mig-write during a pass reaches the target', async () => {
    const dir = await tmpDir('mig-wl-');
    const uri = `unix:${join(dir, 'm.sock')}`;
    const target = await launchVm({ kind: 'mig', ramMiB: 64, incoming: uri, dir, name: 'target', extraArgs: ['-workload', 'dirty-rate=4M/s,wss=1M'] });
    const ramFile = join(dir, 'src.ram');
    await fillRamFile(ramFile, 64 * MiB, { seed: 3, zeroFraction: 0.1 }); // ~3.6 s at 16 MiB/s
    const source = await launchVm({ kind: 'mig', ramMiB: 64, ramFile, dir, name: 'source', extraArgs: ['-workload', 'dirty-rate=4M/s,wss=32M,pattern=random'] });
    expect((await info(target)).running).toBe(false);
    await source.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 16 * MiB });
    await source.qmp.execute('migrate', { uri });
    await source.waitForMigration(['active'], 10_000);
    await sleep(400);
    // pages the bulk pass has most likely sent already, and the very first page: all must arrive as written
    const marks = [0, 4096 * 7, 40 * MiB, 63 * MiB];
    for (const [i, a] of marks.entries()) {
      await source.qmp.execute('x-mig-write', { address: a, data: Buffer.alloc(16, 0x10 + i).toString('base64') });
    }
    expect(((await source.qmp.execute('query-migrate')) as { status: string }).status).toBe('active');
    expect(await info(target)).toMatchObject({ active: true, running: false, writes: 0 }); // inmigrate: not yet
    const done = await source.waitForMigration(undefined, 60_000);
    expect(done.status).toBe('completed');
    expect((await target.waitForMigration(undefined, 30_000)).status).toBe('completed');
    // compare before the target's own workload can touch [0, 1 MiB): read the marks outside it, hash the rest
    for (const [i, a] of marks.entries()) {
      if (a < MiB) continue;
      expect((await readGuest(target, a, 16)).every((b) => b === 0x10 + i)).toBe(true);
    }
    for (let i = 0; i < 100 && (await info(target)).writes === 0; i++) await sleep(20);
    await target.qmp.execute('stop');
    await target.qmp.execute('x-mig-workload', { action: 'stop' });
    expect((await info(target)).writes).toBeGreaterThan(0); // it ran after the load
    const srcTail = await readGuest(source, MiB, 63 * MiB);
    const dstTail = await readGuest(target, MiB, 63 * MiB);
    expect(srcTail.equals(dstTail)).toBe(true);
  });
});
