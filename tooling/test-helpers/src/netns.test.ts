import { execFile, execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { promisify } from 'node:util';
import { cleanupAll } from './cleanup.js';
import { launchVm } from './vm.js';
import {
  TestHostsMissingError, createTestHosts, removeStaleTestHosts, requireTestHosts, tbfArgs, testHostsUnavailable, TEST_LINK_DEVICE,
} from './netns.js';
import { senderBytes, sha256, startSender, startSink } from './netns-peers.js';

const hasHosts = requireTestHosts();
const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

describe('test hosts: when they cannot be made', () => {
  it('names what is missing; skips locally, throws in CI', () => {
    expect(testHostsUnavailable({ PATH: '' })).toMatch(/^(not root|'ip' is not on PATH)$/);
    const warn = console.warn;
    console.warn = () => undefined;
    try {
      expect(requireTestHosts({ PATH: '' })).toBe(false);
    } finally {
      console.warn = warn;
    }
    expect(() => requireTestHosts({ PATH: '', CI: 'true' })).toThrow(TestHostsMissingError);
    expect(() => requireTestHosts({ PATH: '', CI: 'true' })).toThrow(/never skip in CI/);
  });

  it('tbf arguments for a rate, and a bad rate refused', () => {
    expect(tbfArgs(80)).toEqual(['tbf', 'rate', '80mbit', 'burst', '40000', 'latency', '50ms']);
    expect(tbfArgs(1)[4]).toBe(String(16 * 1024));
    expect(() => tbfArgs(0)).toThrow('shape: rate must be a positive number of Mbit/s, got 0');
  });
});

describe.skipIf(!hasHosts)('test hosts: two namespaces and a veth link', () => {
  afterEach(cleanupAll);

  it('addresses only inside the namespaces; TCP crosses the link byte for byte; destroy removes both', async () => {
    const hosts = await createTestHosts();
    expect(namespaces()).toContain(hosts.src.ns);
    expect(namespaces()).toContain(hosts.dst.ns);
    expect(await hosts.src.exec(['ip', 'addr', 'show', TEST_LINK_DEVICE])).toContain('inet 10.77.0.1/24');
    expect(await hosts.dst.exec(['ip', 'addr', 'show', TEST_LINK_DEVICE])).toContain('inet 10.77.0.2/24');
    expect(execFileSync('ip', ['addr'], { encoding: 'utf8' })).not.toContain('10.77.0.');
    const sink = await startSink(hosts.dst, 4000);
    const sender = startSender(hosts.src, hosts.dst.address, 4000, 3 << 20);
    expect((await sender.next())?.ev).toBe('connected');
    expect(await sender.next()).toMatchObject({ how: 'sent' });
    expect(await sink.next()).toEqual({ ev: 'done', how: 'end', n: 3 << 20, sha: sha256(senderBytes(3 << 20)) });
    await hosts.destroy();
    expect(namespaces()).not.toContain(hosts.src.ns);
    expect(namespaces()).not.toContain(hosts.dst.ns);
  });

  it('shape() puts tbf on both ends, unshape() takes it off', async () => {
    const hosts = await createTestHosts({ rateMbit: 24 });
    for (const h of [hosts.src, hosts.dst]) expect(await h.exec(['tc', 'qdisc', 'show', 'dev', TEST_LINK_DEVICE])).toMatch(/qdisc tbf .* rate 24Mbit/);
    await hosts.unshape();
    for (const h of [hosts.src, hosts.dst]) expect(await h.exec(['tc', 'qdisc', 'show', 'dev', TEST_LINK_DEVICE])).not.toContain('tbf');
  });

  it('linkDown(): the source host has no route to the target; linkUp() brings it back', async () => {
    const hosts = await createTestHosts();
    await startSink(hosts.dst, 4001);
    await hosts.linkDown();
    const refused = startSender(hosts.src, hosts.dst.address, 4001, 1024);
    expect((await refused.next())?.how).toBe('ENETUNREACH');
    await hosts.linkUp();
    const sender = startSender(hosts.src, hosts.dst.address, 4001, 1024);
    expect((await sender.next())?.ev).toBe('connected');
  });

  it('launchVm with a host\'s wrap: the VM itself (same pid) runs in that namespace, and kill() ends it', async () => {
    const hosts = await createTestHosts();
    const vm = await launchVm({ kind: 'mig', ramMiB: 8, wrap: hosts.dst.wrap });
    const { stdout } = await promisify(execFile)('ip', ['netns', 'identify', String(vm.proc.pid)]);
    expect(stdout.trim()).toBe(hosts.dst.ns);
    expect(vm.argv.slice(0, 5)).toEqual(['ip', 'netns', 'exec', hosts.dst.ns, process.execPath]);
    expect(await vm.runState()).toBe('running');
    await vm.kill();
    expect((await vm.exited).signal).toBe('SIGKILL');
  });

  it('namespaces a killed run left behind (their pid is gone) are removed; live ones stay', async () => {
    const hosts = await createTestHosts();
    let dead = 4_000_000;
    while (pidExists(dead)) dead++;
    const stale = `migt${dead}-1-src`;
    execFileSync('ip', ['netns', 'add', stale]);
    try {
      expect(await removeStaleTestHosts()).toEqual([stale]);
      expect(namespaces()).not.toContain(stale);
      expect(namespaces()).toContain(hosts.src.ns);
    } finally {
      if (namespaces().includes(stale)) execFileSync('ip', ['netns', 'del', stale]);
    }
  });
});

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
