import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError } from './errors.js';
import { listenIncoming, openOutgoing } from './open.js';
import type { WritableSink } from './sink.js';
import type { ByteSource, IncomingListener } from './types.js';
import { hasRdmaDevice } from './rdma/verbs/devices.js';
import { parseMigrationUri } from './uri.js';

const MiB = 1024 * 1024;
/** Chunk sizes cycled through by the writer: page-sized, odd, and large. */
const CHUNK_SIZES = [MiB, 4096, 123_457, 3 * MiB + 5, 1];

let data: Buffer;
let dataHash: string;
let dir: string;

beforeAll(() => {
  data = randomBytes(64 * MiB);
  dataHash = createHash('sha256').update(data).digest('hex');
  dir = mkdtempSync(join(tmpdir(), 'mig-transports-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function writeAll(sink: WritableSink, bytes: Buffer): Promise<void> {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = Math.min(CHUNK_SIZES[i % CHUNK_SIZES.length] as number, bytes.length - offset);
    await sink.write(bytes.subarray(offset, offset + size));
    offset += size;
  }
  await sink.end();
}

async function hashAll(source: ByteSource): Promise<{ hash: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { hash: hash.digest('hex'), bytes };
}

async function roundTrip(listenUri: string, connectUri?: (listener: IncomingListener) => string): Promise<void> {
  const listener = await listenIncoming(parseMigrationUri(listenUri));
  try {
    const accepted = listener.accept();
    const sink = await openOutgoing(parseMigrationUri(connectUri?.(listener) ?? (listener.address as string)));
    const [received] = await Promise.all([accepted.then(hashAll), writeAll(sink, data)]);
    expect(received.bytes).toBe(data.length);
    expect(received.hash).toBe(dataHash);
    expect(sink.bytesWritten).toBe(data.length);
    expect(sink.bytesFlushed).toBe(data.length);
  } finally {
    await listener.close();
  }
}

/** Writes 1 MiB chunks until a write rejects (a peer that dies); returns what it rejected with. */
async function writeUntilError(sink: WritableSink): Promise<unknown> {
  const chunk = data.subarray(0, MiB);
  try {
    for (let i = 0; i < 10_000; i++) await sink.write(chunk);
  } catch (err) {
    return err;
  }
  throw new Error('10 GiB were written to a peer that should have died');
}

/** Whether process `pid` goes away within a generous bound (it is signalled, so it should at once). */
async function exits(pid: number): Promise<boolean> {
  for (let i = 0; i < 1000; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return false;
}

/** A free tcp port on 127.0.0.1, closed again: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const ipv6 = await new Promise<boolean>((resolve) => {
  const server = net.createServer();
  server.once('error', () => resolve(false));
  server.listen(0, '::1', () => server.close(() => resolve(true)));
});

describe('tcp', () => {
  it('carries 64 MiB of random data intact', async () => {
    await roundTrip('tcp:127.0.0.1:0');
  });

  it('reports the real port of a port-0 listener', async () => {
    const listener = await listenIncoming(parseMigrationUri('tcp:127.0.0.1:0'));
    const bound = parseMigrationUri(listener.address as string);
    expect(bound.kind).toBe('tcp');
    expect(bound.kind === 'tcp' && bound.host).toBe('127.0.0.1');
    expect(bound.kind === 'tcp' && bound.port).toBeGreaterThan(0);
    await listener.close();
  });

  it.each(['tcp::0', 'tcp:0:0'])('%s listens on every address', async (uri) => {
    const listener = await listenIncoming(parseMigrationUri(uri));
    const bound = parseMigrationUri(listener.address as string);
    if (bound.kind !== 'tcp') throw new Error(`not tcp: ${listener.address}`);
    expect(['::', '0.0.0.0']).toContain(bound.host);
    const accepted = listener.accept();
    const sink = await openOutgoing({ kind: 'tcp', host: '127.0.0.1', port: bound.port });
    await sink.write(Buffer.from('hello'));
    await sink.end();
    const received = await hashAll(await accepted);
    expect(received.bytes).toBe(5);
    await listener.close();
  });

  it.skipIf(!ipv6)('works over IPv6 with a bracketed host (skipped when ::1 cannot be bound here)', async () => {
    const listener = await listenIncoming(parseMigrationUri('tcp:[::1]:0'));
    expect(listener.address).toMatch(/^tcp:\[::1\]:[1-9][0-9]*$/);
    const accepted = listener.accept();
    const sink = await openOutgoing(parseMigrationUri(listener.address as string));
    await Promise.all([writeAll(sink, data.subarray(0, 8 * MiB)), accepted.then(hashAll)]).then(([, got]) => {
      expect(got.hash).toBe(createHash('sha256').update(data.subarray(0, 8 * MiB)).digest('hex'));
    });
    await listener.close();
  });

  it('accepts one connection only, as QEMU does', async () => {
    const listener = await listenIncoming(parseMigrationUri('tcp:127.0.0.1:0'));
    const accepted = listener.accept();
    const first = await openOutgoing(parseMigrationUri(listener.address as string));
    await accepted;
    await expect(listener.accept()).rejects.toThrow(/already accepted its one connection/);
    await expect(openOutgoing(parseMigrationUri(listener.address as string))).rejects.toThrow(/ECONNREFUSED/);
    first.destroy();
    await listener.close();
  });

  it('a signal aborts a connect under way (the reason is the rejection) and a pre-aborted one refuses at once', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const uri = parseMigrationUri(`tcp:127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    const ac = new AbortController();
    const opening = openOutgoing(uri, { signal: ac.signal });
    ac.abort(new Error('migration stalled: the target did not take the connection'));
    await expect(opening).rejects.toThrow('migration stalled: the target did not take the connection');
    const pre = new AbortController();
    pre.abort();
    const err = await openOutgoing(uri, { signal: pre.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(/^connecting the migration stream to tcp:127\.0\.0\.1:\d+ was aborted$/);
    const connected = await openOutgoing(uri, { signal: new AbortController().signal }); // not aborted: as usual
    connected.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('names the address when the connection is refused', async () => {
    const port = await closedPort();
    const err = (await openOutgoing(parseMigrationUri(`tcp:127.0.0.1:${port}`)).catch((e: unknown) => e)) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.message).toBe(
      `cannot connect the migration stream to tcp:127.0.0.1:${port}: connection refused (ECONNREFUSED)`,
    );
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('names the address when it cannot listen', async () => {
    const first = await listenIncoming(parseMigrationUri('tcp:127.0.0.1:0'));
    await expect(listenIncoming(parseMigrationUri(first.address as string))).rejects.toThrow(
      `cannot listen for the migration stream on ${first.address}: address already in use (EADDRINUSE)`,
    );
    await first.close();
  });

  it('rejects accept() when the listener is closed before a connection came', async () => {
    const listener = await listenIncoming(parseMigrationUri('tcp:127.0.0.1:0'));
    const accepted = listener.accept();
    await listener.close();
    await expect(accepted).rejects.toThrow(/was closed before a connection came/);
  });

  it('keeps the writer’s buffered bytes bounded while the reader is slow', async () => {
    const listener = await listenIncoming(parseMigrationUri('tcp:127.0.0.1:0'));
    const accepted = listener.accept();
    const sink = await openOutgoing(parseMigrationUri(listener.address as string));
    const source = await accepted;
    const total = 128 * MiB;
    const chunk = data.subarray(0, MiB);
    let maxBuffered = 0;
    let maxAhead = 0;
    let read = 0;
    const writer = (async () => {
      for (let sent = 0; sent < total; sent += chunk.length) {
        await sink.write(chunk);
        maxBuffered = Math.max(maxBuffered, sink.bufferedBytes);
        maxAhead = Math.max(maxAhead, sink.bytesWritten - read);
      }
      await sink.end();
    })();
    for await (const got of source) {
      read += got.byteLength;
      // A slow reader: yield to the event loop after every chunk.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await writer;
    expect(read).toBe(total);
    // Without backpressure the writer would have queued all 128 MiB in memory at once.
    expect(maxBuffered).toBeLessThanOrEqual(sink.highWaterMark + chunk.length);
    // Ahead of the reader: our buffer, the kernel's socket buffers, the reader's queue.
    expect(maxAhead).toBeLessThan(48 * MiB);
    await listener.close();
  });

  it('rejects writes with a clear error when the peer is killed mid-stream', async () => {
    // A peer in another process that dies (SIGKILL) once the first bytes arrive.
    const peer = spawn(
      process.execPath,
      [
        '-e',
        `require('net').createServer((s) => s.once('data', () => process.kill(process.pid, 'SIGKILL')))
           .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const port = await new Promise<number>((resolve) => peer.stdout.once('data', (text: Buffer) => resolve(Number(text))));
    const sink = await openOutgoing({ kind: 'tcp', host: '127.0.0.1', port });
    const err = await writeUntilError(sink);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(
      new RegExp(`^peer closed the migration stream( \\((EPIPE|ECONNRESET)\\))? after \\d+ bytes \\[tcp:127\\.0\\.0\\.1:${port}\\]$`),
    );
    await expect(sink.end()).rejects.toBe(err);
  });
});

describe('unix', () => {
  it('carries 64 MiB of random data intact', async () => {
    await roundTrip(`unix:${join(dir, 'rt.sock')}`);
  });

  it('removes a stale socket file left by a dead listener, and its own on close', async () => {
    const path = join(dir, 'stale.sock');
    const dead = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    await new Promise((resolve) => dead.once('exit', resolve));
    expect(existsSync(path)).toBe(true);
    const listener = await listenIncoming({ kind: 'unix', path });
    expect(listener.address).toBe(`unix:${path}`);
    const accepted = listener.accept();
    const sink = await openOutgoing({ kind: 'unix', path });
    await sink.write(Buffer.from('x'));
    await sink.end();
    expect((await hashAll(await accepted)).bytes).toBe(1);
    await listener.close();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses to remove a file that is not a socket', async () => {
    const path = join(dir, 'plain-file');
    writeFileSync(path, 'keep me');
    await expect(listenIncoming({ kind: 'unix', path })).rejects.toThrow(
      `cannot listen on unix:${path}: '${path}' exists and is not a socket; not removing it`,
    );
    expect(existsSync(path)).toBe(true);
  });

  it('names the path when there is no socket to connect to', async () => {
    const path = join(dir, 'nobody.sock');
    await expect(openOutgoing({ kind: 'unix', path })).rejects.toThrow(
      `cannot connect the migration stream to unix:${path}: no such file or directory (ENOENT)`,
    );
  });
});

describe('exec', () => {
  it('round-trips 64 MiB through `exec:cat > FILE` and `exec:cat FILE`', async () => {
    const file = join(dir, 'stream.bin');
    const sink = await openOutgoing(parseMigrationUri(`exec:cat > '${file}'`));
    await writeAll(sink, data);
    const listener = await listenIncoming(parseMigrationUri(`exec:cat '${file}'`));
    expect(listener.address).toBe(`exec:cat '${file}'`);
    const received = await hashAll(await listener.accept());
    expect(received.bytes).toBe(data.length);
    expect(received.hash).toBe(dataHash);
    await listener.close();
  });

  it('end() resolves only after the command exited', async () => {
    const file = join(dir, 'done.bin');
    const sink = await openOutgoing({ kind: 'exec', command: `cat > /dev/null && sleep 0.2 && echo ok > '${file}'` });
    await sink.write(Buffer.from('abc'));
    await sink.end();
    expect(existsSync(file)).toBe(true);
  });

  it('end() rejects when the command exits non-zero, with its status and stderr', async () => {
    const sink = await openOutgoing({ kind: 'exec', command: 'cat > /dev/null; echo "disk full" >&2; exit 3' });
    await sink.write(Buffer.from('abc'));
    const err = (await sink.end().catch((e: unknown) => e)) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.message).toBe(
      `migration command 'cat > /dev/null; echo "disk full" >&2; exit 3' exited with status 3; its stderr ends with: disk full`,
    );
  });

  it('writes reject with the exit status when the command dies mid-stream', async () => {
    const command = 'head -c 100000 > /dev/null; exit 7';
    const sink = await openOutgoing({ kind: 'exec', command });
    const err = await writeUntilError(sink);
    expect((err as Error).message).toBe(`migration command '${command}' exited with status 7`);
  });

  it('writes reject with a broken pipe when the command stops reading but exits 0', async () => {
    const command = 'head -c 100000 > /dev/null';
    const sink = await openOutgoing({ kind: 'exec', command });
    const err = await writeUntilError(sink);
    expect((err as Error).message).toMatch(
      /^peer closed the migration stream \(EPIPE\) after \d+ bytes \[exec:head -c 100000 > \/dev\/null\]: the command exited with status 0 before reading all of it$/,
    );
  });

  it('an incoming command that fails is an error with its stderr', async () => {
    const listener = await listenIncoming({ kind: 'exec', command: `cat '${join(dir, 'missing')}'` });
    const err = (await hashAll(await listener.accept()).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.message).toMatch(
      new RegExp(`^migration command 'cat '.*missing'' exited with status 1; its stderr ends with: cat: .*missing: No such file or directory$`),
    );
  });

  it('an incoming command that exits non-zero after its output is still an error', async () => {
    const listener = await listenIncoming({ kind: 'exec', command: 'printf abc; exit 4' });
    const source = await listener.accept();
    const chunks: Uint8Array[] = [];
    const err = await (async () => {
      for await (const chunk of source) chunks.push(chunk);
    })().catch((e: unknown) => e);
    expect(Buffer.concat(chunks).toString()).toBe('abc');
    expect((err as Error).message).toBe("migration command 'printf abc; exit 4' exited with status 4");
    await expect(listener.accept()).rejects.toThrow(/already gave its one stream/);
  });

  it('leaving an incoming stream early stops the command', async () => {
    const pidFile = join(dir, 'yes.pid');
    const listener = await listenIncoming({ kind: 'exec', command: `echo $$ > '${pidFile}'; exec yes` });
    const source = await listener.accept();
    let read = 0;
    for await (const chunk of source) {
      read += chunk.byteLength;
      if (read > MiB) break; // ends the iteration: the source stops `yes`
    }
    expect(read).toBeGreaterThan(MiB);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(await exits(pid)).toBe(true);
    await listener.close();
  });

  it('closing an incoming listener before accept() stops the command', async () => {
    const pidFile = join(dir, 'sleep.pid');
    const listener = await listenIncoming({ kind: 'exec', command: `echo $$ > '${pidFile}'; exec sleep 100` });
    let pid = NaN;
    for (let i = 0; i < 1000 && !(pid > 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (existsSync(pidFile)) pid = Number(readFileSync(pidFile, 'utf8'));
    }
    await listener.close();
    expect(await exits(pid)).toBe(true);
    await expect(listener.accept()).rejects.toThrow(/is closed/);
  });
});

// With a device, rdma-device.test.ts migrates over it instead.
describe.skipIf(hasRdmaDevice())('rdma without an RDMA device', () => {
  it('parses but fails at once in either direction with a TransportError naming the URI', async () => {
    const parsed = parseMigrationUri('rdma:10.0.0.1:4444');
    const message = 'rdma:10.0.0.1:4444: no RDMA device was found (libibverbs lists none)';
    const started = performance.now();
    await expect(openOutgoing(parsed)).rejects.toThrow(TransportError);
    await expect(openOutgoing(parsed)).rejects.toThrow(message);
    await expect(listenIncoming(parsed)).rejects.toThrow(message);
    await expect(listenIncoming(parseMigrationUri('rdma::4444'))).rejects.toThrow('rdma::4444: no RDMA device was found');
    expect(performance.now() - started).toBeLessThan(5000); // a bound against a hang, not a speed claim
  });
});
