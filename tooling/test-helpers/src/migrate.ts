// Start a migration on a source VM the way the interop tests and the bench do.
import type { Vm } from './vm.js';

export interface MigrateOptions {
  /** migrate-set-parameters max-bandwidth in bytes/s; default 1 GiB/s. */
  maxBandwidth?: number;
}

/** Sets max-bandwidth on the source, then issues `migrate {uri}`; returns performance.now() just before `migrate`. */
export async function startMigration(src: Vm, uri: string, opts: MigrateOptions = {}): Promise<number> {
  await src.qmp.execute('migrate-set-parameters', { 'max-bandwidth': opts.maxBandwidth ?? 1 << 30 });
  const t0 = performance.now();
  await src.qmp.execute('migrate', { uri });
  return t0;
}
