import type { ReadableSource } from './source.js';
import type { TlsClientOptions, TlsServerOptions } from './tls.js';
import type { TransportError } from './errors.js';

/**
 * The byte-stream contracts of @mig/transports. `ByteSink`, where the migration loop writes, is @mig/core's
 * (one declaration for both packages); the transports implement it.
 */
export type { ByteSink } from '@mig/core';

/** Where a migration stream goes to or comes from: QEMU's migration URI, parsed. */
export type MigrationUri =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'exec'; command: string }
  | { kind: 'fd'; name: string }
  | { kind: 'rdma'; host: string; port: number };

export type MigrationUriKind = MigrationUri['kind'];

/**
 * What opening a transport gets from the daemon besides the parsed URI. `fd:NAME` needs a descriptor that
 * only the daemon has: the monitor's named one from `getfd`, or one inherited by number (`-incoming fd:N`).
 */
export interface TransportContext {
  /**
   * The descriptor `fd:NAME` stands for. From here the transport owns it (QEMU's monitor_get_fd removes it
   * from the monitor): it is closed when the stream is done. Throws, with the daemon's words, when there is none.
   */
  takeDescriptor?(name: string): number;
  /**
   * Aborts opening the outgoing stream (migrate_cancel, x-stall-timeout): a tcp/unix connect still under way
   * is dropped and the open rejects with the signal's reason (an Error) or a TransportError saying so.
   */
  signal?: AbortSignal;
  /** rdma: offer pin-all to the destination (the rdma-pin-all capability). */
  rdmaPinAll?: boolean;
  /**
   * TLS on the stream (QEMU's tls-creds): outgoing takes the client's options, incoming the server's. Applies
   * to tcp, unix, exec and socket fd: (QEMU wraps every channel but rdma); a pipe or a file cannot carry it.
   */
  tls?: TlsClientOptions | TlsServerOptions;
  /** Incoming with TLS: a connection whose handshake failed; the listener waits for the next (as QEMU 7.2). */
  onTlsRefused?: (err: TransportError) => void;
  /**
   * rdma: the guest's RAM blocks in the RAM section's order, so that RAM goes by RDMA WRITE (QEMU's RAM path):
   * the sink or source then carries a `ramControl` for @mig/ram. Their memory must never move (mapped guest
   * RAM or a SharedArrayBuffer): the NIC reads and writes it in place. Without it rdma carries pages in the stream.
   */
  ram?: readonly TransportRamBlock[];
}

/** One RAM block for a transport that moves RAM itself. */
export interface TransportRamBlock {
  /** The block's idstr. */
  readonly name: string;
  /** Its offset in this side's RAM address space (blocks laid end to end in order). */
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/** The incoming stream: chunks in arrival order; a failure is a rejection of the iteration. */
export interface ByteSource extends AsyncIterable<Uint8Array> {
  destroy(err?: Error): void;
}

/** tcp/unix: a listening socket that accepts one connection, as QEMU does; exec: the spawned command. */
export interface IncomingListener {
  accept(): Promise<ByteSource>;
  close(): Promise<void>;
  /** Where the listener really is (tcp port 0 → the port the kernel chose), as a migration URI. */
  address?: string;
}

/** What `listenIncoming` returns: an `IncomingListener` whose address is always known. */
export interface TransportListener extends IncomingListener {
  accept(): Promise<ReadableSource>;
  readonly address: string;
}
