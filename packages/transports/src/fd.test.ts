import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportError } from './errors.js';
import { listenIncoming, openOutgoing } from './open.js';
import type { WritableSink } from './sink.js';
import type { ByteSource, TransportContext } from './types.js';

// Node makes neither socket pairs nor pipes: libc's, through koffi (a dev dependency of these tests only).
const libc = koffi.load('libc.so.6');
const socketpair = libc.func('int socketpair(int domain, int type, int protocol, _Out_ int *fds)');
const pipe2 = libc.func('int pipe2(_Out_ int *fds, int flags)');
const O_CLOEXEC = 0o2000000;

function socketPair(): [number, number] {
  const fds = [-1, -1];
  expect(socketpair(1, 1 | O_CLOEXEC, 0, fds)).toBe(0);
  return fds as [number, number];
}

function pipePair(): { read: number; write: number } {
  const fds = [-1, -1];
  expect(pipe2(fds, O_CLOEXEC)).toBe(0);
  return { read: fds[0]!, write: fds[1]! };
}

/** A context that hands out `fd` for `fd:NAME` and records the names asked for. */
function handing(fd: number, asked: string[] = []): TransportContext {
  return {
    takeDescriptor: (name) => {
      asked.push(name);
      return fd;
    },
  };
}

function isClosed(fd: number): boolean {
  try {
    fstatSync(fd);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EBADF';
  }
}

const MiB = 1024 * 1024;
let data: Buffer;
let dataHash: string;
let dir: string;

beforeAll(() => {
  data = randomBytes(32 * MiB);
  dataHash = createHash('sha256').update(data).digest('hex');
  dir = mkdtempSync(join(tmpdir(), 'mig-fd-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function writeAll(sink: WritableSink, bytes: Buffer): Promise<void> {
  for (let at = 0; at < bytes.length; at += 3 * MiB + 7) await sink.write(bytes.subarray(at, at + 3 * MiB + 7));
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

/** Sends `data` from descriptor `out` to descriptor `inn` through the fd transport, checks it and both closes. */
async function roundTrip(out: number, inn: number): Promise<void> {
  const asked: string[] = [];
  const listener = await listenIncoming({ kind: 'fd', name: 'in' }, handing(inn, asked));
  expect(listener.address).toBe('fd:in');
  const sink = await openOutgoing({ kind: 'fd', name: 'out' }, handing(out, asked));
  expect(asked).toEqual(['in', 'out']);
  const [received] = await Promise.all([listener.accept().then(hashAll), writeAll(sink, data)]);
  expect(received).toEqual({ hash: dataHash, bytes: data.length });
  await listener.close();
  expect(isClosed(out)).toBe(true);
  expect(isClosed(inn)).toBe(true);
}

describe('fd: any descriptor that reads or writes', () => {
  it('a socket pair carries the stream both ways round, and both ends are closed after', async () => {
    const [a, b] = socketPair();
    await roundTrip(a, b);
  });

  it('a pipe carries it one way', async () => {
    const p = pipePair();
    await roundTrip(p.write, p.read);
  });

  it('a regular file: written, then read back', async () => {
    const file = join(dir, 'stream.bin');
    const out = openSync(file, 'w');
    await writeAll(await openOutgoing({ kind: 'fd', name: 'file' }, handing(out)), data);
    expect(isClosed(out)).toBe(true);
    const listener = await listenIncoming({ kind: 'fd', name: 'file' }, handing(openSync(file, 'r')));
    expect(await hashAll(await listener.accept())).toEqual({ hash: dataHash, bytes: data.length });
  });

  it('keeps the writer’s buffered bytes bounded while the reader of a socket pair is slow', async () => {
    const [a, b] = socketPair();
    const sink = await openOutgoing({ kind: 'fd', name: 'slow' }, handing(a));
    const source = await (await listenIncoming({ kind: 'fd', name: 'slow' }, handing(b))).accept();
    const total = 96 * MiB;
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
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await writer;
    expect(read).toBe(total);
    expect(maxBuffered).toBeLessThanOrEqual(sink.highWaterMark + chunk.length);
    expect(maxAhead).toBeLessThan(48 * MiB);
  });
});

describe('fd: errors name the URI and the system error', () => {
  it('a descriptor that is not open', async () => {
    const p = pipePair();
    closeSync(p.read);
    closeSync(p.write);
    const err = (await openOutgoing({ kind: 'fd', name: 'gone' }, handing(p.write)).catch((e: unknown) => e)) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.message).toBe(`cannot use fd:gone (descriptor ${p.write}) for the migration stream: bad file descriptor (EBADF)`);
    expect(err.code).toBe('EBADF');
    await expect(listenIncoming({ kind: 'fd', name: 'gone' }, handing(p.read))).rejects.toThrow(
      `cannot use fd:gone (descriptor ${p.read}) for the migration stream: bad file descriptor (EBADF)`,
    );
  });

  it('a directory is refused (and closed)', async () => {
    const fd = openSync(dir, 'r');
    await expect(openOutgoing({ kind: 'fd', name: 'dir' }, handing(fd))).rejects.toThrow(
      `cannot use fd:dir (descriptor ${fd}) for the migration stream: it is a directory`,
    );
    expect(isClosed(fd)).toBe(true);
  });

  it('without a context there is no descriptor to take', async () => {
    await expect(openOutgoing({ kind: 'fd', name: 'x' })).rejects.toThrow(
      'fd:x: no file descriptors were handed to this transport (the daemon passes them)',
    );
    await expect(listenIncoming({ kind: 'fd', name: 'x' })).rejects.toThrow(TransportError);
  });

  it("the context's own error passes through (the daemon words it as QEMU does)", async () => {
    const context: TransportContext = {
      takeDescriptor: (name) => {
        throw new Error(`File descriptor named '${name}' has not been found`);
      },
    };
    await expect(openOutgoing({ kind: 'fd', name: 'nope' }, context)).rejects.toThrow("File descriptor named 'nope' has not been found");
  });

  it('the wrong end of a pipe is refused at once, and closed', async () => {
    const p = pipePair();
    await expect(openOutgoing({ kind: 'fd', name: 'ro' }, handing(p.read))).rejects.toThrow(
      `cannot use fd:ro (descriptor ${p.read}) for the outgoing migration stream: it is open for reading only`,
    );
    await expect(listenIncoming({ kind: 'fd', name: 'wo' }, handing(p.write))).rejects.toThrow(
      `cannot use fd:wo (descriptor ${p.write}) for the incoming migration stream: it is open for writing only`,
    );
    expect(isClosed(p.read)).toBe(true);
    expect(isClosed(p.write)).toBe(true);
  });

  it('a reader that goes away fails the writes with the peer close, naming the URI', async () => {
    const [a, b] = socketPair();
    const sink = await openOutgoing({ kind: 'fd', name: 'peer' }, handing(a));
    closeSync(b);
    let err: unknown;
    try {
      for (let i = 0; i < 1000; i++) await sink.write(data.subarray(0, MiB));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(/^peer closed the migration stream( \((EPIPE|ECONNRESET)\))? after \d+ bytes \[fd:peer\]$/);
    expect(isClosed(a)).toBe(true);
  });

  it('a stream that ends early is an error on the incoming side', async () => {
    const [a, b] = socketPair();
    const source = await (await listenIncoming({ kind: 'fd', name: 'cut' }, handing(b))).accept();
    const reading = hashAll(source);
    const writer = await openOutgoing({ kind: 'fd', name: 'w' }, handing(a));
    await writer.write(Buffer.from('partial'));
    writer.destroy();
    // the reader sees a plain EOF: end of stream is the loader's business, the transport just ends
    expect((await reading).bytes).toBe(7);
  });
});

describe('fd: closing', () => {
  it('closing the listener before accept() closes the descriptor', async () => {
    const [a, b] = socketPair();
    const listener = await listenIncoming({ kind: 'fd', name: 'unused' }, handing(b));
    await listener.close();
    expect(isClosed(b)).toBe(true);
    expect(readSync(a, Buffer.alloc(1))).toBe(0); // the peer sees the close
    closeSync(a);
    await expect(listener.accept()).rejects.toThrow('the listener for fd:unused is closed');
  });

  it('destroying the sink (a cancel) closes the descriptor; the peer sees the end', async () => {
    const [a, b] = socketPair();
    const sink = await openOutgoing({ kind: 'fd', name: 'cancel' }, handing(a));
    await sink.write(Buffer.from('some'));
    sink.destroy();
    await expect(sink.write(Buffer.from('more'))).rejects.toThrow(/fd:cancel was destroyed/);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(isClosed(a)).toBe(true);
    const buf = Buffer.alloc(16);
    expect(readSync(b, buf)).toBe(4);
    expect(readSync(b, buf)).toBe(0);
    closeSync(b);
  });

  it('destroying the source closes the descriptor', async () => {
    const [a, b] = socketPair();
    const source = await (await listenIncoming({ kind: 'fd', name: 'stop' }, handing(b))).accept();
    source.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(isClosed(b)).toBe(true);
    closeSync(a);
  });
});
