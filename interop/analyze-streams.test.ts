// mig analyze on streams written by real sources: QEMU 7.2 with RAM (-S and running), QEMU 7.2 with block
// migration, mig-daemon with XBZRLE under a guest that keeps writing, a QEMU migration cancelled half-way
// (a stream that stops inside a record), and a stream analysed from stdin while QEMU migrates into it.
// --ram-out must equal the source's pmemsave, --disk-out the source disks; the page counts must equal the
// source's query-migrate.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  QEMU_SKIP_MESSAGE,
  cleanupAll,
  createRawDisk,
  fillRamFile,
  launchVm,
  repoRoot,
  requireQemu,
  sha256File,
  startMigration,
  tmpDir,
  type QueryMigrateReply,
  type Vm,
  type VmKind,
} from '@mig/test-helpers';
import { runAnalyze, type AnalysisResult } from '../apps/daemon/dist/tools/index.js';

const hasQemu = requireQemu();
const MiB = 1 << 20;
const PAGE = 4096;

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function analyze(argv: string[]): Promise<Captured & { result: AnalysisResult }> {
  const c: Captured = { code: -1, out: '', err: '' };
  const io = { stdin: process.stdin, stdout: { write: (s: string) => (c.out += s) }, stderr: { write: (s: string) => (c.err += s) } };
  c.code = await runAnalyze([...argv, '--json'], io);
  return { ...c, result: JSON.parse(c.out) as AnalysisResult };
}

interface Source {
  vm: Vm;
  dir: string;
  ramFile: string;
  stream: string;
}

async function source(kind: VmKind, ramMiB: number, opts: { paused?: boolean; extraArgs?: string[]; drives?: Vm['drives'] } = {}): Promise<Source> {
  const dir = await tmpDir(`mig-analyze-${kind}-`);
  const ramFile = join(dir, 'src.ram');
  await fillRamFile(ramFile, ramMiB * MiB, { seed: 9000 + ramMiB, zeroFraction: 0.4 });
  const vm = await launchVm({
    kind, ramMiB, ramFile, dir, name: 'source', paused: opts.paused ?? false,
    ...(opts.extraArgs ? { extraArgs: opts.extraArgs } : {}), ...(opts.drives ? { drives: opts.drives } : {}),
  });
  return { vm, dir, ramFile, stream: join(dir, 'stream.bin') };
}

/** What every complete RAM analysis must show against the source that wrote it. */
async function expectRamOfSource(src: Source, reply: QueryMigrateReply, result: AnalysisResult, ramOut: string): Promise<void> {
  expect(result.complete).toBe(true);
  expect(result.damage).toBeUndefined();
  const ram = result.ram!;
  expect(ram.blocks).toEqual([{ idstr: 'mem0', usedLength: src.vm.ramBytes }]);
  expect(ram.totals.normal, 'normal pages').toBe(reply.ram!.normal);
  expect(ram.totals.zero, 'zero pages').toBe(reply.ram!.duplicate);
  expect(await sha256File(join(ramOut, 'mem0'))).toBe(await src.vm.hashRam());
  expect(result.sections.map((s) => s.idstr)).toEqual(expect.arrayContaining(['ram', 'timer', 'globalstate']));
  expect(result.eof).toBe(true);
}

describe.skipIf(!hasQemu)(`mig analyze on QEMU 7.2's streams${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}`, () => {
  afterEach(cleanupAll);

  for (const paused of [true, false]) {
    it(`RAM, source ${paused ? 'paused (-S)' : 'running'}: --ram-out equals pmemsave, counts equal query-migrate`, async () => {
      const src = await source('qemu', 64, { paused });
      await startMigration(src.vm, `exec:cat > ${src.stream}`);
      const reply = await src.vm.waitForMigration();
      expect(reply.status).toBe('completed');
      const ramOut = join(src.dir, 'ram');
      const { code, err, result } = await analyze([src.stream, '--ram-out', ramOut]);
      expect(code, err).toBe(0);
      expect(result.bytes).toBe((await stat(src.stream)).size);
      await expectRamOfSource(src, reply, result, ramOut);
      expect(result.runstate).toBe(paused ? 'prelaunch' : 'running');
      expect(result.ram!.passes).toHaveLength(1); // -machine none: no CPU dirties RAM, one round
      expect(result.vmdesc?.devices?.map((d) => d.name)).toEqual(['timer', 'globalstate']);
    });
  }

  it('block migration (blk): --disk-out equals the source disks, one chunk record per MiB, RAM equal', async () => {
    const dir = await tmpDir('mig-analyze-blk-');
    const d0 = join(dir, 'd0.raw');
    const d1 = join(dir, 'd1.raw');
    await createRawDisk(d0, 8 * MiB, { seed: 31, zeroFraction: 0.25 });
    await createRawDisk(d1, 3 * MiB + 64 * 1024, { seed: 32, zeroFraction: 0 });
    const src = await source('qemu', 16, { drives: [{ id: 'd0', file: d0, format: 'raw' }, { id: 'd1', file: d1, format: 'raw' }] });
    await startMigration(src.vm, `exec:cat > ${src.stream}`, { blk: true });
    const reply = await src.vm.waitForMigration();
    expect(reply.status).toBe('completed');
    const ramOut = join(src.dir, 'ram');
    const diskOut = join(src.dir, 'disks');
    const { code, err, result } = await analyze([src.stream, '--ram-out', ramOut, '--disk-out', diskOut, '--disk-size', `d1=${3 * MiB + 64 * 1024}`]);
    expect(code, err).toBe(0);
    await expectRamOfSource(src, reply, result, ramOut);
    expect(await sha256File(join(diskOut, 'd0'))).toBe(await sha256File(d0));
    expect(await sha256File(join(diskOut, 'd1'))).toBe(await sha256File(d1));
    const devices = Object.fromEntries(result.block!.devices.map((d) => [d.name, d]));
    expect(devices.d0).toMatchObject({ distinctChunks: 8, highestEnd: 8 * MiB });
    expect(devices.d1).toMatchObject({ distinctChunks: 4, highestEnd: 3 * MiB + 64 * 1024 });
    expect(result.block!.progress.at(-1)).toBe(100);
    expect(result.sections.map((s) => s.idstr)).toEqual(['block', 'ram', 'timer', 'globalstate']);
    expect(result.notes.join('\n')).toContain("d0's file ends at its highest chunk (8388608 bytes");
  });

  it('a migration cancelled half-way: exit 1 naming the offset and record; the pages up to there are the source RAM', async () => {
    const src = await source('qemu', 256);
    await startMigration(src.vm, `exec:cat > ${src.stream}`, { maxBandwidth: 64 * MiB });
    await src.vm.waitForMigration(['active']);
    await sleep(1200);
    await src.vm.qmp.execute('migrate_cancel');
    expect((await src.vm.waitForMigration()).status).toBe('cancelled');
    const size = (await stat(src.stream)).size;
    const ramOut = join(src.dir, 'ram');
    const { code, err, result } = await analyze([src.stream, '--ram-out', ramOut]);
    expect(code).toBe(1);
    expect(err).toMatch(new RegExp(`^mig analyze: .*stream\\.bin: (ram( \\w+)?|section footer|section|SECTION_\\w+) record at byte \\d+: stream ended after ${size} bytes`));
    expect(result.damage!.offset).toBeLessThanOrEqual(size);
    expect(result.complete).toBe(false);
    const pass = result.ram!.passes[0]!;
    const pages = pass.normal + pass.zero;
    expect(pages * PAGE).toBeGreaterThan(16 * MiB);
    expect(pages * PAGE).toBeLessThan(256 * MiB);
    const extracted = await readFile(join(ramOut, 'mem0'));
    const original = await readFile(src.ramFile);
    expect(sha(extracted.subarray(0, pages * PAGE))).toBe(sha(original.subarray(0, pages * PAGE)));
  });

  it('from stdin while QEMU migrates into it (exec:), memory bounded below the guest RAM', async () => {
    const src = await source('qemu', 256);
    const ramOut = join(src.dir, 'ram');
    const rusage = join(src.dir, 'rusage.json');
    const tool = join(repoRoot(), 'interop', 'run-tool.mjs');
    const cmd = `MIG_TOOL_RUSAGE=${rusage} ${process.execPath} ${tool} analyze - --ram-out ${ramOut} --json > ${join(src.dir, 'analysis.json')} 2> ${join(src.dir, 'analysis.err')}`;
    await startMigration(src.vm, `exec:${cmd}`, { maxBandwidth: 256 * MiB });
    const reply = await src.vm.waitForMigration();
    expect(reply.status).toBe('completed');
    for (let i = 0; i < 300 && !existsSync(rusage); i++) await sleep(100);
    const usage = JSON.parse(await readFile(rusage, 'utf8')) as { code: number; maxRSS: number };
    const result = JSON.parse(await readFile(join(src.dir, 'analysis.json'), 'utf8')) as AnalysisResult;
    expect(usage.code, await readFile(join(src.dir, 'analysis.err'), 'utf8')).toBe(0);
    expect(result.input).toBe('stdin');
    await expectRamOfSource(src, reply, result, ramOut);
    expect(usage.maxRSS * 1024, 'peak RSS of the analyzer').toBeLessThan(200 * MiB);
  });
});

describe('mig analyze on mig-daemon streams', () => {
  afterEach(cleanupAll);

  it('XBZRLE under a guest that keeps writing: XBZRLE pages decoded into --ram-out equal pmemsave, counts equal query-migrate', async () => {
    const src = await source('mig', 64, { extraArgs: ['-workload', 'dirty-rate=200M/s,wss=16M,pattern=sparse'] });
    await src.vm.qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'xbzrle', state: true }] });
    await src.vm.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 32 * MiB, 'downtime-limit': 0, 'xbzrle-cache-size': 32 * MiB });
    await src.vm.qmp.execute('migrate', { uri: `exec:cat > ${src.stream}` });
    for (let i = 0; i < 600; i++) {
      const r = (await src.vm.qmp.execute('query-migrate')) as QueryMigrateReply & { 'xbzrle-cache'?: { pages: number } };
      if ((r['xbzrle-cache']?.pages ?? 0) >= 3000 || ['completed', 'failed', 'cancelled'].includes(r.status ?? '')) break;
      await sleep(50);
    }
    await src.vm.qmp.execute('migrate-set-parameters', { 'downtime-limit': 10_000 });
    const reply = (await src.vm.waitForMigration()) as QueryMigrateReply & { 'xbzrle-cache': { pages: number; bytes: number; overflow: number } };
    expect(reply.status).toBe('completed');
    const ramOut = join(src.dir, 'ram');
    const { code, err, result } = await analyze([src.stream, '--ram-out', ramOut]);
    expect(code, err).toBe(0);
    await expectRamOfSource(src, reply, result, ramOut);
    const ram = result.ram!;
    // query-migrate's xbzrle pages are cache hits: those sent as XBZRLE records, those unchanged (nothing
    // sent) and those whose delta overflowed (sent as normal pages); its bytes are the records' bytes
    // without their be64 (3 + delta, + 1 + idstr for a record that names the block) and 4096 per overflow
    const x = reply['xbzrle-cache'];
    expect(ram.totals.xbzrle).toBeGreaterThanOrEqual(3000);
    expect(ram.totals.xbzrle).toBeLessThanOrEqual(x.pages - x.overflow);
    const headers = x.bytes - x.overflow * PAGE - ram.totals.xbzrleBytes - 3 * ram.totals.xbzrle;
    expect(headers).toBeGreaterThanOrEqual(0);
    expect(headers).toBeLessThanOrEqual((1 + 'mem0'.length) * ram.totals.xbzrle);
    // XBZRLE starts once the scan has wrapped: none in the first pass, some in later ones
    expect(ram.passes.length).toBeGreaterThanOrEqual(2);
    expect(ram.passes[0]!.xbzrle).toBe(0);
    expect(ram.passes.slice(1).some((p) => p.xbzrle > 0)).toBe(true);
    expect(ram.passes.length).toBeLessThanOrEqual(reply.ram!['dirty-sync-count']! + 1);
  });
});

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
