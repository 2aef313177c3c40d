import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll } from './cleanup.js';
import { startLinkProxy, type LinkProxy } from './link-proxy.js';
import { createTestHosts, requireTestHosts, type TestHosts } from './netns.js';
import { senderBytes, sha256, startSender, startSink, type Peer } from './netns-peers.js';

const hasHosts = requireTestHosts();
const MiB = 1 << 20;

/** Hosts, a sink on the target host at :5000 and the proxy in front of it at :5001. */
async function relay(): Promise<{ hosts: TestHosts; sink: Peer; proxy: LinkProxy }> {
  const hosts = await createTestHosts();
  const sink = await startSink(hosts.dst, 5000);
  const proxy = await startLinkProxy(hosts.dst, { listenPort: 5001, targetHost: hosts.dst.address, targetPort: 5000 });
  return { hosts, sink, proxy };
}

describe.skipIf(!hasHosts)('link proxy on a test host', () => {
  afterEach(cleanupAll);

  it('relays every byte unchanged', async () => {
    const { hosts, sink, proxy } = await relay();
    expect(proxy.uri).toBe('tcp:10.77.0.2:5001');
    const sender = startSender(hosts.src, hosts.dst.address, 5001, 4 * MiB);
    expect(await sink.next()).toEqual({ ev: 'done', how: 'end', n: 4 * MiB, sha: sha256(senderBytes(4 * MiB)) });
    expect((await sender.next())?.ev).toBe('connected');
    expect(await sender.next()).toMatchObject({ how: 'sent' });
    expect(await proxy.stats()).toEqual({ forwarded: 4 * MiB, returned: 0, connections: 1 });
  });

  it('reset at byte N: the proxy forwards exactly N bytes, the target a prefix of them then a reset; the sender is refused', async () => {
    const { hosts, sink, proxy } = await relay();
    const at = 1234567;
    proxy.arm(at, 'reset');
    const sender = startSender(hosts.src, hosts.dst.address, 5001, 8 * MiB);
    expect(await proxy.next('cut')).toEqual({ ev: 'cut', action: 'reset', forwarded: at });
    // a reset drops what the target's kernel held unread (TCP's RST), so the target may see fewer than N
    const got = (await sink.next()) as { ev: string; how: string; n: number; sha: string };
    // (the target's side may read as a reset or, seen once in a full run, as an end: what the test holds to is
    // that it got no byte past N, and that the sender is refused)
    expect(got.ev).toBe('done');
    expect(got.how).toMatch(/^(ECONNRESET|end)$/);
    expect(got.n).toBeLessThanOrEqual(at);
    expect(got.sha).toBe(sha256(senderBytes(8 * MiB).subarray(0, got.n)));
    await sender.next();
    expect((await sender.next())?.how).toMatch(/^(ECONNRESET|EPIPE)$/);
  });

  it('close at byte 0: the target sees an empty stream end', async () => {
    const { hosts, sink, proxy } = await relay();
    proxy.arm(0, 'close');
    startSender(hosts.src, hosts.dst.address, 5001, 4 * MiB);
    expect(await proxy.next('cut')).toEqual({ ev: 'cut', action: 'close', forwarded: 0 });
    expect(await sink.next()).toMatchObject({ how: 'end', n: 0 });
  });

  it('hold at byte N stops relaying there (the sender stalls); release relays the rest', async () => {
    const { hosts, sink, proxy } = await relay();
    proxy.arm(2 * MiB + 5, 'hold');
    const sender = startSender(hosts.src, hosts.dst.address, 5001, 16 * MiB);
    expect(await proxy.next('held')).toEqual({ ev: 'held', forwarded: 2 * MiB + 5 });
    await sleep(300);
    expect((await proxy.stats()).forwarded).toBe(2 * MiB + 5);
    expect(await sender.next()).toMatchObject({ ev: 'connected' });
    proxy.release();
    expect(await sink.next()).toEqual({ ev: 'done', how: 'end', n: 16 * MiB, sha: sha256(senderBytes(16 * MiB)) });
  });

  it('blackhole: nothing more reaches the target and nothing is refused', async () => {
    const { hosts, sink, proxy } = await relay();
    proxy.arm(MiB, 'blackhole');
    const sender = startSender(hosts.src, hosts.dst.address, 5001, 16 * MiB);
    expect(await proxy.next('cut')).toEqual({ ev: 'cut', action: 'blackhole', forwarded: MiB });
    expect(await sender.next()).toMatchObject({ ev: 'connected' });
    await expect(sink.next(1500)).rejects.toThrow('nothing within 1500 ms');
    await expect(sender.next(10)).rejects.toThrow('nothing within 10 ms');
  });

  it('a target that goes away resets the source side', async () => {
    const { hosts, sink, proxy } = await relay();
    proxy.arm(MiB, 'hold');
    const sender = startSender(hosts.src, hosts.dst.address, 5001, 16 * MiB);
    await proxy.next('held');
    sink.proc.kill('SIGKILL');
    proxy.release();
    expect(await proxy.next('peer-closed')).toMatchObject({ side: 'target' });
    await sender.next();
    expect((await sender.next())?.how).toMatch(/^(ECONNRESET|EPIPE)$/);
  });
});
