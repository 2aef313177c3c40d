export { QEMU_BINARY, QEMU_SKIP_MESSAGE, QemuMissingError, findQemu, requireQemu } from './qemu.js';
export { repoRoot, migDaemonPath } from './paths.js';
export { cleanupAll, cleanupVms, onCleanup, liveProcessCount } from './cleanup.js';
export { sha256File, tmpDir, freePort } from './files.js';
export { PAGE_SIZE, fillRamFile, type FillOptions, type FillResult } from './fill.js';
export {
  TERMINAL_MIGRATION_STATUSES,
  MigrationWaitError,
  VmStartError,
  launchVm,
  vmArgv,
  type LaunchOptions,
  type QueryMigrateReply,
  type Vm,
  type VmKind,
} from './vm.js';
export { startMigration, type MigrateOptions } from './migrate.js';
