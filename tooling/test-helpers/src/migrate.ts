// Start a migration on a source VM the way the interop tests and the bench do.
import type { Vm } from './vm.js';

/**
 * QEMU 7.2.0's block section reports as pending only what it has in flight (plus dirty chunks), not the part
 * of the bulk phase it has not read yet, so the migration switches over as soon as that drops below
 * bandwidth × downtime-limit and the unread rest of the disk is never sent (docs/qemu-block-migration.md).
 * With a 1 ms limit the switchover waits until everything was sent; startMigration sets it for QEMU sources
 * that migrate disks.
 */
export const QEMU_BLOCK_SOURCE_DOWNTIME_LIMIT_MS = 1;

export interface MigrateOptions {
  /** migrate-set-parameters max-bandwidth in bytes/s. Default 1 GiB/s. */
  maxBandwidth?: number;
  /**
   * migrate-set-parameters downtime-limit in ms. Default: left as it is, except a QEMU source migrating disks
   * (blk or inc), which gets QEMU_BLOCK_SOURCE_DOWNTIME_LIMIT_MS so that it sends the whole disk.
   */
  downtimeLimitMs?: number;
  /** `migrate` with `blk: true`: copy the whole of every writable drive. */
  blk?: boolean;
  /** `migrate` with `inc: true`: copy what the top image of each drive holds (the target shares the base). */
  inc?: boolean;
  /** Capabilities to switch on first (migrate-set-capabilities), e.g. ['zero-blocks']. */
  capabilities?: readonly string[];
}

/** Sets capabilities and parameters on the source, then issues `migrate`; returns performance.now() just before `migrate`. */
export async function startMigration(src: Vm, uri: string, opts: MigrateOptions = {}): Promise<number> {
  const withDisks = opts.blk === true || opts.inc === true;
  if (opts.capabilities !== undefined && opts.capabilities.length > 0) {
    await src.qmp.execute('migrate-set-capabilities', {
      capabilities: opts.capabilities.map((capability) => ({ capability, state: true })),
    });
  }
  const params: Record<string, number> = { 'max-bandwidth': opts.maxBandwidth ?? 1 << 30 };
  const downtime = opts.downtimeLimitMs ?? (withDisks && src.kind === 'qemu' ? QEMU_BLOCK_SOURCE_DOWNTIME_LIMIT_MS : undefined);
  if (downtime !== undefined) params['downtime-limit'] = downtime;
  await src.qmp.execute('migrate-set-parameters', params);
  const args: Record<string, unknown> = { uri };
  if (opts.blk !== undefined) args.blk = opts.blk;
  if (opts.inc !== undefined) args.inc = opts.inc;
  const t0 = performance.now();
  await src.qmp.execute('migrate', args);
  return t0;
}
