// mig analyze on streams built with the project's writers: per-pass counts, XBZRLE decoded into --ram-out,
// zero pages over data, block names with '/', stdin in odd chunks, damaged streams and usage errors.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '@mig/ram';
import { captureIo } from '../../../test/capture-io.js';
import { RamStreamBuilder, patternPage } from '../../../test/savevm-stream-builder.js';
import type { AnalysisResult } from './analysis-result.js';
import { runAnalyze } from './run-analyze.js';

const dirs: string[] = [];
async function outDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mig-analyze-test-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const BLOCKS = [
  { idstr: 'pc.ram', usedLength: 16 * PAGE_SIZE },
  { idstr: '/rom@etc/acpi/tables', usedLength: 2 * PAGE_SIZE },
];

/** Three rounds of the page scan and a switchover, with every kind of page record. */
interface Offsets {
  pass1: number;
  pass2: number;
  xbzrle3: number;
  pass3: number;
}

function threePasses(): { b: RamStreamBuilder; stream: Uint8Array; offsets: Offsets } {
  const b = new RamStreamBuilder(BLOCKS);
  const offsets: Offsets = { pass1: 0, pass2: 0, xbzrle3: 0, pass3: 0 };
  b.section('start');
  b.section('part', () => {
    offsets.pass1 = b.w.bytesWritten;
    for (let i = 0; i < 16; i++) {
      if (i % 4 === 0) b.zero(0, i * PAGE_SIZE);
      else b.page(0, i * PAGE_SIZE, patternPage(i, i));
    }
    b.page(1, 0, patternPage(0xa1));
    b.zero(1, PAGE_SIZE, 0x5a); // a ZERO record may carry another fill byte
  });
  b.section('part', () => {
    offsets.pass2 = b.w.bytesWritten;
    b.xbzrle(0, 1 * PAGE_SIZE, patternPage(1, 0xdead, 100));
    b.zero(0, 2 * PAGE_SIZE); // over data: the file must be zeroed there
    offsets.xbzrle3 = b.w.bytesWritten;
    b.xbzrle(0, 3 * PAGE_SIZE, patternPage(3, 0xbeef, 4000));
    b.page(1, 0, patternPage(0xa2));
  });
  b.section('part', () => {
    offsets.pass3 = b.w.bytesWritten;
    b.xbzrle(0, 1 * PAGE_SIZE, patternPage(1, 0xf00d, 8));
  });
  b.section('end', () => {
    b.page(0, 9 * PAGE_SIZE, patternPage(0x99)); // after page 1: the same round, sent with the guest stopped
  });
  return { b, stream: b.finish('running'), offsets };
}

async function analyzeBytes(stream: Uint8Array, args: string[], chunk = 65536) {
  const io = captureIo(stream, chunk);
  const code = await runAnalyze(['-', '--json', ...args], io);
  return { code, io, result: JSON.parse(io.out) as AnalysisResult };
}

describe('mig analyze: RAM of a synthetic stream', () => {
  it('counts pages per pass and writes each block as a target would hold it', async () => {
    const { b, stream, offsets } = threePasses();
    const dir = await outDir();
    const { code, io, result } = await analyzeBytes(stream, ['--ram-out', dir]);
    expect(code, io.err).toBe(0);
    expect(result.complete).toBe(true);
    expect(result.machine).toBe('none');
    expect(result.runstate).toBe('running');
    const ram = result.ram!;
    expect(ram.blocks).toEqual(BLOCKS);
    expect(ram.passes).toEqual([
      { pass: 1, streamOffset: offsets.pass1, normal: 13, zero: 5, xbzrle: 0, xbzrleBytes: 0 },
      { pass: 2, streamOffset: offsets.pass2, normal: 1, zero: 1, xbzrle: 2, xbzrleBytes: expect.any(Number) },
      { pass: 3, streamOffset: offsets.pass3, normal: 1, zero: 0, xbzrle: 1, xbzrleBytes: expect.any(Number) },
    ]);
    expect(ram.completion).toEqual({ normal: 1, zero: 0, xbzrle: 0, xbzrleBytes: 0 });
    expect(ram.totals).toMatchObject({ normal: 15, zero: 6, xbzrle: 3 });
    expect(ram.passes[1]!.xbzrleBytes).toBeLessThan(64); // a word changed per page: a short delta
    expect(sha(await readFile(join(dir, 'pc.ram')))).toBe(sha(b.ram[0]!));
    expect(sha(await readFile(join(dir, 'rom@etc', 'acpi', 'tables')))).toBe(sha(b.ram[1]!));
    expect(ram.files!.map((f) => f.bytes)).toEqual([16 * PAGE_SIZE, 2 * PAGE_SIZE]);
    expect(result.sections.map((s) => [s.idstr, s.records])).toEqual([
      ['ram', { start: 1, part: 3, end: 1, full: 0 }],
      ['timer', { start: 0, part: 0, end: 0, full: 1 }],
      ['globalstate', { start: 0, part: 0, end: 0, full: 1 }],
    ]);
    expect(result.sections.reduce((n, s) => n + s.bytes, 0) + 8 + 9 + 1 + 5 + result.vmdesc!.bytes).toBe(stream.length);
    expect(result.vmdesc!.devices!.map((d) => d.name)).toEqual(['timer', 'globalstate']);
  });

  it('gives the same analysis from stdin in odd chunks as in one piece, with or without --ram-out', async () => {
    const { stream } = threePasses();
    const whole = (await analyzeBytes(stream, [], stream.length)).result;
    const odd = (await analyzeBytes(stream, [], 4093)).result;
    const tiny = (await analyzeBytes(stream, ['--ram-out', await outDir()], 7)).result;
    expect(odd).toEqual(whole);
    expect({ ...tiny.ram, files: undefined }).toEqual({ ...whole.ram, files: undefined });
  });

  it('prints tables for a person without --json', async () => {
    const io = captureIo(threePasses().stream);
    expect(await runAnalyze(['-'], io)).toBe(0);
    expect(io.out).toMatch(/^stream stdin: \d+ bytes .*complete; savevm v3, machine 'none', runstate running/);
    expect(io.out).toMatch(/ram: 2 block\(s\): pc\.ram \(64\.0 KiB\), \/rom@etc\/acpi\/tables \(8\.00 KiB\); 3 pass\(es\)/);
    expect(io.out).toMatch(/^\s+pass\s+normal\s+zero\s+xbzrle/m);
    expect(io.out).toMatch(/^\s+at switchover\s+1\s+0\s+0\s+0$/m);
  });
});

describe('mig analyze: a damaged stream', () => {
  it('a cut stream exits 1 naming the offset and record, with what was decoded up to there', async () => {
    const { stream, offsets } = threePasses();
    const dir = await outDir();
    const cut = stream.subarray(0, offsets.xbzrle3 + 20);
    const { code, io, result } = await analyzeBytes(cut, ['--ram-out', dir]);
    expect(code).toBe(1);
    expect(io.err).toContain(`ram XBZRLE record at byte ${offsets.xbzrle3}: stream ended after ${cut.length} bytes inside ram XBZRLE record`);
    expect(result.complete).toBe(false);
    expect(result.damage).toMatchObject({ offset: offsets.xbzrle3, record: 'ram XBZRLE' });
    expect(result.ram!.passes.map((p) => [p.normal, p.zero, p.xbzrle])).toEqual([[13, 5, 0], [0, 1, 1]]);
    // the pages decoded before the defect are in the file
    const file = await readFile(join(dir, 'pc.ram'));
    expect(file.subarray(5 * PAGE_SIZE, 6 * PAGE_SIZE)).toEqual(Buffer.from(patternPage(5, 5)));
  });

  it('a bad XBZRLE encoding names its record and what is wrong, with or without --ram-out', async () => {
    const { stream, offsets } = threePasses();
    const bad = Uint8Array.from(stream);
    // the record: be64 (CONTINUE: no id), 0x01, be16 len, data; a zero run of 0 then a data run of 0 is refused
    const data = offsets.xbzrle3 + 8 + 3;
    bad.set([0x00, 0x00], data + 0);
    bad[data + 2] = 0x00;
    for (const args of [['--ram-out', await outDir()], []]) {
      const { code, io, result } = await analyzeBytes(bad, args);
      expect(code).toBe(1);
      expect(io.err).toMatch(new RegExp(`ram XBZRLE record at byte ${offsets.xbzrle3}: xbzrle: NZLEN 0 at input offset 1`));
      expect(result.damage!.record).toBe('ram XBZRLE');
    }
  });

  it('an unknown flag names the record at its offset', async () => {
    const { stream, offsets } = threePasses();
    const bad = Uint8Array.from(stream);
    bad[offsets.pass2 + 7] = 0x80 | bad[offsets.pass2 + 7]!; // HOOK (RDMA) in the first record of pass 2
    const { code, io } = await analyzeBytes(bad, []);
    expect(code).toBe(1);
    expect(io.err).toContain(`ram record record at byte ${offsets.pass2}: unknown RAM flag(s) 0x80 (HOOK (RDMA): not supported)`);
  });

  it('a stream that is no stream fails at byte 0 (header)', async () => {
    const { code, io, result } = await analyzeBytes(Buffer.from('not a migration stream at all'), []);
    expect(code).toBe(1);
    expect(io.err).toContain('header record at byte 0: bad magic');
    expect(result.sections).toEqual([]);
  });

  it('MEM_SIZE whose blocks do not add up is refused before any page', async () => {
    const b = new RamStreamBuilder(BLOCKS);
    const memSizeAt = b.w.bytesWritten + 1 + 4 + 1 + 3 + 4 + 4;
    const stream = Uint8Array.from(b.section('start').finish());
    stream[memSizeAt + 5] = stream[memSizeAt + 5]! + 1; // total + 64 KiB
    const { code, io } = await analyzeBytes(stream, []);
    expect(code).toBe(1);
    expect(io.err).toContain(`ram MEM_SIZE record at byte ${memSizeAt}: MEM_SIZE's blocks add up to`);
  });
});

describe('mig analyze: arguments', () => {
  it('--help says what it does and exits 0; usage errors exit 2; a missing file exits 3', async () => {
    const help = captureIo();
    expect(await runAnalyze(['--help'], help)).toBe(0);
    expect(help.out).toMatch(/^usage: mig analyze FILE\|-/);
    expect(help.out).toContain('--disk-size DEVICE=SIZE');
    for (const argv of [[], ['a', 'b'], ['--bogus', 'x'], ['x', '--disk-size', 'd0'], ['x', '--disk-size', 'd0=lots']]) {
      const io = captureIo();
      expect(await runAnalyze(argv, io), argv.join(' ')).toBe(2);
      expect(io.err).toMatch(/^mig analyze: .+\nusage: mig analyze/);
    }
    const dir = await outDir();
    const io = captureIo();
    expect(await runAnalyze([join(dir, 'nothing-here'), '--json'], io)).toBe(3);
    expect(io.err).toContain('ENOENT');
    expect((await stat(dir)).isDirectory()).toBe(true);
  });
});
