// The server's bounds on hostile clients: over-long and over-deep requests, clients that never read, storms
// of connections dropped half way, and the unix socket's permissions.
import { readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RawPeer, stubHandlers, tempDir } from '../test/support.js';
import { MAX_QUEUED_REQUESTS, QmpServer, type QmpHandlers, type QmpServerOptions } from './server.js';

let tmp: ReturnType<typeof tempDir>;
let server: QmpServer | undefined;
let sock: string;
let logs: string[];
const peers: RawPeer[] = [];

async function start(handlers: Partial<QmpHandlers> = {}, options: Partial<QmpServerOptions> = {}): Promise<void> {
  server = new QmpServer({ handlers: stubHandlers(handlers), log: (_level, message) => logs.push(message), ...options });
  await server.listen({ kind: 'unix', path: sock });
}

async function negotiated(): Promise<RawPeer> {
  const p = await RawPeer.connect({ path: sock });
  peers.push(p);
  await p.negotiate();
  return p;
}

beforeEach(() => {
  tmp = tempDir();
  logs = [];
  sock = join(tmp.dir, 'qmp.sock');
});

afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await server?.close();
  server = undefined;
  tmp.cleanup();
});

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('request bounds', () => {
  it('a 100 MiB line in 64 KiB writes: one size error when it crosses the bound, then service as before', async () => {
    await start();
    const p = await negotiated();
    p.send('{"execute":"query-migrate","id":1}');
    p.socket.write('{"execute":"query-migrate","id":"');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 1600; i++) {
      if (!p.socket.write(chunk)) await new Promise((r) => p.socket.once('drain', r));
    }
    p.send('"}\n{"execute":"query-migrate","id":2}');
    expect(await p.next()).toEqual({ return: {}, id: 1 });
    expect(await p.next()).toEqual({
      error: { class: 'GenericError', desc: 'JSON token size limit exceeded (a request line may hold at most 1048576 bytes)' },
    });
    expect(await p.next()).toEqual({ return: {}, id: 2 });
    expect(p.pendingCount()).toBe(0);
  });

  it("nesting deeper than QEMU's 1024 gets QEMU's error without id; 1024 deep is answered", async () => {
    await start();
    const p = await negotiated();
    expect(await p.request(`{"execute":"query-migrate","id":${nested(1023)}}`)).toEqual({ return: {}, id: JSON.parse(nested(1023)) });
    expect(await p.request(`{"execute":"query-migrate","id":${nested(1024)}}`)).toEqual({
      error: { class: 'GenericError', desc: 'JSON nesting depth limit exceeded' },
    });
    expect(await p.request('{"execute":"query-migrate","id":3}')).toEqual({ return: {}, id: 3 });
  });

  it('too many tokens get QEMU\'s error (bounds as configured)', async () => {
    await start({}, { maxTokens: 100 });
    const p = await negotiated();
    expect(await p.request(`{"execute":"query-migrate","id":[${'1,'.repeat(60)}1]}`)).toEqual({
      error: { class: 'GenericError', desc: 'JSON token count limit exceeded' },
    });
    expect(await p.request('{"execute":"query-migrate","id":3}')).toEqual({ return: {}, id: 3 });
  });
});

describe('clients that do not read', () => {
  it('a client sending requests without reading is held back, not buffered for; it gets every reply once it reads', async () => {
    let calls = 0;
    const big = 'r'.repeat(64 * 1024);
    await start({ 'human-monitor-command': () => (calls++, big) });
    const p = await negotiated();
    p.socket.pause(); // reads nothing from here
    const total = 5000;
    const requests = Array.from({ length: total }, (_, i) => `{"execute":"human-monitor-command","arguments":{"command-line":"info"},"id":${i}}\n`).join('');
    p.socket.write(requests);
    // wait until the server stops answering: every reply it wrote sits in the kernel or node's buffer
    let seen = -1;
    await vi.waitFor(() => {
      const now = calls;
      const stable = now === seen;
      seen = now;
      expect(stable).toBe(true);
    }, { timeout: 20_000, interval: 300 });
    // kernel socket buffers hold a few replies; without backpressure all 5000 (320 MiB) would have been made
    expect(calls).toBeLessThan(100);
    const other = await negotiated();
    expect(await other.request('{"execute":"query-migrate","id":"other"}')).toEqual({ return: {}, id: 'other' });
    p.socket.resume();
    for (let i = 0; i < total; i++) expect((await p.next())['id']).toBe(i);
    expect(calls).toBe(total);
  }, 60_000);

  it(`reading stops once ${MAX_QUEUED_REQUESTS} requests wait (QEMU's queue length), while a command runs`, async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    await start({ pmemsave: async () => void (calls++, await gate), 'query-migrate': () => (calls++, {}) });
    const p = await negotiated();
    p.send('{"execute":"pmemsave","arguments":{"val":0,"size":4096,"filename":"/dev/null"}}');
    await vi.waitFor(() => expect(calls).toBe(1));
    // 2 MiB of requests while the first blocks: the server's own buffers take a bounded share of them
    const line = '{"execute":"query-migrate"}\n';
    const burst = line.repeat(Math.ceil((2 << 20) / line.length));
    const flushed = new Promise<void>((r) => p.socket.write(burst, () => r()));
    await new Promise((r) => setTimeout(r, 2000));
    // node counts a write as pending until the kernel took all of it: the server has not read the burst
    expect(p.socket.writableLength).toBeGreaterThan(1 << 20);
    release();
    await flushed;
    const count = burst.length / line.length;
    for (let i = 0; i <= count; i++) await p.next();
    expect(calls).toBe(count + 1);
  }, 60_000);

  it('a client that lets events pile up past the bound is disconnected; readers get every event', async () => {
    await start({}, { maxPendingOutputBytes: 64 * 1024 });
    const deaf = await negotiated();
    deaf.socket.pause();
    const reader = await negotiated();
    const batches = 100;
    for (let b = 0; b < batches && !deaf.closed; b++) {
      for (let i = 0; i < 100; i++) server!.emit('MIGRATION_PASS', { pass: b * 100 + i });
      for (let i = 0; i < 100; i++) expect((await reader.next())['data']).toEqual({ pass: b * 100 + i });
      await new Promise((r) => setImmediate(r));
    }
    await vi.waitFor(() => expect(server!.clientCount).toBe(1), { timeout: 10_000 });
    expect(logs.some((m) => /QMP client \d+ is not reading \(\d+ bytes queued, bound 65536\); disconnecting it/.test(m))).toBe(true);
    expect(await reader.request('{"execute":"query-migrate","id":9}')).toEqual({ return: {}, id: 9 });
  }, 60_000);
});

describe('connection storms', () => {
  const openFds = () => readdirSync('/proc/self/fd').length;

  it('300 connections dropped at every stage leave no client, no descriptor and no error behind', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await start({ pmemsave: async () => gate });
    const tcp = await server!.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
    const tcpPort = tcp.endpoint.kind === 'tcp' ? tcp.endpoint.port : 0;
    const before = openFds();
    const stage = async (i: number): Promise<void> => {
      const s = net.connect(i % 2 === 0 ? { path: sock } : { host: '127.0.0.1', port: tcpPort });
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      const kind = i % 5;
      if (kind === 0) return void s.destroy(); // before the greeting is read
      await new Promise((r) => s.once('data', r));
      if (kind === 1) return void s.destroy(); // after the greeting
      s.write('{"execute":"qmp_capabilities"}\n{"execute":"query-migrate","arg');
      if (kind === 2) return void s.destroy(); // mid-request
      s.write('uments":{}}\n{"execute":"pmemsave","arguments":{"val":0,"size":4096,"filename":"/dev/null"}}\n');
      if (kind === 3) return void s.end(); // a command running, our side half-closed
      if (i % 2 === 1) s.resetAndDestroy(); // tcp RST
      else s.destroy();
    };
    for (let i = 0; i < 300; i += 30) await Promise.all(Array.from({ length: 30 }, (_, k) => stage(i + k)));
    release();
    await vi.waitFor(() => expect(server!.clientCount).toBe(0), { timeout: 10_000 });
    await vi.waitFor(() => expect(openFds()).toBeLessThanOrEqual(before), { timeout: 10_000 });
    expect(logs).toEqual([]);
    const p = await negotiated();
    expect(await p.request('{"execute":"query-migrate"}')).toEqual({ return: {} });
  }, 60_000);
});

describe('unix socket permissions', () => {
  const mode = (path: string) => statSync(path).mode & 0o777;

  it('owner-only by default, whatever the umask', async () => {
    const previous = process.umask(0o000);
    try {
      await start();
    } finally {
      process.umask(previous);
    }
    expect(mode(sock)).toBe(0o600);
    expect(process.umask()).toBe(previous); // put back
  });

  it('socketMode sets another mode; "umask" leaves it to the umask as QEMU 7.2 does', async () => {
    await start();
    const shared = join(tmp.dir, 'shared.sock');
    await server!.listen({ kind: 'unix', path: shared }, { socketMode: 0o660 });
    expect(mode(shared)).toBe(0o660);
    const asQemu = join(tmp.dir, 'umask.sock');
    const previous = process.umask(0o027);
    try {
      await server!.listen({ kind: 'unix', path: asQemu }, { socketMode: 'umask' });
    } finally {
      process.umask(previous);
    }
    expect(mode(asQemu)).toBe(0o750);
  });
});
