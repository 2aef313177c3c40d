/** QAPI types of QEMU 7.2 shared by several commands (names and members as in qapi/*.json at v7.2.0). */
import { z } from 'zod';
import { MIGRATION_CAPABILITIES, type MigrationCapability } from '@mig/core';
import { qArray, qBool, qEnum, qStr, qStrOrNull, qStruct, qUint32, qUint64, qUint8 } from '../qapi.js';

export const MIGRATION_STATUSES = [
  'none', 'setup', 'cancelling', 'cancelled', 'active', 'postcopy-active', 'postcopy-paused',
  'postcopy-recover', 'completed', 'failed', 'colo', 'pre-switchover', 'device', 'wait-unplug',
] as const;
export const MigrationStatusSchema = z.enum(MIGRATION_STATUSES);
export type MigrationStatus = z.infer<typeof MigrationStatusSchema>;

export const RUN_STATES = [
  'debug', 'inmigrate', 'internal-error', 'io-error', 'paused', 'postmigrate', 'prelaunch', 'finish-migrate',
  'restore-vm', 'running', 'save-vm', 'shutdown', 'suspended', 'watchdog', 'guest-panicked', 'colo',
] as const;
export const RunStateSchema = z.enum(RUN_STATES);
export type RunState = z.infer<typeof RunStateSchema>;

/** QEMU 7.2's MigrationCapability enum, in QEMU's order: one list, kept by @mig/core. */
export { MIGRATION_CAPABILITIES, type MigrationCapability };

export const MigrationCapabilityStatusArg = qStruct({
  capability: qEnum(MIGRATION_CAPABILITIES),
  state: qBool(),
});
export const MigrationCapabilityStatusSchema = z.strictObject({
  capability: z.enum(MIGRATION_CAPABILITIES),
  state: z.boolean(),
});
export type MigrationCapabilityStatus = z.infer<typeof MigrationCapabilityStatusSchema>;

export const MULTIFD_COMPRESSIONS = ['none', 'zlib', 'zstd'] as const;
export type MultiFDCompression = (typeof MULTIFD_COMPRESSIONS)[number];

export const BitmapMigrationNodeAliasArg = qStruct({
  'node-name': qStr(),
  alias: qStr(),
  bitmaps: qArray(
    qStruct({
      name: qStr(),
      alias: qStr(),
      transform: qStruct({ persistent: qBool().optional() }).optional(),
    }),
  ),
});
const BitmapMigrationNodeAliasSchema = z.strictObject({
  'node-name': z.string(),
  alias: z.string(),
  bitmaps: z.array(
    z.strictObject({
      name: z.string(),
      alias: z.string(),
      transform: z.strictObject({ persistent: z.boolean().optional() }).optional(),
    }),
  ),
});
export type BitmapMigrationNodeAlias = z.infer<typeof BitmapMigrationNodeAliasSchema>;

/**
 * `migrate-set-parameters` arguments (QEMU 7.2 MigrateSetParameters): every member optional, with QEMU's
 * visitor types (uint8 members reject values past 255 as QEMU's visitor does; semantic ranges such as
 * cpu-throttle-initial 1..99 are the daemon's to check).
 */
export const MigrateSetParametersArgs = qStruct({
  'announce-initial': qUint64().optional(),
  'announce-max': qUint64().optional(),
  'announce-rounds': qUint64().optional(),
  'announce-step': qUint64().optional(),
  'compress-level': qUint8().optional(),
  'compress-threads': qUint8().optional(),
  'compress-wait-thread': qBool().optional(),
  'decompress-threads': qUint8().optional(),
  'throttle-trigger-threshold': qUint8().optional(),
  'cpu-throttle-initial': qUint8().optional(),
  'cpu-throttle-increment': qUint8().optional(),
  'cpu-throttle-tailslow': qBool().optional(),
  'tls-creds': qStrOrNull().optional(),
  'tls-hostname': qStrOrNull().optional(),
  'tls-authz': qStrOrNull().optional(),
  'max-bandwidth': qUint64().optional(),
  'downtime-limit': qUint64().optional(),
  'x-checkpoint-delay': qUint32().optional(),
  'block-incremental': qBool().optional(),
  'multifd-channels': qUint8().optional(),
  'xbzrle-cache-size': qUint64().optional(),
  'max-postcopy-bandwidth': qUint64().optional(),
  'max-cpu-throttle': qUint8().optional(),
  'multifd-compression': qEnum(MULTIFD_COMPRESSIONS).optional(),
  'multifd-zlib-level': qUint8().optional(),
  'multifd-zstd-level': qUint8().optional(),
  /** mig's own (not QEMU 7.2's): ms without progress from the peer before a migration fails; 0 = never. */
  'x-stall-timeout': qUint64().optional(),
  'block-bitmap-mapping': qArray(BitmapMigrationNodeAliasArg).optional(),
});
export type MigrateSetParameters = z.infer<typeof MigrateSetParametersArgs>;

const int = () => z.number().int();
/** `query-migrate-parameters` reply (QEMU 7.2 MigrationParameters: tls-* are plain strings here). */
export const MigrationParametersSchema = z.strictObject({
  'announce-initial': int().optional(),
  'announce-max': int().optional(),
  'announce-rounds': int().optional(),
  'announce-step': int().optional(),
  'compress-level': int().optional(),
  'compress-threads': int().optional(),
  'compress-wait-thread': z.boolean().optional(),
  'decompress-threads': int().optional(),
  'throttle-trigger-threshold': int().optional(),
  'cpu-throttle-initial': int().optional(),
  'cpu-throttle-increment': int().optional(),
  'cpu-throttle-tailslow': z.boolean().optional(),
  'tls-creds': z.string().optional(),
  'tls-hostname': z.string().optional(),
  'tls-authz': z.string().optional(),
  'max-bandwidth': int().optional(),
  'downtime-limit': int().optional(),
  'x-checkpoint-delay': int().optional(),
  'block-incremental': z.boolean().optional(),
  'multifd-channels': int().optional(),
  'xbzrle-cache-size': int().optional(),
  'max-postcopy-bandwidth': int().optional(),
  'max-cpu-throttle': int().optional(),
  'multifd-compression': z.enum(MULTIFD_COMPRESSIONS).optional(),
  'multifd-zlib-level': int().optional(),
  'multifd-zstd-level': int().optional(),
  'x-stall-timeout': int().optional(),
  'block-bitmap-mapping': z.array(BitmapMigrationNodeAliasSchema).optional(),
});
export type MigrationParameters = z.infer<typeof MigrationParametersSchema>;

/** QEMU 7.2 MigrationStats (used for `ram` and `disk` in query-migrate). */
export const MigrationStatsSchema = z.strictObject({
  transferred: int(),
  remaining: int(),
  total: int(),
  duplicate: int(),
  skipped: int(),
  normal: int(),
  'normal-bytes': int(),
  'dirty-pages-rate': int(),
  mbps: z.number(),
  'dirty-sync-count': int(),
  'postcopy-requests': int(),
  'page-size': int(),
  'multifd-bytes': int(),
  'pages-per-second': int(),
  'precopy-bytes': int(),
  'downtime-bytes': int(),
  'postcopy-bytes': int(),
  'dirty-sync-missed-zero-copy': int(),
});
export type MigrationStats = z.infer<typeof MigrationStatsSchema>;

export const XbzrleCacheStatsSchema = z.strictObject({
  'cache-size': int(),
  bytes: int(),
  pages: int(),
  'cache-miss': int(),
  'cache-miss-rate': z.number(),
  'encoding-rate': z.number(),
  overflow: int(),
});
export type XbzrleCacheStats = z.infer<typeof XbzrleCacheStatsSchema>;

export const CompressionStatsSchema = z.strictObject({
  pages: int(),
  busy: int(),
  'busy-rate': z.number(),
  'compressed-size': int(),
  'compression-rate': z.number(),
});

/** SocketAddress (a union on `type`; its other members are kept as they come). */
export const SocketAddressSchema = z.looseObject({ type: z.enum(['inet', 'unix', 'vsock', 'fd']) });

/** `query-migrate` reply (QEMU 7.2 MigrationInfo); `{}` before any migration. */
export const MigrationInfoSchema = z.strictObject({
  status: MigrationStatusSchema.optional(),
  ram: MigrationStatsSchema.optional(),
  disk: MigrationStatsSchema.optional(),
  vfio: z.strictObject({ transferred: int() }).optional(),
  'xbzrle-cache': XbzrleCacheStatsSchema.optional(),
  'total-time': int().optional(),
  'expected-downtime': int().optional(),
  downtime: int().optional(),
  'setup-time': int().optional(),
  'cpu-throttle-percentage': int().optional(),
  'error-desc': z.string().optional(),
  'blocked-reasons': z.array(z.string()).optional(),
  'postcopy-blocktime': int().optional(),
  'postcopy-vcpu-blocktime': z.array(int()).optional(),
  compression: CompressionStatsSchema.optional(),
  'socket-address': z.array(SocketAddressSchema).optional(),
});
export type MigrationInfo = z.infer<typeof MigrationInfoSchema>;

export const EmptyArgs = qStruct({});
export const EmptyReturn = z.strictObject({});
export type Empty = Record<string, never>;
