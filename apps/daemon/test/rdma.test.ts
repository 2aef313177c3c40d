// rdma: against the built daemon where the machine has no RDMA device (this one, and CI's): each way in is
// refused at once with "no RDMA device was found" — never a hang, never a crash — and the guest runs on.
// Where a device exists, packages/transports/src/rdma/rdma-device.test.ts carries a stream over it instead.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { cleanupAll, launchVm, migDaemonPath, tmpDir } from '@mig/test-helpers';
import { hasRdmaDevice } from '@mig/transports';
import { afterAll, describe, expect, it } from 'vitest';

const NO_DEVICE = 'no RDMA device was found (libibverbs lists none)';

afterAll(cleanupAll);

/** Runs mig-daemon to its exit, killing it after `limitMs`: the exit code, stderr, and how long it took. */
function runToExit(args: string[], limitMs: number): Promise<{ code: number | null; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(migDaemonPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - started });
    });
  });
}

describe.skipIf(hasRdmaDevice())('rdma: on a machine without an RDMA device (the built mig-daemon)', () => {
  it('-incoming rdma:HOST:PORT exits 1 at once, saying no RDMA device was found', async () => {
    const dir = await tmpDir('mig-rdma-');
    const result = await runToExit(
      ['-machine', 'none', '-m', '16M', '-nodefaults', '-display', 'none', '-qmp', `unix:${join(dir, 'qmp.sock')},server=on,wait=off`,
        '-incoming', 'rdma:127.0.0.1:4444'],
      20_000,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`mig-daemon: -incoming rdma:127.0.0.1:4444: rdma:127.0.0.1:4444: ${NO_DEVICE}`);
    expect(result.ms).toBeLessThan(15_000);
  }, 30_000);

  it('migrate rdma: is a QMP GenericError, nothing starts and the guest runs on; migrate-incoming rdma: likewise', async () => {
    const source = await launchVm({ kind: 'mig', ramMiB: 16 });
    const started = Date.now();
    await expect(source.qmp.execute('migrate', { uri: 'rdma:127.0.0.1:4444' })).rejects.toMatchObject({
      message: `GenericError: rdma:127.0.0.1:4444: ${NO_DEVICE}`,
    });
    await expect(source.qmp.execute('migrate', { uri: 'rdma:[::1]:4444' })).rejects.toThrow(`rdma:[::1]:4444: ${NO_DEVICE}`);
    expect(await source.qmp.execute('query-migrate')).toEqual({});
    expect(await source.runState()).toBe('running');

    const target = await launchVm({ kind: 'mig', ramMiB: 16, incoming: 'defer' });
    await expect(target.qmp.execute('migrate-incoming', { uri: 'rdma:127.0.0.1:4444' })).rejects.toThrow(`rdma:127.0.0.1:4444: ${NO_DEVICE}`);
    expect(await target.runState()).toBe('inmigrate');
    expect(await target.qmp.execute('query-migrate')).toEqual({});
    expect(Date.now() - started).toBeLessThan(15_000);
    await source.quit();
    await target.quit();
  }, 60_000);
});
