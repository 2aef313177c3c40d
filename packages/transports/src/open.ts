import { TransportError } from './errors.js';
import { listenExecIncoming, openExecOutgoing } from './exec.js';
import { listenFdIncoming, openFdOutgoing } from './fd.js';
import { listenRdmaIncoming, openRdmaOutgoing } from './rdma/transport.js';
import type { WritableSink } from './sink.js';
import { connectTcp, listenTcp } from './tcp.js';
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

/**
 * Opens the outgoing migration stream: tcp/unix connect, exec starts `sh -c CMD` and writes to its stdin,
 * fd writes to the descriptor `context` hands over, rdma connects (failing at once without an RDMA device). The sink also reports `bytesWritten`, `bytesFlushed`
 * and `bufferedBytes`.
 */
export async function openOutgoing(uri: MigrationUri, context: TransportContext = {}): Promise<WritableSink> {
  switch (uri.kind) {
    case 'tcp':
      return connectTcp(uri);
    case 'unix':
      return connectUnix(uri.path);
    case 'exec':
      return openExecOutgoing(uri.command);
    case 'fd':
      return openFdOutgoing(takeDescriptor(uri, context), describeUri(uri));
    case 'rdma':
      return openRdmaOutgoing(uri, context.rdmaPinAll === true, context.ram);
  }
}

/**
 * Prepares the incoming migration stream: tcp/unix listen and `accept()` one connection; exec starts
 * `sh -c CMD` and `accept()` gives its stdout; fd: `accept()` gives the descriptor `context` hands over.
 * The source also reports `bytesRead`.
 */
export async function listenIncoming(uri: MigrationUri, context: TransportContext = {}): Promise<TransportListener> {
  switch (uri.kind) {
    case 'tcp':
      return listenTcp(uri);
    case 'unix':
      return listenUnix(uri.path);
    case 'exec':
      return listenExecIncoming(uri.command);
    case 'fd':
      return listenFdIncoming(takeDescriptor(uri, context), describeUri(uri));
    case 'rdma':
      return listenRdmaIncoming(uri, context.ram);
  }
}
