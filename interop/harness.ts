// One RAM migration between two launched VMs (QEMU 7.2 or mig-daemon), over one transport.
import { join } from 'node:path';
import {
  fillRamFile,
  freePort,
  launchVm,
  sha256File,
  startMigration,
  tmpDir,
  type QueryMigrateReply,
  type Vm,
  type VmKind,
} from '@mig/test-helpers';

export type Transport = 'unix' | 'tcp' | 'exec';

export interface RamMigrationCase {
  src: VmKind;
  dst: VmKind;
  transport: Transport;
  ramMiB: number;
  seed: number;
  zeroFraction?: number;
  /** Start the source with -S. */
  srcPaused?: boolean;
  /** Start the target with -S. */
  dstPaused?: boolean;
}

export interface RamMigrationResult {
  source: Vm;
  target: Vm;
  fileHash: string;
  srcReply: QueryMigrateReply;
  dstReply: QueryMigrateReply;
  streamFile?: string;
}

/**
 * Fills a RAM file, boots the source on it and a target with plain RAM of the same size and backend id,
 * migrates at 1 GiB/s and waits for a terminal status on both ends. The caller compares and asserts.
 */
export async function migrateRam(c: RamMigrationCase): Promise<RamMigrationResult> {
  const dir = await tmpDir(`mig-interop-${c.src}-${c.dst}-${c.transport}-`);
  const ramFile = join(dir, 'src.ram');
  await fillRamFile(ramFile, c.ramMiB << 20, { seed: c.seed, zeroFraction: c.zeroFraction ?? 0.4 });
  const fileHash = await sha256File(ramFile);

  let outUri: string;
  let inUri: string;
  let streamFile: string | undefined;
  switch (c.transport) {
    case 'tcp': {
      const port = await freePort();
      outUri = inUri = `tcp:127.0.0.1:${port}`;
      break;
    }
    case 'unix':
      outUri = inUri = `unix:${join(dir, 'mig.sock')}`;
      break;
    case 'exec':
      streamFile = join(dir, 'stream.bin');
      outUri = `exec:cat > ${streamFile}`;
      inUri = `exec:cat ${streamFile}`;
      break;
  }

  const target = await launchVm({
    kind: c.dst,
    ramMiB: c.ramMiB,
    incoming: c.transport === 'exec' ? 'defer' : inUri,
    paused: c.dstPaused ?? false,
    dir,
    name: 'target',
  });
  const source = await launchVm({
    kind: c.src,
    ramMiB: c.ramMiB,
    ramFile,
    paused: c.srcPaused ?? false,
    dir,
    name: 'source',
  });
  await startMigration(source, outUri);
  const srcReply = await source.waitForMigration();
  if (c.transport === 'exec' && srcReply.status === 'completed') {
    await target.qmp.execute('migrate-incoming', { uri: inUri });
  }
  const dstReply =
    c.transport === 'exec' && srcReply.status !== 'completed'
      ? ((await target.qmp.execute('query-migrate')) as QueryMigrateReply)
      : await target.waitForMigration();
  return { source, target, fileHash, srcReply, dstReply, ...(streamFile !== undefined ? { streamFile } : {}) };
}
