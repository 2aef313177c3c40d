// mig analyze against QEMU 7.2's own analyzer, scripts/analyze-migration.py (fetched by
// tooling/qemu-analyzer/fetch.mjs; never committed). On streams it reads — QEMU 7.2 RAM streams, source
// paused and running — both must list the same sections in the same order and the same RAM blocks, and the
// RAM each extracts must be byte-identical to the other's and to the source's pmemsave; the vmdesc it dumps
// must be the one we decode. On streams it refuses (block sections, XBZRLE pages) it must refuse them and
// ours must decode them.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
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
import type { AnalysisResult } from '../apps/daemon/dist/tools/index.js';

const run = promisify(execFile);
const MiB = 1 << 20;
const FETCH_COMMAND = 'node tooling/qemu-analyzer/fetch.mjs';
const ANALYZER = join(repoRoot(), '.cache', 'qemu-analyzer', 'analyze-migration.py');
const SECTIONS_PY = join(repoRoot(), 'interop', 'qemu-analyzer-sections.py');
const MIG = join(repoRoot(), 'apps', 'daemon', 'bin', 'mig');

const hasQemu = requireQemu();
const hasAnalyzer = requireAnalyzer();

/** Like requireQemu: skip locally without the script (saying how to get it), fail in CI. */
function requireAnalyzer(): boolean {
  if (existsSync(ANALYZER)) return true;
  const message = `QEMU's analyze-migration.py not fetched: run \`${FETCH_COMMAND}\``;
  const ci = process.env.CI;
  if (ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false') {
    throw new Error(`${message} (CI is set: interop tests never skip in CI)`);
  }
  console.warn(`skipping: ${message}`);
  return false;
}

interface SectionHeader {
  id: number;
  idstr: string;
  instance: number;
  version: number;
}

interface QemuAnalysis {
  code: number;
  stderr: string;
  /** The section headers it decoded, in stream order (recorded by qemu-analyzer-sections.py). */
  headers: SectionHeader[];
  /** state.json: "IDSTR (SECTION_ID)" -> the section's state; ram's holds its "section sizes". */
  state?: Record<string, Record<string, unknown>>;
  /** desc.json: the VMDESCRIPTION it found. */
  desc?: { page_size: number; devices: { name: string; instance_id: number; version: number }[] };
}

/** `analyze-migration.py -x -f STREAM` in `dir`: it writes desc.json, state.json and a file per RAM block there. */
async function qemuAnalyze(stream: string, dir: string): Promise<QemuAnalysis> {
  const headersFile = join(dir, 'headers.json');
  let code = 0;
  let stderr = '';
  try {
    ({ stderr } = await run('python3', [SECTIONS_PY, headersFile, ANALYZER, '-x', '-f', stream], { cwd: dir, maxBuffer: 64 * MiB }));
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    code = typeof e.code === 'number' ? e.code : -1;
    stderr = e.stderr ?? String(err);
  }
  const json = async <T>(name: string): Promise<T | undefined> =>
    existsSync(join(dir, name)) ? (JSON.parse(await readFile(join(dir, name), 'utf8')) as T) : undefined;
  const headers = (await json<SectionHeader[]>('headers.json')) ?? [];
  const analysis: QemuAnalysis = { code, stderr, headers };
  const state = await json<QemuAnalysis['state']>('state.json');
  const desc = await json<QemuAnalysis['desc']>('desc.json');
  if (state) analysis.state = state;
  if (desc) analysis.desc = desc;
  return analysis;
}

/** The real `mig analyze STREAM --json --ram-out DIR [...]`. */
async function migAnalyze(stream: string, ramOut: string, extra: string[] = []): Promise<{ code: number; stderr: string; result: AnalysisResult }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MIG, 'analyze', stream, '--json', '--ram-out', ramOut, ...extra], { maxBuffer: 64 * MiB });
    return { code: 0, stderr, result: JSON.parse(stdout) as AnalysisResult };
  } catch (err) {
    const e = err as { code?: number; stderr?: string; stdout?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? String(err), result: JSON.parse(e.stdout || '{}') as AnalysisResult };
  }
}

interface Source {
  vm: Vm;
  dir: string;
  stream: string;
}

async function source(kind: VmKind, ramMiB: number, opts: { paused?: boolean; extraArgs?: string[]; drives?: Vm['drives'] } = {}): Promise<Source> {
  const dir = await tmpDir(`mig-vs-qemu-${kind}-`);
  const ramFile = join(dir, 'src.ram');
  await fillRamFile(ramFile, ramMiB * MiB, { seed: 7100 + ramMiB, zeroFraction: 0.3 });
  const vm = await launchVm({
    kind, ramMiB, ramFile, dir, name: 'source', paused: opts.paused ?? false,
    ...(opts.extraArgs ? { extraArgs: opts.extraArgs } : {}), ...(opts.drives ? { drives: opts.drives } : {}),
  });
  return { vm, dir, stream: join(dir, 'stream.bin') };
}

async function migrateToFile(src: Source, opts: { blk?: boolean } = {}): Promise<void> {
  await startMigration(src.vm, `exec:cat > ${src.stream}`, opts);
  expect((await src.vm.waitForMigration()).status).toBe('completed');
}

describe.skipIf(!hasQemu || !hasAnalyzer)(
  `mig analyze vs QEMU's analyze-migration.py${hasQemu ? '' : ` (${QEMU_SKIP_MESSAGE})`}${hasAnalyzer ? '' : ` (run ${FETCH_COMMAND})`}`,
  () => {
    afterEach(cleanupAll);

    // QEMU 7.2's streams are the point; a mig-daemon one shows its writer is read the same way
    const cases = [['qemu', true, 64], ['qemu', false, 128], ['mig', true, 64]] as const;
    for (const [kind, paused, ramMiB] of cases) {
      const who = kind === 'qemu' ? 'QEMU 7.2' : 'mig-daemon';
      it(`${who} RAM stream, source ${paused ? 'paused (-S)' : 'running'}, ${ramMiB} MiB: same sections, blocks, RAM and vmdesc`, async () => {
        const src = await source(kind, ramMiB, { paused });
        await migrateToFile(src);
        const pmem = await src.vm.hashRam();
        const theirs = await qemuAnalyze(src.stream, src.dir);
        expect(theirs.code, theirs.stderr).toBe(0);
        const ramOut = join(src.dir, 'mig-ram');
        const ours = await migAnalyze(src.stream, ramOut);
        expect(ours.code, ours.stderr).toBe(0);
        const result = ours.result;

        // sections: the headers both decoded, in stream order, and the names its state.json gives them
        const mine = result.sections.map((s) => ({ id: s.id, idstr: s.idstr, instance: s.instanceId, version: s.version }));
        expect(theirs.headers).toEqual(mine);
        expect(mine.map((s) => s.idstr)).toEqual(['ram', 'timer', 'globalstate']);
        expect(Object.keys(theirs.state!)).toEqual(result.sections.map((s) => `${s.idstr} (${s.id})`));

        // RAM blocks and their sizes (it writes them as 0x%016x)
        const sizes = theirs.state![`ram (${result.sections[0]!.id})`]!['section sizes'] as Record<string, string>;
        const blocks = Object.entries(sizes).map(([idstr, hex]) => ({ idstr, usedLength: Number.parseInt(hex, 16) }));
        expect(blocks).toEqual(result.ram!.blocks);
        expect(blocks).toEqual([{ idstr: 'mem0', usedLength: ramMiB * MiB }]);

        // RAM: its file, ours and the source's pmemsave, byte for byte
        for (const { idstr } of blocks) {
          const theirsHash = await sha256File(join(src.dir, idstr));
          expect(await sha256File(join(ramOut, idstr)), `${idstr}: mig vs analyze-migration.py`).toBe(theirsHash);
          expect(theirsHash, `${idstr}: analyze-migration.py vs pmemsave`).toBe(pmem);
        }

        // vmdesc: what it dumps is the JSON ours found (the stream's last vmdesc.bytes bytes), and both read
        // the same page size and devices from it
        const stream = await readFile(src.stream);
        expect(theirs.desc).toEqual(JSON.parse(stream.subarray(stream.length - result.vmdesc!.bytes).toString('utf8')));
        expect(theirs.desc!.page_size).toBe(result.vmdesc!.pageSize);
        expect(theirs.desc!.devices.map((d) => ({ name: d.name, instanceId: d.instance_id, version: d.version }))).toEqual(result.vmdesc!.devices);
        expect(result.vmdesc!.devices!.map((d) => d.name)).toEqual(['timer', 'globalstate']);
      });
    }

    it('QEMU 7.2 block migration: it refuses the block section, ours decodes RAM and disks', async () => {
      const dir = await tmpDir('mig-vs-qemu-blk-');
      const disk = join(dir, 'd0.raw');
      await createRawDisk(disk, 4 * MiB, { seed: 41, zeroFraction: 0.25 });
      const src = await source('qemu', 16, { drives: [{ id: 'd0', file: disk, format: 'raw' }] });
      await migrateToFile(src, { blk: true });
      const theirs = await qemuAnalyze(src.stream, src.dir);
      expect(theirs.code).not.toBe(0);
      expect(theirs.stderr).toContain("KeyError: ('block', 0)");
      expect(theirs.state).toBeUndefined();

      const ours = await migAnalyze(src.stream, join(src.dir, 'mig-ram'), ['--disk-out', join(src.dir, 'mig-disks')]);
      expect(ours.code, ours.stderr).toBe(0);
      expect(ours.result.sections.map((s) => s.idstr)).toEqual(['block', 'ram', 'timer', 'globalstate']);
      expect(await sha256File(join(src.dir, 'mig-ram', 'mem0'))).toBe(await src.vm.hashRam());
      expect(await sha256File(join(src.dir, 'mig-disks', 'd0'))).toBe(await sha256File(disk));
    });

    it('mig-daemon stream with XBZRLE pages: it refuses them, ours decodes them onto the source RAM', async () => {
      const src = await source('mig', 64, { extraArgs: ['-workload', 'dirty-rate=200M/s,wss=16M,pattern=sparse'] });
      await src.vm.qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'xbzrle', state: true }] });
      await src.vm.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 32 * MiB, 'downtime-limit': 0, 'xbzrle-cache-size': 32 * MiB });
      await src.vm.qmp.execute('migrate', { uri: `exec:cat > ${src.stream}` });
      for (let i = 0; i < 600; i++) {
        const r = (await src.vm.qmp.execute('query-migrate')) as QueryMigrateReply & { 'xbzrle-cache'?: { pages: number } };
        if ((r['xbzrle-cache']?.pages ?? 0) >= 1000 || ['completed', 'failed', 'cancelled'].includes(r.status ?? '')) break;
        await sleep(50);
      }
      await src.vm.qmp.execute('migrate-set-parameters', { 'downtime-limit': 10_000 });
      expect((await src.vm.waitForMigration()).status).toBe('completed');

      const theirs = await qemuAnalyze(src.stream, src.dir);
      expect(theirs.code).not.toBe(0);
      expect(theirs.stderr).toContain('XBZRLE RAM compression is not supported yet');
      // it got as far as the ram section: the refusal is the XBZRLE page, not the stream's framing
      expect(theirs.headers.map((h) => h.idstr)).toEqual(['ram']);

      const ramOut = join(src.dir, 'mig-ram');
      const ours = await migAnalyze(src.stream, ramOut);
      expect(ours.code, ours.stderr).toBe(0);
      expect(ours.result.ram!.totals.xbzrle).toBeGreaterThan(0);
      expect(ours.result.sections[0]).toMatchObject({ id: theirs.headers[0]!.id, idstr: 'ram', instanceId: theirs.headers[0]!.instance, version: theirs.headers[0]!.version });
      expect(await sha256File(join(ramOut, 'mem0'))).toBe(await src.vm.hashRam());
    });
  },
);
