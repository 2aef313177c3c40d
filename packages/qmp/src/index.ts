export * from './errors.js';
export * from './events.js';
export * from './qapi.js';
export * from './commands/define.js';
export * from './commands/types.js';
export * from './commands/registry.js';
export { VersionInfoSchema, type VersionInfo } from './commands/query-version.js';
export { StatusInfoSchema, type StatusInfo } from './commands/query-status.js';
export { MigrateArgs } from './commands/migrate.js';
export { MigrateIncomingArgs } from './commands/migrate-incoming.js';
export { MigrateSetCapabilitiesArgs } from './commands/migrate-set-capabilities.js';
export { PmemsaveArgs } from './commands/pmemsave.js';
export { XMigWorkloadArgs, WorkloadInfoSchema, type WorkloadInfo, WORKLOAD_PATTERNS, WORKLOAD_ACTIONS } from './commands/x-mig-workload.js';
export { XMigWriteArgs } from './commands/x-mig-write.js';
export { MigrationProgressSchema, type MigrationProgress } from './commands/x-mig-query-progress.js';
export {
  BlockInfoSchema, BlockDeviceInfoSchema, BlockdevCacheInfoSchema, ImageInfoSchema, type BlockInfo, type BlockDeviceInfo, type ImageInfo,
} from './commands/query-block.js';
export {
  XMigDiskWorkloadArgs, DiskWorkloadInfoSchema, type DiskWorkloadInfo, DISK_WORKLOAD_PATTERNS, DISK_WORKLOAD_ACTIONS,
} from './commands/x-mig-disk-workload.js';
export { HumanMonitorCommandArgs } from './commands/human-monitor-command.js';
export { GetfdArgs } from './commands/getfd.js';
export { ClosefdArgs } from './commands/closefd.js';
export { ObjectAddArgs } from './commands/object-add.js';
export { ObjectDelArgs } from './commands/object-del.js';
export * from './wire/endpoint.js';
export * from './wire/framing.js';
export * from './wire/json-limits.js';
export { closeDescriptor, descriptorPassingAvailable, pipePair, socketPair } from './wire/descriptors.js';
export * from './wire/messages.js';
export * from './client.js';
export * from './server.js';
