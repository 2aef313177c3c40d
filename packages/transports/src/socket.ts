import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { TransportError, describeCause, errorCode } from './errors.js';
import { DEFAULT_HIGH_WATER_MARK, WritableSink, describeWriteFailure } from './sink.js';
import { ReadableSource } from './source.js';
import { describeTlsFailure, isTlsFailure, secureClient, secureServer, type TlsClientOptions, type TlsServerOptions } from './tls.js';
import type { TransportListener } from './types.js';

/** What tcp and unix share: connect for a sink, listen and accept one connection for a source. */

/** Why an open was aborted: the signal's reason when it is an Error. */
export function abortReason(signal: AbortSignal, endpoint: string): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  return new TransportError(`connecting the migration stream to ${endpoint} was aborted`, { endpoint });
}

/**
 * Connects, then wraps the socket in a sink (with `tls`: after the TLS handshake). Rejects with the address
 * and the reason; `signal` aborts a connect or handshake still under way (a blackholed peer never answers
 * it), rejecting with the signal's reason.
 */
export async function connectSocket(
  options: net.NetConnectOpts,
  endpoint: string,
  tls?: TlsClientOptions,
  signal?: AbortSignal,
): Promise<WritableSink> {
  const socket = await connectRaw(options, endpoint, signal);
  if (tls === undefined) return socketSink(socket, endpoint);
  socket.setNoDelay(true);
  return socketSink(await abortable(secureClient(socket, tls, endpoint), socket, endpoint, signal), endpoint);
}

/** `work` on `socket`, unless `signal` aborts first: then the socket is destroyed and the abort's reason thrown. */
function abortable<T>(work: Promise<T>, socket: net.Socket, endpoint: string, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      socket.destroy();
      reject(abortReason(signal, endpoint));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

function connectRaw(options: net.NetConnectOpts, endpoint: string, signal?: AbortSignal): Promise<net.Socket> {
  if (signal?.aborted === true) return Promise.reject(abortReason(signal, endpoint));
  return new Promise<net.Socket>((resolve, reject) => {
    // allowHalfOpen: a FIN from the peer must not end our side behind the sink's back.
    // highWaterMark reaches the socket's Duplex options; @types/node does not list it for connect.
    const connectOptions = { ...options, allowHalfOpen: true, highWaterMark: DEFAULT_HIGH_WATER_MARK };
    const socket = net.connect(connectOptions as net.NetConnectOpts);
    const onAbort = (): void => {
      socket.destroy();
      reject(abortReason(signal!, endpoint));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const onError = (err: Error): void => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(
        new TransportError(`cannot connect the migration stream to ${endpoint}: ${describeCause(err)}`, {
          endpoint,
          code: errorCode(err),
          cause: err,
        }),
      );
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** A sink over a connected socket (tcp, unix, or one handed over as fd:); the peer's close fails it at once. */
export function socketSink(socket: net.Socket, endpoint: string): WritableSink {
  const secure = (socket as Partial<TLSSocket>).encrypted === true;
  if (!secure) socket.setNoDelay(true); // a TLS socket's own is set on the stream below it
  const sink = new WritableSink(socket, {
    endpoint,
    release: () => socket.destroy(),
    ...(secure ? { explainFailure: (err, flushed) => Promise.resolve(explainTlsStreamFailure(endpoint, err, flushed)) } : {}),
  });
  // The target never talks back in precopy; read whatever comes so that its FIN is seen.
  socket.on('data', () => {});
  socket.on('end', () => {
    if (socket.writableEnded) return; // our end() is under way: the peer may close once it has all
    sink.destroy(
      new TransportError(`peer closed the migration stream after ${sink.bytesFlushed} bytes [${endpoint}]`, {
        endpoint,
        bytes: sink.bytesFlushed,
      }),
    );
  });
  return sink;
}

/**
 * A TLS session that fails after its handshake: with TLS 1.3 the target's refusal of the client certificate
 * comes after the source's handshake is done, as an alert on the stream. Other failures keep their words.
 */
function explainTlsStreamFailure(endpoint: string, err: Error, flushed: number): Error {
  if (!isTlsFailure(err)) return describeWriteFailure(endpoint, err, flushed);
  return new TransportError(`TLS handshake with ${endpoint} failed: ${describeTlsFailure(err)} (after ${flushed} bytes)`, {
    endpoint,
    bytes: flushed,
    code: errorCode(err),
    cause: err,
  });
}

/**
 * Creates a server that accepts one connection; `describeBound` names where it really listens. With `tls`
 * the connection counts once its TLS handshake passed; until then the listener stays up (as QEMU 7.2's,
 * which reports a refused peer and waits for the next) and `onRefused` hears why each one was refused.
 */
export function listenSocket(
  listen: net.ListenOptions,
  endpoint: string,
  describeBound: (server: net.Server) => string,
  secure?: SecureAccept,
): Promise<SocketListener> {
  return new Promise<SocketListener>((resolve, reject) => {
    const server = net.createServer({ highWaterMark: DEFAULT_HIGH_WATER_MARK, noDelay: true, pauseOnConnect: true });
    const onError = (err: Error): void => {
      server.close();
      reject(
        new TransportError(`cannot listen for the migration stream on ${endpoint}: ${describeCause(err)}`, {
          endpoint,
          code: errorCode(err),
          cause: err,
        }),
      );
    };
    server.once('error', onError);
    server.listen(listen, () => {
      server.off('error', onError);
      resolve(new SocketListener(server, describeBound(server), secure));
    });
  });
}

/** TLS on an incoming socket: the server's options and where refused peers are reported. */
export interface SecureAccept {
  tls: TlsServerOptions;
  /** A peer whose handshake failed (the error names it and why); the listener goes on listening. */
  onRefused?: (err: TransportError) => void;
}

/** Handshakes under way at once on a TLS listener; more connections are dropped until one ends. */
const MAX_PENDING_HANDSHAKES = 8;

/**
 * A listening socket that takes the first connection and stops listening, as QEMU does for an
 * incoming migration; later connections are refused. With TLS, the first whose handshake passes.
 */
export class SocketListener implements TransportListener {
  readonly address: string;
  readonly #server: net.Server;
  readonly #secure: SecureAccept | undefined;
  #pending: net.Socket | undefined;
  #accepted = false;
  #closed = false;
  #handshakes = new Set<net.Socket>();
  #waiter: { resolve: (source: ReadableSource) => void; reject: (err: Error) => void } | undefined;

  constructor(server: net.Server, address: string, secure?: SecureAccept) {
    this.#server = server;
    this.address = address;
    this.#secure = secure;
    server.on('connection', this.#onConnection);
    server.on('error', this.#onError);
  }

  accept(): Promise<ReadableSource> {
    if (this.#closed) return Promise.reject(this.#error(`the listener on ${this.address} is closed`));
    if (this.#accepted || this.#waiter !== undefined) {
      return Promise.reject(this.#error(`the listener on ${this.address} already accepted its one connection`));
    }
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      this.#accepted = true;
      return Promise.resolve(this.#source(pending));
    }
    return new Promise<ReadableSource>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Stops listening; a connection not yet accepted is dropped. An accepted one belongs to its source. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#stopListening();
    this.#pending?.destroy();
    this.#pending = undefined;
    for (const socket of this.#handshakes) socket.destroy();
    this.#handshakes.clear();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#error(`the listener on ${this.address} was closed before a connection came`));
    return Promise.resolve();
  }

  #stopListening(): void {
    // Not waiting for server.close's callback: it waits for the accepted connection to end too.
    if (this.#server.listening) this.#server.close();
  }

  #peer(socket: net.Socket): string {
    return socket.remoteAddress !== undefined ? `${this.address} from ${socket.remoteAddress}:${socket.remotePort}` : this.address;
  }

  #source(socket: net.Socket): ReadableSource {
    if (this.#secure === undefined) socket.setNoDelay(true);
    return new ReadableSource(socket, { endpoint: this.#peer(socket), release: () => socket.destroy() });
  }

  #error(message: string): TransportError {
    return new TransportError(message, { endpoint: this.address });
  }

  /** The first connection, plain or after its TLS handshake: stop listening and hand it over. */
  #take(socket: net.Socket): void {
    if (this.#closed || this.#accepted || this.#pending !== undefined) {
      socket.destroy();
      return;
    }
    this.#stopListening();
    for (const other of this.#handshakes) other.destroy();
    this.#handshakes.clear();
    const waiter = this.#waiter;
    if (waiter === undefined) {
      this.#pending = socket;
      return;
    }
    this.#waiter = undefined;
    this.#accepted = true;
    waiter.resolve(this.#source(socket));
  }

  #handshake(socket: net.Socket, secure: SecureAccept): void {
    if (this.#handshakes.size >= MAX_PENDING_HANDSHAKES) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const endpoint = this.#peer(socket);
    this.#handshakes.add(socket);
    secureServer(socket, secure.tls, endpoint).then(
      (secured) => {
        if (!this.#handshakes.delete(socket)) {
          secured.destroy(); // the listener closed, or another connection won, meanwhile
          return;
        }
        this.#take(secured);
      },
      (err: unknown) => {
        this.#handshakes.delete(socket);
        socket.destroy();
        if (!this.#closed) secure.onRefused?.(err as TransportError);
      },
    );
  }

  readonly #onConnection = (socket: net.Socket): void => {
    if (this.#closed || this.#accepted || this.#pending !== undefined) {
      socket.destroy();
      return;
    }
    if (this.#secure !== undefined) this.#handshake(socket, this.#secure);
    else this.#take(socket);
  };
  readonly #onError = (err: Error): void => {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(
      new TransportError(`the listener on ${this.address} failed: ${describeCause(err)}`, {
        endpoint: this.address,
        code: errorCode(err),
        cause: err,
      }),
    );
  };
}
