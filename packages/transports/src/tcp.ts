import type { AddressInfo } from 'node:net';
import { connectSocket, listenSocket, type SecureAccept, type SocketListener } from './socket.js';
import type { TlsClientOptions } from './tls.js';
import type { WritableSink } from './sink.js';
import { describeUri, isAnyHost } from './uri.js';

export interface TcpAddress {
  host: string;
  port: number;
}

/**
 * Connects to HOST:PORT (`tcp::PORT` / `tcp:0:PORT`: this host), Nagle off. With `tls` the server's
 * certificate is checked against its `hostname`, else the URI's host (as QEMU's socket migration does);
 * `signal` aborts a connect or handshake still under way.
 */
export function connectTcp(address: TcpAddress, tls?: TlsClientOptions, signal?: AbortSignal): Promise<WritableSink> {
  const host = isAnyHost(address.host) ? 'localhost' : address.host;
  const secure = tls === undefined ? undefined : { ...tls, hostname: tls.hostname !== undefined && tls.hostname !== '' ? tls.hostname : host };
  return connectSocket({ host, port: address.port, noDelay: true }, describeUri({ kind: 'tcp', ...address }), secure, signal);
}

/** Listens on HOST:PORT (every address for `tcp::PORT` / `tcp:0:PORT`); port 0 picks a free port. */
export function listenTcp(address: TcpAddress, secure?: SecureAccept): Promise<SocketListener> {
  const listen = isAnyHost(address.host) ? { port: address.port } : { host: address.host, port: address.port };
  return listenSocket(listen, describeUri({ kind: 'tcp', ...address }), (server) => {
    const bound = server.address() as AddressInfo;
    return describeUri({ kind: 'tcp', host: bound.address, port: bound.port });
  }, secure);
}
