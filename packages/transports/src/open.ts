import { TransportNotSupportedError } from './errors.js';
import { listenExecIncoming, openExecOutgoing } from './exec.js';
import type { WritableSink } from './sink.js';
import { connectTcp, listenTcp } from './tcp.js';
import type { MigrationUri, TransportListener } from './types.js';
import { connectUnix, listenUnix } from './unix.js';

/**
 * Opens the outgoing migration stream: tcp/unix connect, exec starts `sh -c CMD` and writes to its
 * stdin. The sink also reports `bytesWritten`, `bytesFlushed` and `bufferedBytes`.
 */
export async function openOutgoing(uri: MigrationUri): Promise<WritableSink> {
  switch (uri.kind) {
    case 'tcp':
      return connectTcp(uri);
    case 'unix':
      return connectUnix(uri.path);
    case 'exec':
      return openExecOutgoing(uri.command);
    case 'fd':
    case 'rdma':
      throw new TransportNotSupportedError(uri.kind);
  }
}

/**
 * Prepares the incoming migration stream: tcp/unix listen and `accept()` one connection; exec starts
 * `sh -c CMD` and `accept()` gives its stdout. The source also reports `bytesRead`.
 */
export async function listenIncoming(uri: MigrationUri): Promise<TransportListener> {
  switch (uri.kind) {
    case 'tcp':
      return listenTcp(uri);
    case 'unix':
      return listenUnix(uri.path);
    case 'exec':
      return listenExecIncoming(uri.command);
    case 'fd':
    case 'rdma':
      throw new TransportNotSupportedError(uri.kind);
  }
}
