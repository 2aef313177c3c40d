// Transports that cannot carry a migration: each is a QMP error or a `failed` migration whose error-desc
// names the URI and the system error, at once (never a hang), and the source guest runs on. The same for a
// target that cannot listen (-incoming at start, migrate-incoming later).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, fillRamFile, freePort, launchVm, sha256File, tmpDir, VmStartError } from '@mig/test-helpers';

const RAM_MIB = 32;
/** The rdma: cases are about a machine without RDMA (the kernel lists no device); with one, rdma: connects. */
const noRdma = !existsSync('/sys/class/infiniband');

interface FailingCase {
  name: string;
  uri: (dir: string, port: number) => string;
  /** The QMP error of `migrate`, when it refuses at once. */
  qmpError?: RegExp;
  /** The error-desc of the failed migration otherwise. */
  errorDesc?: RegExp;
}

const CASES: FailingCase[] = [
  {
    name: 'exec: a command that fails',
    uri: () => 'exec:echo "no space left" >&2; exit 3',
    errorDesc: /^migration stream write failed: migration command 'echo "no space left" >&2; exit 3' exited with status 3; its stderr ends with: no space left$/,
  },
  {
    name: 'tcp: a port nobody listens on',
    uri: (_dir, port) => `tcp:127.0.0.1:${port}`,
    errorDesc: /^cannot connect the migration stream to tcp:127\.0\.0\.1:\d+: connection refused \(ECONNREFUSED\)$/,
  },
  {
    name: 'unix: a path that does not exist',
    uri: (dir) => `unix:${join(dir, 'nobody', 'there.sock')}`,
    errorDesc: /^cannot connect the migration stream to unix:.*\/nobody\/there\.sock: no such file or directory \(ENOENT\)$/,
  },
  {
    name: 'fd: a name getfd never gave',
    uri: () => 'fd:nobody',
    qmpError: /^GenericError: File descriptor named 'nobody' has not been found$/,
  },
  ...(noRdma ? [{
    name: 'rdma: (this machine has no RDMA device)',
    uri: () => 'rdma:127.0.0.1:4444',
    qmpError: /^GenericError: rdma:127\.0\.0\.1:4444: no RDMA device was found \(libibverbs lists none\)$/,
  }] : []),
];

describe('a transport that cannot carry the stream', () => {
  afterEach(cleanupAll);

  it.each(CASES)('$name: a clear error at once, and the source guest runs on', async (c) => {
    const dir = await tmpDir('mig-fail-');
    const ramFile = join(dir, 'src.ram');
    await fillRamFile(ramFile, RAM_MIB << 20, { seed: 7, zeroFraction: 0 });
    const fileHash = await sha256File(ramFile);
    const source = await launchVm({ kind: 'mig', ramMiB: RAM_MIB, ramFile, dir });
    const uri = c.uri(dir, await freePort());
    const started = Date.now();
    const migrate = source.qmp.execute('migrate', { uri });
    if (c.qmpError !== undefined) {
      await expect(migrate).rejects.toThrow(c.qmpError);
      expect((await source.qmp.execute('query-migrate')) as object).toEqual({});
    } else {
      await migrate;
      const reply = await source.waitForMigration(undefined, 20_000);
      expect(reply.status, JSON.stringify(reply)).toBe('failed');
      expect(reply['error-desc']).toMatch(c.errorDesc!);
    }
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await source.runState()).toBe('running');
    expect(await source.hashRam()).toBe(fileHash);
  });
});

describe('a target that cannot listen', () => {
  afterEach(cleanupAll);

  it.each([
    ...(noRdma ? [['rdma:127.0.0.1:4444', '-incoming rdma:127.0.0.1:4444: rdma:127.0.0.1:4444: no RDMA device was found (libibverbs lists none)']] : []),
    ['fd:abc', "-incoming fd:abc: Invalid file descriptor number 'abc'"],
  ])('-incoming %s: mig-daemon exits at once, saying why', async (uri, message) => {
    const started = Date.now();
    const err = (await launchVm({ kind: 'mig', ramMiB: 16, incoming: uri }).catch((e: unknown) => e)) as VmStartError;
    expect(err).toBeInstanceOf(VmStartError);
    expect(err.stderr).toContain(`mig-daemon: ${message}`);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('-incoming fd:N with a descriptor that is not open: exits at once, naming it (QEMU 7.2 waits forever)', async () => {
    // 999: far above what node opens for itself
    const err = (await launchVm({ kind: 'mig', ramMiB: 16, incoming: 'fd:999' }).catch((e: unknown) => e)) as VmStartError;
    expect(err).toBeInstanceOf(VmStartError);
    expect(err.stderr).toContain('mig-daemon: -incoming fd:999: cannot use fd:999 (descriptor 999) for the migration stream: bad file descriptor (EBADF)');
  });

  it('migrate-incoming rdma: and an unknown fd name: QMP errors at once; the target still waits for a good URI', async () => {
    const target = await launchVm({ kind: 'mig', ramMiB: 16, incoming: 'defer' });
    if (noRdma) {
      await expect(target.qmp.execute('migrate-incoming', { uri: 'rdma:127.0.0.1:4444' })).rejects.toThrow(
        'rdma:127.0.0.1:4444: no RDMA device was found (libibverbs lists none)',
      );
    }
    await expect(target.qmp.execute('migrate-incoming', { uri: 'fd:nope' })).rejects.toThrow("File descriptor named 'nope' has not been found");
    await expect(target.qmp.execute('migrate-incoming', { uri: 'fd:999' })).rejects.toThrow(
      'cannot use fd:999 (descriptor 999) for the migration stream: bad file descriptor (EBADF)',
    );
    expect(await target.runState()).toBe('inmigrate');
    const port = await freePort();
    await target.qmp.execute('migrate-incoming', { uri: `tcp:127.0.0.1:${port}` });
    expect(((await target.qmp.execute('query-migrate')) as { status?: string }).status).toBe('setup');
  });
});
