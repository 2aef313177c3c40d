import { lstat, unlink } from 'node:fs/promises';
import { TransportError, describeCause, errorCode } from './errors.js';
import { connectSocket, listenSocket, type SecureAccept, type SocketListener } from './socket.js';
import type { TlsClientOptions } from './tls.js';
import type { WritableSink } from './sink.js';
import { describeUri } from './uri.js';

/** With `tls`, the server's certificate is checked against `tls.hostname` only (a path names no host). */
export function connectUnix(path: string, tls?: TlsClientOptions, signal?: AbortSignal): Promise<WritableSink> {
  return connectSocket({ path }, describeUri({ kind: 'unix', path }), tls, signal);
}

/** Listens on PATH; a socket file left there by an earlier listener is removed first, as QEMU does. */
export async function listenUnix(path: string, secure?: SecureAccept): Promise<SocketListener> {
  const endpoint = describeUri({ kind: 'unix', path });
  await removeStaleSocket(path, endpoint);
  return listenSocket({ path }, endpoint, () => endpoint, secure);
}

async function removeStaleSocket(path: string, endpoint: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return;
    throw new TransportError(`cannot listen on ${endpoint}: ${describeCause(err)}`, {
      endpoint,
      code: errorCode(err),
      cause: err,
    });
  }
  if (!isSocket) {
    throw new TransportError(`cannot listen on ${endpoint}: '${path}' exists and is not a socket; not removing it`, {
      endpoint,
    });
  }
  try {
    await unlink(path);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return;
    throw new TransportError(`cannot remove the stale socket '${path}' for ${endpoint}: ${describeCause(err)}`, {
      endpoint,
      code: errorCode(err),
      cause: err,
    });
  }
}
