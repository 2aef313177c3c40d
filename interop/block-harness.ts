// One block migration (blk or inc) between two launched VMs (QEMU 7.2 or mig-daemon): disks made from seeds,
// optional qemu-io writes on the source while it migrates, then both ends compared by disk and RAM sha256.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createBlankDisk,
  createQcow2Overlay,
  createRawDisk,
  fillRamFile,
  hmpQemuIo,
  launchVm,
  prepareBlockSource,
  prepareBlockTarget,
  qemuImgCheck,
  sha256Disk,
  sha256File,
  startMigration,
  tmpDir,
  type QueryMigrateReply,
  type Vm,
  type VmKind,
} from '@mig/test-helpers';

export const MiB = 1 << 20;

export interface DiskSpec {
  id: string;
  sizeBytes: number;
  /** Share of 1 MiB units that are zero (the rest random). */
  zeroFraction?: number;
  /** blk: the format of both ends' images. inc: always a qcow2 overlay over a raw base both ends share. */
  format?: 'raw' | 'qcow2';
}

export interface BlockCase {
  src: VmKind;
  dst: VmKind;
  mode: 'blk' | 'inc';
  disks: DiskSpec[];
  zeroBlocks?: boolean;
  /** qemu-io writes on the source while the migration runs (each 4 KiB … 64 KiB with its own pattern). */
  writesDuring?: number;
  /** max-bandwidth, bytes/s (default 1 GiB/s). */
  bandwidth?: number;
  /** Where the stream goes: unix socket (default) or a file the target then reads (exec). */
  transport?: 'unix' | 'file';
  ramMiB?: number;
  seed: number;
}

export interface BlockOutcome {
  src: Vm;
  dst: Vm;
  srcReply: QueryMigrateReply;
  dstReply: QueryMigrateReply;
  /** Per disk id: [source sha256, target sha256]. */
  disks: Record<string, [string, string]>;
  ram: [string, string];
  /** qemu-img check of every qcow2 image the target wrote (mig targets only). */
  checks: Record<string, { checkErrors: number; corruptions: number; leaks: number }>;
  writes: number;
  streamFile?: string;
  dir: string;
}

/** Source disks (and, for inc, the shared base), and the target's empty images or overlays. */
async function makeDisks(dir: string, c: BlockCase) {
  const src: { id: string; file: string; format: 'raw' | 'qcow2' }[] = [];
  const dst: { id: string; file: string; format: 'raw' | 'qcow2' }[] = [];
  for (const [i, d] of c.disks.entries()) {
    const content = { seed: c.seed * 100 + i, zeroFraction: d.zeroFraction ?? 0 };
    if (c.mode === 'inc') {
      const base = join(dir, `${d.id}-base.raw`);
      await createRawDisk(base, d.sizeBytes, content);
      const s = join(dir, `${d.id}-src.qcow2`);
      const t = join(dir, `${d.id}-dst.qcow2`);
      await createQcow2Overlay(s, base);
      await createQcow2Overlay(t, base);
      src.push({ id: d.id, file: s, format: 'qcow2' });
      dst.push({ id: d.id, file: t, format: 'qcow2' });
    } else {
      const format = d.format ?? 'raw';
      const s = join(dir, `${d.id}-src.${format}`);
      const t = join(dir, `${d.id}-dst.${format}`);
      if (format === 'raw') await createRawDisk(s, d.sizeBytes, content);
      else await createBlankDisk(s, d.sizeBytes, 'qcow2');
      await createBlankDisk(t, d.sizeBytes, format);
      src.push({ id: d.id, file: s, format });
      dst.push({ id: d.id, file: t, format });
    }
  }
  return { src, dst };
}

/** Seeded qemu-io writes (4 KiB … 64 KiB, each its own pattern) spread over the source's disks. */
function plannedWrites(c: BlockCase): { id: string; cmd: string }[] {
  let x = c.seed >>> 0 || 1;
  const rnd = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
  const out: { id: string; cmd: string }[] = [];
  for (let i = 0; i < (c.writesDuring ?? 0); i++) {
    const d = c.disks[rnd() % c.disks.length]!;
    const len = 4096 << (rnd() % 5);
    const offset = (rnd() % Math.floor((d.sizeBytes - len) / 4096)) * 4096;
    out.push({ id: d.id, cmd: `write -P 0x${(1 + (rnd() % 254)).toString(16)} ${offset} ${len}` });
  }
  return out;
}

export async function migrateDisks(c: BlockCase): Promise<BlockOutcome> {
  const dir = await tmpDir(`mig-interop-block-${c.src}-${c.dst}-${c.mode}-`);
  const ramMiB = c.ramMiB ?? 16;
  const ramFile = join(dir, 'src.ram');
  await fillRamFile(ramFile, ramMiB * MiB, { seed: c.seed, zeroFraction: 0.4 });
  const ramHash = await sha256File(ramFile);
  const disks = await makeDisks(dir, c);
  await mkdir(join(dir, 'src'));
  await mkdir(join(dir, 'dst'));
  const src = await launchVm({ kind: c.src, ramMiB, ramFile, drives: disks.src, dir: join(dir, 'src'), name: 'src' });
  const streamFile = c.transport === 'file' ? join(dir, 'stream') : undefined;
  const sock = join(dir, 'mig.sock');
  const dst = streamFile ? undefined : await launchVm({ kind: c.dst, ramMiB, drives: disks.dst, incoming: 'defer', dir: join(dir, 'dst'), name: 'dst' });
  if (dst) {
    await prepareBlockTarget(dst);
    await dst.qmp.execute('migrate-incoming', { uri: `unix:${sock}` });
  }
  const writes = plannedWrites(c);
  if (writes.length > 0) await prepareBlockSource(src);
  await startMigration(src, streamFile ? `exec:cat > ${streamFile}` : `unix:${sock}`, {
    [c.mode]: true,
    ...(c.bandwidth !== undefined ? { maxBandwidth: c.bandwidth } : {}),
    ...(c.zeroBlocks ? { capabilities: ['zero-blocks'] } : {}),
  });
  for (const w of writes) {
    await hmpQemuIo(src, w.id, w.cmd);
    await sleep(20);
  }
  const srcReply = await src.waitForMigration(undefined, 170_000);
  let target = dst;
  if (streamFile) {
    target = await launchVm({ kind: c.dst, ramMiB, drives: disks.dst, incoming: 'defer', dir: join(dir, 'dst'), name: 'dst' });
    await prepareBlockTarget(target);
    await target.qmp.execute('migrate-incoming', { uri: `exec:cat ${streamFile}` });
  }
  const dstReply = await target!.waitForMigration(undefined, 170_000);
  const ram: [string, string] = [ramHash, dstReply.status === 'completed' ? await target!.hashRam() : ''];
  await src.quit();
  await target!.quit();
  const hashes: Record<string, [string, string]> = {};
  const checks: BlockOutcome['checks'] = {};
  for (const [i, s] of disks.src.entries()) {
    const t = disks.dst[i]!;
    hashes[s.id] = [await sha256Disk(s.file, s.format), await sha256Disk(t.file, t.format)];
    if (c.dst === 'mig' && t.format === 'qcow2') checks[t.id] = await qemuImgCheck(t.file);
  }
  return { src, dst: target!, srcReply, dstReply, disks: hashes, ram, checks, writes: writes.length, ...(streamFile ? { streamFile } : {}), dir };
}
