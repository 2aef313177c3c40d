export { QEMU_BINARY, QEMU_SKIP_MESSAGE, QemuMissingError, findQemu, requireQemu } from './qemu.js';
export { repoRoot, migDaemonPath } from './paths.js';
export { cleanupAll, cleanupVms, onCleanup, onExit, liveProcessCount } from './cleanup.js';
export { sha256File, tmpDir, freePort } from './files.js';
export { PAGE_SIZE, fillRamFile, type FillOptions, type FillResult } from './fill.js';
export { BLOCK_CHUNK, SECTOR_SIZE, createRawDisk, type RawDiskOptions, type RawDiskResult } from './disk.js';
export {
  QEMU_IMG,
  QemuImgError,
  createBlankDisk,
  createQcow2Overlay,
  qemuImgCheck,
  qemuImgInfo,
  sha256Disk,
  type DiskFormat,
  type OverlayOptions,
  type QemuImgCheckResult,
  type QemuImgInfo,
} from './qemu-img.js';
export { HmpQemuIoError, hmpQemuIo } from './hmp.js';
export { prepareBlockSource, prepareBlockTarget } from './block-prep.js';
export {
  TERMINAL_MIGRATION_STATUSES,
  MigrationWaitError,
  VmStartError,
  driveArg,
  launchVm,
  vmArgv,
  type DriveSpec,
  type LaunchOptions,
  type QueryMigrateReply,
  type Vm,
  type VmKind,
} from './vm.js';
export { QEMU_BLOCK_SOURCE_DOWNTIME_LIMIT_MS, startMigration, type MigrateOptions } from './migrate.js';
export { closeDescriptor, handDescriptor, pipePair, socketPair } from './descriptors.js';
/** The QMP client the VMs are driven with, for a test that opens another connection (a tcp monitor). */
export { QmpClient, QmpError } from '@mig/qmp';
export { processMemory, sampleMemory, type MemorySampler, type ProcessMemory } from './memory.js';
export { slowReaderCommand, type SlowReaderOptions } from './slow-reader.js';
export {
  TEST_HOSTS_SKIP_MESSAGE,
  TEST_LINK_DEVICE,
  TestHostsMissingError,
  createTestHosts,
  removeStaleTestHosts,
  requireTestHosts,
  tbfArgs,
  testHostsUnavailable,
  type TestHost,
  type TestHosts,
  type TestHostsOptions,
} from './netns.js';
export { linkProxyScript, startLinkProxy, type LinkProxy, type LinkProxyOptions, type ProxyStats } from './link-proxy.js';
export { CUT_ACTIONS, type CutAction, type ProxyEvent } from './link-proxy-protocol.js';
export { parsePrometheusText, PromParseError, type PromFamily, type PromSample } from './prometheus.js';
export { makeTlsDirs, type CertSubject, type TlsDirs, type TlsDirsOptions } from './certs.js';
