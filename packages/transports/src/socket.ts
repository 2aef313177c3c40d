import net from 'node:net';
import { TransportError, describeCause, errorCode } from './errors.js';
import { DEFAULT_HIGH_WATER_MARK, WritableSink } from './sink.js';
import { ReadableSource } from './source.js';
import type { TransportListener } from './types.js';

/** What tcp and unix share: connect for a sink, listen and accept one connection for a source. */

/** Why an open was aborted: the signal's reason when it is an Error. */
export function abortReason(signal: AbortSignal, endpoint: string): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason;
  return new TransportError(`connecting the migration stream to ${endpoint} was aborted`, { endpoint });
}

/**
 * Connects, then wraps the socket in a sink. Rejects with the address and the reason; `signal` aborts a
 * connect still under way (a blackholed peer never answers it), rejecting with the signal's reason.
 */
export function connectSocket(options: net.NetConnectOpts, endpoint: string, signal?: AbortSignal): Promise<WritableSink> {
  if (signal?.aborted === true) return Promise.reject(abortReason(signal, endpoint));
  return new Promise<WritableSink>((resolve, reject) => {
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
      resolve(socketSink(socket, endpoint));
    });
  });
}

/** A sink over a connected socket (tcp, unix, or one handed over as fd:); the peer's close fails it at once. */
export function socketSink(socket: net.Socket, endpoint: string): WritableSink {
  socket.setNoDelay(true);
  const sink = new WritableSink(socket, { endpoint, release: () => socket.destroy() });
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

/** Creates a server that accepts one connection; `describeBound` names where it really listens. */
export function listenSocket(
  listen: net.ListenOptions,
  endpoint: string,
  describeBound: (server: net.Server) => string,
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
      resolve(new SocketListener(server, describeBound(server)));
    });
  });
}

/**
 * A listening socket that takes the first connection and stops listening, as QEMU does for an
 * incoming migration; later connections are refused.
 */
export class SocketListener implements TransportListener {
  readonly address: string;
  readonly #server: net.Server;
  #pending: net.Socket | undefined;
  #accepted = false;
  #closed = false;
  #waiter: { resolve: (source: ReadableSource) => void; reject: (err: Error) => void } | undefined;

  constructor(server: net.Server, address: string) {
    this.#server = server;
    this.address = address;
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
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#error(`the listener on ${this.address} was closed before a connection came`));
    return Promise.resolve();
  }

  #stopListening(): void {
    // Not waiting for server.close's callback: it waits for the accepted connection to end too.
    if (this.#server.listening) this.#server.close();
  }

  #source(socket: net.Socket): ReadableSource {
    socket.setNoDelay(true);
    const from = socket.remoteAddress !== undefined ? ` from ${socket.remoteAddress}:${socket.remotePort}` : '';
    return new ReadableSource(socket, { endpoint: `${this.address}${from}`, release: () => socket.destroy() });
  }

  #error(message: string): TransportError {
    return new TransportError(message, { endpoint: this.address });
  }

  readonly #onConnection = (socket: net.Socket): void => {
    if (this.#closed || this.#accepted || this.#pending !== undefined) {
      socket.destroy();
      return;
    }
    this.#stopListening();
    const waiter = this.#waiter;
    if (waiter === undefined) {
      this.#pending = socket;
      return;
    }
    this.#waiter = undefined;
    this.#accepted = true;
    waiter.resolve(this.#source(socket));
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
