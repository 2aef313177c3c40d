import { TransportError } from './errors.js';
import { listenExecIncoming, openExecOutgoing } from './exec.js';
import { listenFdIncoming, openFdOutgoing } from './fd.js';
import { listenRdmaIncoming, openRdmaOutgoing } from './rdma/transport.js';
import type { WritableSink } from './sink.js';
import type { SecureAccept } from './socket.js';
import { connectTcp, listenTcp } from './tcp.js';
import type { TlsClientOptions, TlsServerOptions } from './tls.js';
import type { MigrationUri, TransportContext, TransportListener } from './types.js';
import { connectUnix, listenUnix } from './unix.js';
import { describeUri } from './uri.js';

/** The descriptor for `fd:NAME`, from the daemon. */
function takeDescriptor(uri: { kind: 'fd'; name: string }, context: TransportContext): number {
  const endpoint = describeUri(uri);
  if (context.takeDescriptor === undefined) {
    throw new TransportError(`${endpoint}: no file descriptors were handed to this transport (the daemon passes them)`, { endpoint });
  }
  return context.takeDescriptor(uri.name);
}

/** The TLS options of `context` for one side, or a TransportError when they are for the other side. */
function tlsFor<R extends 'client' | 'server'>(
  uri: MigrationUri,
  context: TransportContext,
  role: R,
): (R extends 'client' ? TlsClientOptions : TlsServerOptions) | undefined {
  const tls = context.tls;
  if (tls === undefined) return undefined;
  const endpoint = describeUri(uri);
  if (tls.role !== role) throw new TransportError(`${endpoint}: TLS options for a ${tls.role} given to the ${role} side`, { endpoint });
  if (uri.kind === 'rdma') throw new TransportError(`${endpoint}: TLS is not available for RDMA migration (QEMU 7.2 has none either)`, { endpoint });
  return tls as R extends 'client' ? TlsClientOptions : TlsServerOptions;
}

/**
 * Opens the outgoing migration stream: tcp/unix connect, exec starts `sh -c CMD` and writes to its stdin,
 * fd writes to the descriptor `context` hands over, rdma connects (failing at once without an RDMA device).
 * With `context.tls` the stream is a TLS client session over the channel; `context.signal` aborts a tcp/unix
 * connect (or its handshake) still under way. The sink also reports `bytesWritten`, `bytesFlushed` and
 * `bufferedBytes`.
 */
export async function openOutgoing(uri: MigrationUri, context: TransportContext = {}): Promise<WritableSink> {
  const tls = tlsFor(uri, context, 'client');
  switch (uri.kind) {
    case 'tcp':
      return connectTcp(uri, tls, context.signal);
    case 'unix':
      return connectUnix(uri.path, tls, context.signal);
    case 'exec':
      return openExecOutgoing(uri.command, tls);
    case 'fd':
      return openFdOutgoing(takeDescriptor(uri, context), describeUri(uri), tls);
    case 'rdma':
      return openRdmaOutgoing(uri, context.rdmaPinAll === true, context.ram);
  }
}

/**
 * Prepares the incoming migration stream: tcp/unix listen and `accept()` one connection; exec starts
 * `sh -c CMD` and `accept()` gives its stdout; fd: `accept()` gives the descriptor `context` hands over.
 * With `context.tls` the stream is a TLS server session over the channel: a tcp/unix connection counts once
 * its handshake passed (refused ones go to `context.onTlsRefused`). The source also reports `bytesRead`.
 */
export async function listenIncoming(uri: MigrationUri, context: TransportContext = {}): Promise<TransportListener> {
  const tls = tlsFor(uri, context, 'server');
  const secure: SecureAccept | undefined = tls === undefined ? undefined : { tls, ...(context.onTlsRefused ? { onRefused: context.onTlsRefused } : {}) };
  switch (uri.kind) {
    case 'tcp':
      return listenTcp(uri, secure);
    case 'unix':
      return listenUnix(uri.path, secure);
    case 'exec':
      return listenExecIncoming(uri.command, tls);
    case 'fd':
      return listenFdIncoming(takeDescriptor(uri, context), describeUri(uri), tls);
    case 'rdma':
      return listenRdmaIncoming(uri, context.ram);
  }
}
