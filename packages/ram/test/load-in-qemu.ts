// Loads a stream file into a real QEMU 7.2 target (`-incoming defer` + `migrate-incoming exec:cat FILE`) with the
// shared test helpers, and says what QEMU made of it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launchVm, requireQemu } from '@mig/test-helpers';

export { QEMU_SKIP_MESSAGE, cleanupAll } from '@mig/test-helpers';
/** Throws when CI is set and QEMU is missing; false (skip) locally. */
export const hasQemu = requireQemu();

export interface QemuLoad {
  status: string | undefined;
  ramSha: string;
  runstate: string;
  stderr: string;
}

/** A target with RAM block `mem0` of `ramMiB` loads `stream`; the target is killed afterwards. */
export async function loadInQemu(stream: Uint8Array, ramMiB: number): Promise<QemuLoad> {
  const vm = await launchVm({ kind: 'qemu', ramMiB, incoming: 'defer' });
  try {
    const file = join(vm.dir, 'stream.bin');
    await writeFile(file, stream);
    await vm.qmp.execute('migrate-incoming', { uri: `exec:cat ${file}` });
    const info = await vm.waitForMigration(undefined, 30_000);
    const ramSha = info.status === 'completed' ? await vm.hashRam() : '';
    return { status: info.status, ramSha, runstate: await vm.runState(), stderr: vm.stderr };
  } finally {
    await vm.kill();
  }
}
