import { closeSync, createReadStream, createWriteStream, fstatSync, readFileSync } from 'node:fs';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { TransportError, describeCause, errorCode } from './errors.js';
import { DEFAULT_HIGH_WATER_MARK, WritableSink } from './sink.js';
import { socketSink } from './socket.js';
import { ReadableSource } from './source.js';
import { secureClient, secureServer, type TlsClientOptions, type TlsServerOptions } from './tls.js';
import type { TransportListener } from './types.js';

/**
 * fd: the stream is a descriptor the daemon was handed (QEMU's getfd, or inherited with `-incoming fd:N`).
 * Whatever reads or writes will do: a socket or a pipe goes through libuv as a stream (non-blocking, with
 * backpressure from the kernel); a regular file or a character device goes through node's fs streams. The
 * transport owns the descriptor: it is closed when the stream ends, fails or is destroyed.
 */

export type DescriptorKind = 'socket' | 'pipe' | 'file';
export type Direction = 'outgoing' | 'incoming';

/**
 * O_RDONLY / O_WRONLY / O_RDWR from /proc/self/fdinfo (node has no fcntl), or undefined where that cannot
 * be read. Checked up front: libuv would report a write to a read-only pipe as EPIPE, a peer that went away.
 */
function accessMode(fd: number): 'read' | 'write' | 'both' | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  } catch {
    return undefined;
  }
  const flags = /^flags:\s*([0-7]+)$/m.exec(text)?.[1];
  if (flags === undefined) return undefined;
  return (['read', 'write', 'both'] as const)[Number.parseInt(flags, 8) & 3];
}

/**
 * What the descriptor is, or a TransportError naming it: not open (EBADF), a directory, the wrong way
 * round (those two are closed: the transport owns the descriptor). The daemon calls it before a worker
 * opens the stream, so that a bad descriptor is a QMP error at once.
 */
export function inspectDescriptor(fd: number, endpoint: string, direction: Direction): DescriptorKind {
  const kind = inspectKind(fd, endpoint);
  const mode = accessMode(fd);
  const wrong = direction === 'outgoing' ? 'read' : 'write';
  if (mode === wrong) {
    closeQuietly(fd);
    throw new TransportError(
      `cannot use ${endpoint} (descriptor ${fd}) for the ${direction} migration stream: it is open for ${mode === 'read' ? 'reading' : 'writing'} only`,
      { endpoint, code: 'EBADF' },
    );
  }
  return kind;
}

function inspectKind(fd: number, endpoint: string): DescriptorKind {
  if (!Number.isInteger(fd) || fd < 0) {
    throw new TransportError(`cannot use ${endpoint} for the migration stream: ${fd} is not a file descriptor`, { endpoint });
  }
  let stats;
  try {
    stats = fstatSync(fd);
  } catch (err) {
    throw new TransportError(`cannot use ${endpoint} (descriptor ${fd}) for the migration stream: ${describeCause(err)}`, {
      endpoint,
      code: errorCode(err),
      cause: err,
    });
  }
  if (stats.isSocket()) return 'socket';
  if (stats.isFIFO()) return 'pipe';
  if (stats.isFile() || stats.isCharacterDevice() || stats.isBlockDevice()) return 'file';
  closeQuietly(fd);
  throw new TransportError(`cannot use ${endpoint} (descriptor ${fd}) for the migration stream: it is a directory`, { endpoint });
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** TLS needs both ways: only a socket descriptor can carry it (the descriptor is closed otherwise). */
function requireSocketForTls(fd: number, kind: DescriptorKind, endpoint: string): void {
  if (kind === 'socket') return;
  closeQuietly(fd);
  throw new TransportError(`cannot use ${endpoint} (descriptor ${fd}) with TLS: it is a ${kind}, and TLS needs a two-way socket`, { endpoint });
}

/**
 * Writes the stream to descriptor `fd`. A socket is read too, so that the peer's close is seen at once.
 * With `tls`, a socket only: the stream is a TLS client session over it.
 */
export async function openFdOutgoing(fd: number, endpoint: string, tls?: TlsClientOptions): Promise<WritableSink> {
  const kind = inspectDescriptor(fd, endpoint, 'outgoing');
  if (tls !== undefined) {
    requireSocketForTls(fd, kind, endpoint);
    const socket = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    socket.setNoDelay(true);
    return socketSink(await secureClient(socket, tls, endpoint), endpoint);
  }
  if (kind === 'socket') {
    const socket = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    return socketSink(socket, endpoint);
  }
  if (kind === 'pipe') {
    const pipe = new net.Socket({ fd, readable: false, writable: true });
    return new WritableSink(pipe, { endpoint, release: () => pipe.destroy() });
  }
  const file = createWriteStream('', { fd, autoClose: true, highWaterMark: DEFAULT_HIGH_WATER_MARK });
  // fs closes the descriptor after 'finish', on its thread pool: end() waits for that too
  const closed = new Promise<void>((resolve) => file.once('close', resolve));
  return new WritableSink(file, { endpoint, afterFinish: () => closed, release: () => file.destroy() });
}

/**
 * The descriptor is the stream itself (nothing to accept): `accept()` gives it once; `close()` before that
 * closes it. With `tls`, a socket only: `accept()` runs the TLS handshake as the server.
 */
export function listenFdIncoming(fd: number, endpoint: string, tls?: TlsServerOptions): TransportListener {
  const kind = inspectDescriptor(fd, endpoint, 'incoming');
  if (tls !== undefined) requireSocketForTls(fd, kind, endpoint);
  return new FdListener(fd, kind, endpoint, tls);
}

class FdListener implements TransportListener {
  readonly address: string;
  readonly #fd: number;
  readonly #kind: DescriptorKind;
  readonly #tls: TlsServerOptions | undefined;
  #taken = false;
  #closed = false;

  constructor(fd: number, kind: DescriptorKind, endpoint: string, tls: TlsServerOptions | undefined) {
    this.#fd = fd;
    this.#kind = kind;
    this.address = endpoint;
    this.#tls = tls;
  }

  accept(): Promise<ReadableSource> {
    if (this.#closed || this.#taken) {
      const why = this.#closed ? 'is closed' : 'already gave its one stream';
      return Promise.reject(new TransportError(`the listener for ${this.address} ${why}`, { endpoint: this.address }));
    }
    this.#taken = true;
    if (this.#tls !== undefined) return this.#acceptSecure(this.#tls);
    const stream: Readable =
      this.#kind === 'file'
        ? createReadStream('', { fd: this.#fd, autoClose: true, highWaterMark: 1024 * 1024 })
        : new net.Socket({ fd: this.#fd, readable: true, writable: false });
    return Promise.resolve(new ReadableSource(stream, { endpoint: this.address, release: () => stream.destroy() }));
  }

  async #acceptSecure(tls: TlsServerOptions): Promise<ReadableSource> {
    const socket = new net.Socket({ fd: this.#fd, readable: true, writable: true, allowHalfOpen: true });
    const secured = await secureServer(socket, tls, this.address);
    return new ReadableSource(secured, { endpoint: this.address, release: () => secured.destroy() });
  }

  /** Closes the descriptor unless its stream was accepted (then the source owns it). */
  close(): Promise<void> {
    if (!this.#closed && !this.#taken) closeQuietly(this.#fd);
    this.#closed = true;
    return Promise.resolve();
  }
}
