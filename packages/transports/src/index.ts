export type {
  ByteSink, ByteSource, IncomingListener, MigrationUri, MigrationUriKind, TransportContext, TransportListener, TransportRamBlock,
} from './types.js';
export { UriError, TransportError, TransportNotSupportedError, type TransportErrorOptions } from './errors.js';
export { parseMigrationUri, describeUri, isAnyHost, MIGRATION_URI_SCHEMES } from './uri.js';
export { openOutgoing, listenIncoming } from './open.js';
export { inspectDescriptor, type DescriptorKind } from './fd.js';
export { WritableSink, DEFAULT_HIGH_WATER_MARK, type WritableSinkOptions } from './sink.js';
export { ReadableSource, type ReadableSourceOptions } from './source.js';
export type { SocketListener } from './socket.js';
export { hasRdmaDevice, listRdmaDevices, requireRdmaDevice, type RdmaDeviceList } from './rdma/verbs/devices.js';
export * as rdmaProtocol from './rdma/protocol/index.js';
export {
  describeTlsFailure, distinguishedName, secureClient, secureServer, secureStream,
  type TlsClientOptions, type TlsMaterial, type TlsOptions, type TlsServerOptions,
} from './tls.js';
