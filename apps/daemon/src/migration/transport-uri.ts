// A migration URI as the main thread prepares it for a worker: parsed once, rdma refused at once where the
// machine has no RDMA device, and for fd: the descriptor taken from the daemon (a monitor's getfd name, or
// an inherited number). The worker opens the transport with the parsed URI and that descriptor; it never
// sees the URI text again.
import { QmpError } from '@mig/qmp';
import { transportTls, type PreparedTls } from '../objects/migration-tls.js';
import {
  describeUri, inspectDescriptor, parseMigrationUri, requireRdmaDevice, type MigrationUri, type TransportContext,
} from '@mig/transports';

export interface PreparedUri {
  uri: MigrationUri;
  /** fd: the descriptor, owned by the migration from here (its transport closes it). */
  descriptor?: number;
  /** tls-creds was set: the side's TLS, as plain data (objects/migration-tls.ts). */
  tls?: PreparedTls;
}

/**
 * Throws a QmpError with QEMU's or the transport's words; takes the fd: descriptor only when all else is
 * fine, and checks it here (not open, a directory, the wrong end of a pipe) so that it fails before any state changes.
 */
export function prepareUri(text: string, descriptors: TransportContext, direction: 'outgoing' | 'incoming'): PreparedUri {
  let uri: MigrationUri;
  try {
    uri = parseMigrationUri(text);
  } catch (err) {
    throw new QmpError('GenericError', (err as Error).message);
  }
  if (uri.kind === 'rdma') return { uri: checkRdma(uri) };
  if (uri.kind !== 'fd') return { uri };
  if (descriptors.takeDescriptor === undefined) {
    throw new QmpError('GenericError', `${describeUri(uri)}: no file descriptors can be handed over here`);
  }
  const descriptor = descriptors.takeDescriptor(uri.name);
  try {
    inspectDescriptor(descriptor, describeUri(uri), direction);
  } catch (err) {
    throw new QmpError('GenericError', (err as Error).message);
  }
  return { uri, descriptor };
}

/** In the worker: the descriptor the main thread took, and the TLS, for the transport. */
export function workerDescriptors(prepared: PreparedUri): TransportContext {
  const tls = transportTls(prepared.tls);
  return {
    ...(tls === undefined ? {} : { tls }),
    takeDescriptor: (name) => {
      if (prepared.descriptor === undefined) throw new Error(`fd:${name}: the main thread handed no descriptor to this migration`);
      return prepared.descriptor;
    },
  };
}

/** rdma: fails here, before any state changes, when the machine has no RDMA device (ibv_get_device_list). */
function checkRdma(uri: MigrationUri): MigrationUri {
  try {
    requireRdmaDevice(describeUri(uri));
  } catch (err) {
    throw new QmpError('GenericError', (err as Error).message);
  }
  return uri;
}
