// mig analyze on streams QEMU 7.2 wrote (the repository's fixtures, with the facts their generators took
// from QEMU in JSON sidecars): RAM extracted equal to the source RAM, page counts equal to the source's
// query-migrate, sections and block records equal to what the sidecars list, drives equal to the source
// disks' sha256. The .stream.gz fixtures go through stdin, gunzipped on the fly.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { captureIo } from '../../../test/capture-io.js';
import type { AnalysisResult } from './analysis-result.js';
import { runAnalyze } from './run-analyze.js';

const REPO = fileURLToPath(new URL('../../../../../', import.meta.url));
const RAM_FIXTURES = join(REPO, 'packages/ram/test/fixtures');
const BLOCK_FIXTURES = join(REPO, 'packages/block/test/fixtures');
const MiB = 1 << 20;

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function outDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mig-analyze-fixture-'));
  dirs.push(d);
  return d;
}
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function analyze(argv: string[], stdin?: NodeJS.ReadableStream): Promise<{ code: number; err: string; result: AnalysisResult }> {
  const io = captureIo(stdin as never);
  const code = await runAnalyze([...argv, '--json'], io);
  return { code, err: io.err, result: JSON.parse(io.out) as AnalysisResult };
}

interface RamSidecar {
  runstate: string;
  blocks: { idstr: string; usedLength: number }[];
  ramSha256: string;
  queryMigrate: { ram: { normal: number; duplicate: number; 'dirty-sync-count': number } };
}

describe('mig analyze: QEMU 7.2 RAM streams (-S, exec:cat)', () => {
  for (const name of ['qemu72-mem0-1m-small', 'qemu72-mem0-4m']) {
    it(`${name}: --ram-out equals the source RAM, counts equal query-migrate`, async () => {
      const facts = JSON.parse(await readFile(join(RAM_FIXTURES, `${name}.json`), 'utf8')) as RamSidecar;
      const dir = await outDir();
      const { code, err, result } = await analyze([join(RAM_FIXTURES, `${name}.stream`), '--ram-out', dir]);
      expect(code, err).toBe(0);
      expect(result.complete).toBe(true);
      expect(result.runstate).toBe(facts.runstate);
      expect(result.ram!.blocks).toEqual(facts.blocks);
      expect(result.ram!.totals).toMatchObject({ normal: facts.queryMigrate.ram.normal, zero: facts.queryMigrate.ram.duplicate, xbzrle: 0 });
      expect(result.ram!.passes).toHaveLength(1); // a paused guest: one round, nothing dirtied after
      for (const b of facts.blocks) expect(sha(await readFile(join(dir, b.idstr)))).toBe(facts.ramSha256);
      expect(result.sections.map((s) => `${s.idstr}(${s.id}) v${s.version}`)).toEqual(['ram(2) v4', 'timer(0) v2', 'globalstate(4) v1']);
      expect(result.vmdesc?.pageSize).toBe(4096);
      expect(result.vmdesc?.devices?.map((d) => `${d.name}/${d.instanceId}`)).toEqual(['timer/0', 'globalstate/0']);
    });
  }
});

interface BlockSidecar {
  drives: { id: string; sizeBytes: number; readOnly: boolean; sha256: string }[];
  migrate: { blk?: boolean; inc?: boolean };
  stream: { file: string; bytes: number };
  sectionsSeen: { id: number; idstr: string; instance: number; version: number; counts: Record<string, number> }[];
  blockRecords: Record<string, { records: { kind: string; byteOffset: number; streamOffset: number }[] }>;
  progress: number[];
  queryMigrateCompleted: { ram: { normal: number; duplicate: number } };
}

const gunzipped = (file: string): NodeJS.ReadableStream => createReadStream(join(BLOCK_FIXTURES, file)).pipe(createGunzip());

describe('mig analyze: QEMU 7.2 block-migration streams (stdin)', async () => {
  const names = (await readdir(BLOCK_FIXTURES)).filter((f) => f.endsWith('.stream.gz')).map((f) => f.replace('.stream.gz', ''));
  it('has the fixtures', () => expect(names.length).toBeGreaterThanOrEqual(5));

  for (const name of names) {
    it(`${name}: sections, chunks and progress equal the sidecar; --disk-out equals the source disks`, async () => {
      const facts = JSON.parse(await readFile(join(BLOCK_FIXTURES, `${name}.json`), 'utf8')) as BlockSidecar;
      const sent = facts.drives.filter((d) => !d.readOnly);
      const sizes = sent.flatMap((d) => ['--disk-size', `${d.id}=${d.sizeBytes}`]);
      const dir = await outDir();
      const { code, err, result } = await analyze(['-', '--disk-out', dir, ...sizes], gunzipped(facts.stream.file));
      expect(code, err).toBe(0);
      expect(result.bytes).toBe(facts.stream.bytes);
      expect(result.sections.map((s) => ({ id: s.id, idstr: s.idstr, instance: s.instanceId, version: s.version, counts: countsOf(s.records) })))
        .toEqual(facts.sectionsSeen.map(({ id, idstr, instance, version, counts }) => ({ id, idstr, instance, version, counts })));
      const devices = Object.fromEntries(result.block!.devices.map((d) => [d.name, d]));
      expect(Object.keys(devices).sort()).toEqual(Object.keys(facts.blockRecords).sort());
      for (const [id, { records }] of Object.entries(facts.blockRecords)) {
        expect(devices[id]).toMatchObject({
          chunks: records.length,
          zeroChunks: records.filter((r) => r.kind === 'ZERO_BLOCK').length,
          distinctChunks: new Set(records.map((r) => r.byteOffset)).size,
        });
      }
      expect(result.block!.progress).toEqual(facts.progress);
      expect(result.ram!.totals).toMatchObject({ normal: facts.queryMigrateCompleted.ram.normal, zero: facts.queryMigrateCompleted.ram.duplicate });
      if (facts.migrate.blk) {
        for (const d of sent) expect(sha(await readFile(join(dir, d.id))), d.id).toBe(d.sha256);
      }
      expect(result.notes).toEqual([]);
    });
  }

  it('without --disk-size a drive file ends at its highest chunk (whole MiB) and says so; the drive is its prefix', async () => {
    const facts = JSON.parse(await readFile(join(BLOCK_FIXTURES, 'blk-raw-3m64k.json'), 'utf8')) as BlockSidecar;
    const dir = await outDir();
    const { code, result } = await analyze(['-', '--disk-out', dir], gunzipped(facts.stream.file));
    expect(code).toBe(0);
    const file = await readFile(join(dir, 'd0'));
    const drive = facts.drives[0]!;
    expect(file.length).toBe(Math.ceil(drive.sizeBytes / MiB) * MiB);
    expect(sha(file.subarray(0, drive.sizeBytes))).toBe(drive.sha256);
    expect(result.notes.join('\n')).toMatch(/drive sizes are not in the stream: d0's file ends at its highest chunk \(4194304 bytes/);
    expect(result.block!.devices[0]!.highestEnd).toBe(4 * MiB);
  });

  it('a drive size given cuts the last chunk and counts the padding QEMU sent past the drive', async () => {
    const facts = JSON.parse(await readFile(join(BLOCK_FIXTURES, 'blk-raw-3m64k.json'), 'utf8')) as BlockSidecar;
    const { result } = await analyze(['-', '--disk-size', 'd0=3136K', '--disk-size', 'zz=1M'], gunzipped(facts.stream.file));
    expect(result.block!.devices[0]!.highestEnd).toBe(facts.drives[0]!.sizeBytes);
    expect(result.notes).toEqual(["--disk-size zz: the stream carries no chunk of drive 'zz'"]);
  });
});

describe('mig analyze: a damaged QEMU 7.2 block stream', () => {
  it('a chunk record with unknown flags: exit 1 naming its offset; the drive chunks before it are written', async () => {
    const facts = JSON.parse(await readFile(join(BLOCK_FIXTURES, 'blk-two-drives-ro.json'), 'utf8')) as BlockSidecar;
    const parts: Buffer[] = [];
    for await (const c of gunzipped(facts.stream.file)) parts.push(c as Buffer);
    const stream = Buffer.concat(parts);
    const second = facts.blockRecords.d1!.records[1]!;
    stream[second.streamOffset + 7] = 0x10; // DEVICE_BLOCK's flag byte -> an unknown flag
    const dir = await outDir();
    const io = captureIo(stream);
    const code = await runAnalyze(['-', '--json', '--disk-out', dir], io);
    expect(code).toBe(1);
    expect(io.err).toContain(`block record record at byte ${second.streamOffset}: Unknown block migration flags: 0x10`);
    const result = JSON.parse(io.out) as AnalysisResult;
    expect(result.damage!.offset).toBe(second.streamOffset);
    expect(result.block!.devices).toEqual([expect.objectContaining({ name: 'd1', chunks: 1, highestEnd: 2 * MiB })]);
    expect((await readFile(join(dir, 'd1'))).length).toBe(2 * MiB);
  });
});

function countsOf(r: { start: number; part: number; end: number; full: number }): Record<string, number> {
  const out: Record<string, number> = {};
  if (r.start) out.SECTION_START = r.start;
  if (r.part) out.SECTION_PART = r.part;
  if (r.end) out.SECTION_END = r.end;
  if (r.full) out.SECTION_FULL = r.full;
  return out;
}
