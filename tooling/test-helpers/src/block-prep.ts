// Work around what QEMU 7.2 `-machine none` lacks for block migration, so tests can treat QEMU and
// mig-daemon alike. mig-daemon needs none of it: for it these are no-ops.
//
// Target: a `-drive if=none` backend with no device attached holds no WRITE permission and its node stays
// inactive until the migration ends, so an incoming block migration aborts QEMU
// (`bdrv_co_write_req_prepare: Assertion child->perm & BLK_PERM_WRITE`). A writable NBD export activates the
// node, and a qemu-io write through the drive takes the WRITE permission, which the drive keeps after the
// export is gone.
// Source: the first qemu-io write takes the WRITE permission; taken in the middle of a block migration it fails
// the migration, so one zero-length write before `migrate` lets later writes happen during it.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { hmpQemuIo } from './hmp.js';
import type { Vm } from './vm.js';

/** Zero bytes at offset 0: takes the WRITE permission without changing the disk. */
const PERMISSION_WRITE = 'write -z 0 0';

interface QueryBlockEntry {
  device: string;
  inserted?: { 'node-name': string; ro: boolean };
}

/** The writable drives among `ids` (default: all the VM was launched with). */
function writableDrives(vm: Vm, ids: readonly string[] | undefined): string[] {
  const known = new Map(vm.drives.map((d) => [d.id, d]));
  const chosen = ids ?? vm.drives.map((d) => d.id);
  for (const id of chosen) if (!known.has(id)) throw new RangeError(`block prep: ${vm.kind} has no drive '${id}' (has ${[...known.keys()].join(', ') || 'none'})`);
  return chosen.filter((id) => known.get(id)!.readOnly !== true);
}

async function nodeNames(vm: Vm): Promise<Map<string, string>> {
  const blocks = (await vm.qmp.execute('query-block')) as QueryBlockEntry[];
  const m = new Map<string, string>();
  for (const b of blocks) if (b.inserted !== undefined) m.set(b.device, b.inserted['node-name']);
  return m;
}

/**
 * Makes a `-incoming defer` QEMU accept an incoming block migration into its writable drives (`ids`, default
 * all); call it before `migrate-incoming`. Read-only drives are left alone (QEMU's source does not send them).
 */
export async function prepareBlockTarget(vm: Vm, ids?: readonly string[]): Promise<void> {
  const drives = writableDrives(vm, ids);
  if (vm.kind !== 'qemu' || drives.length === 0) return;
  const nodes = await nodeNames(vm);
  const tag = randomBytes(4).toString('hex');
  const sock = join(vm.dir, `nbd-prep-${tag}.sock`);
  await vm.qmp.execute('nbd-server-start', { addr: { type: 'unix', data: { path: sock } } });
  try {
    for (const id of drives) {
      const node = nodes.get(id);
      if (node === undefined) throw new Error(`prepareBlockTarget: drive '${id}' has no medium in query-block`);
      const exportId = `mig-prep-${tag}-${id}`;
      await vm.qmp.execute('block-export-add', { type: 'nbd', id: exportId, 'node-name': node, writable: true });
      try {
        await hmpQemuIo(vm, id, PERMISSION_WRITE);
      } finally {
        await vm.qmp.execute('block-export-del', { id: exportId });
      }
    }
  } finally {
    await vm.qmp.execute('nbd-server-stop');
  }
}

/**
 * Lets a QEMU source's drives (`ids`, default all writable) be written with hmpQemuIo while a block migration
 * runs; call it before `migrate`. Not needed when nothing writes the disks during the migration.
 */
export async function prepareBlockSource(vm: Vm, ids?: readonly string[]): Promise<void> {
  if (vm.kind !== 'qemu') return;
  for (const id of writableDrives(vm, ids)) await hmpQemuIo(vm, id, PERMISSION_WRITE);
}
