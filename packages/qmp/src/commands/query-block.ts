import { z } from 'zod';
import { defineCommand } from './define.js';
import { EmptyArgs } from './types.js';

const int = () => z.number().int();

/** QEMU 7.2 ImageInfo (what `qemu-img info` shows), as query-block nests it; `backing-image` recurses. */
export interface ImageInfo {
  filename: string;
  format: string;
  'dirty-flag'?: boolean;
  'actual-size'?: number;
  'virtual-size': number;
  'cluster-size'?: number;
  encrypted?: boolean;
  compressed?: boolean;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
  snapshots?: Record<string, unknown>[];
  'backing-image'?: ImageInfo;
  /** Driver-specific details (qcow2: compat, refcount-bits, ...); QEMU sends it, mig does not. */
  'format-specific'?: { type: string; data: Record<string, unknown> };
}

export const ImageInfoSchema: z.ZodType<ImageInfo> = z.lazy(() =>
  z.strictObject({
    filename: z.string(),
    format: z.string(),
    'dirty-flag': z.boolean().optional(),
    'actual-size': int().optional(),
    'virtual-size': int(),
    'cluster-size': int().optional(),
    encrypted: z.boolean().optional(),
    compressed: z.boolean().optional(),
    'backing-filename': z.string().optional(),
    'full-backing-filename': z.string().optional(),
    'backing-filename-format': z.string().optional(),
    snapshots: z.array(z.looseObject({})).optional(),
    'backing-image': ImageInfoSchema.optional(),
    'format-specific': z.strictObject({ type: z.string(), data: z.looseObject({}) }).optional(),
  }),
);

/** QEMU 7.2 BlockdevCacheInfo. */
export const BlockdevCacheInfoSchema = z.strictObject({
  writeback: z.boolean(),
  direct: z.boolean(),
  'no-flush': z.boolean(),
});

/** QEMU 7.2 BlockDeviceInfo: the medium of a drive (`inserted`). The throttling members QEMU always lists. */
export const BlockDeviceInfoSchema = z.strictObject({
  file: z.string(),
  'node-name': z.string().optional(),
  ro: z.boolean(),
  drv: z.string(),
  backing_file: z.string().optional(),
  backing_file_depth: int(),
  encrypted: z.boolean(),
  detect_zeroes: z.enum(['off', 'on', 'unmap']),
  bps: int(),
  bps_rd: int(),
  bps_wr: int(),
  iops: int(),
  iops_rd: int(),
  iops_wr: int(),
  image: ImageInfoSchema,
  bps_max: int().optional(),
  bps_rd_max: int().optional(),
  bps_wr_max: int().optional(),
  iops_max: int().optional(),
  iops_rd_max: int().optional(),
  iops_wr_max: int().optional(),
  bps_max_length: int().optional(),
  bps_rd_max_length: int().optional(),
  bps_wr_max_length: int().optional(),
  iops_max_length: int().optional(),
  iops_rd_max_length: int().optional(),
  iops_wr_max_length: int().optional(),
  iops_size: int().optional(),
  group: z.string().optional(),
  cache: BlockdevCacheInfoSchema,
  write_threshold: int(),
  'dirty-bitmaps': z.array(z.looseObject({})).optional(),
});
export type BlockDeviceInfo = z.infer<typeof BlockDeviceInfoSchema>;

/** QEMU 7.2 BlockInfo: one drive (BlockBackend). `type` is deprecated in 7.2 and always 'unknown'. */
export const BlockInfoSchema = z.strictObject({
  device: z.string(),
  qdev: z.string().optional(),
  type: z.string(),
  removable: z.boolean(),
  locked: z.boolean(),
  inserted: BlockDeviceInfoSchema.optional(),
  tray_open: z.boolean().optional(),
  'io-status': z.enum(['ok', 'failed', 'nospace']).optional(),
  'dirty-bitmaps': z.array(z.looseObject({})).optional(),
});
export type BlockInfo = z.infer<typeof BlockInfoSchema>;

/** Every drive (`-drive`) with its medium and image chain. */
export const queryBlock = defineCommand({ name: 'query-block', args: EmptyArgs, returns: z.array(BlockInfoSchema) });
