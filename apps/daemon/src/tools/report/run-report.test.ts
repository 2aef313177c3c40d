// mig report: a recorded migration drawn by Vega (SVG) and resvg (PNG), checked by what the picture shows:
// the axes and their titles, one rule per pass in every panel, the downtime band where the downtime was,
// and a PNG of the SVG's size whose pixels hold the lines, the pass rules and the band.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { captureIo } from '../../../test/capture-io.js';
import { recordLines } from '../../../test/migration-record-builder.js';
import { parseMigrationRecord } from './migration-record.js';
import { runReport, type ReportSummary } from './run-report.js';
import { PANEL_HEIGHT, PANEL_WIDTH } from './timeline-spec.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function workDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mig-report-test-'));
  dirs.push(d);
  return d;
}

/** The <g> of a named mark and the elements inside it (vega's SVG: class="mark-TYPE role-mark NAME_marks"). */
function markGroup(svg: string, name: string): string | undefined {
  const open = svg.indexOf(` ${name}_marks"`);
  if (open < 0) return undefined;
  const start = svg.lastIndexOf('<g ', open);
  let depth = 0;
  const tag = /<g[\s>]|<\/g>/g;
  tag.lastIndex = start;
  for (let m = tag.exec(svg); m !== null; m = tag.exec(svg)) {
    depth += m[0] === '</g>' ? -1 : 1;
    if (depth === 0) return svg.slice(start, m.index + 4);
  }
  return undefined;
}

const count = (s: string, re: RegExp): number => (s.match(re) ?? []).length;
/** x of each <line transform="translate(x,y)"> of a rule mark, in panel pixels. */
const ruleXs = (g: string): number[] => [...g.matchAll(/<line [^>]*transform="translate\(([\d.]+),0\)"/g)].map((m) => Number(m[1]));

async function report(recordText: string, extra: string[] = []) {
  const dir = await workDir();
  const record = join(dir, 'run.jsonl');
  await writeFile(record, recordText);
  const io = captureIo();
  const code = await runReport([record, '--json', ...extra], io);
  return { code, io, dir, summary: code === 0 ? (JSON.parse(io.out) as ReportSummary) : undefined, svgPath: join(dir, 'run.svg'), pngPath: join(dir, 'run.png') };
}

describe('mig report: the picture of a migration', () => {
  const sim = recordLines({ ramMiB: 256, bandwidthMiBs: 100, dirtyMiBs: 30, passes: 4, disk: true });
  const tMax = sim.downtime.end;

  it('draws three panels over one time axis, a rule per pass in each, the downtime band, as SVG and PNG', async () => {
    const { code, io, summary, svgPath, pngPath } = await report(sim.text);
    expect(code, io.err).toBe(0);
    expect(summary).toMatchObject({ passes: [1, 2, 3, 4], downtime: sim.downtime, svg: svgPath, png: pngPath });
    const svg = await readFile(svgPath, 'utf8');
    for (const title of ['time (s)', 'remaining (MiB)', 'throughput (Mbit/s)', 'dirty rate (MiB/s)']) {
      expect(svg, title).toContain(`titled '${title}'`);
    }
    expect(count(svg, /aria-label="X-axis titled 'time \(s\)' for a linear scale with values from 0(\.0)? to /g)).toBe(3);
    for (const panel of ['remaining', 'throughput', 'dirty']) {
      expect(count(svg, new RegExp(`role-mark ${panel}_line_marks"`, 'g')), panel).toBe(panel === 'remaining' ? 2 : 1); // RAM and disk
      expect(count(markGroup(svg, `${panel}_line`)!, /<path /g), panel).toBe(1);
      const rules = markGroup(svg, `${panel}_passes`)!;
      const xs = ruleXs(rules);
      expect(xs, panel).toHaveLength(4);
      xs.forEach((x, i) => expect(x).toBeCloseTo((sim.passStarts[i]! / tMax) * PANEL_WIDTH, 0));
      const band = markGroup(svg, `${panel}_downtime`)!;
      const rect = /<path [^>]*d="M([\d.]+),0h([\d.]+)v([\d.]+)h-[\d.]+Z"/.exec(band);
      expect(rect, band).not.toBeNull();
      expect(Number(rect![1])).toBeCloseTo((sim.downtime.start / tMax) * PANEL_WIDTH, 0);
      expect(Number(rect![2])).toBeCloseTo(((sim.downtime.end - sim.downtime.start) / tMax) * PANEL_WIDTH, 0);
      expect(Number(rect![3])).toBe(PANEL_HEIGHT);
    }
    const labels = markGroup(svg, 'remaining_pass_labels')!;
    expect([...labels.matchAll(/>(pass \d)</g)].map((m) => m[1])).toEqual(['pass 1', 'pass 2', 'pass 3', 'pass 4']);
    expect(markGroup(svg, 'remaining_downtime_label')).toContain('>downtime 300 ms<');
    expect(svg).toMatch(/>RAM<[\s\S]*>disk</); // the legend

    const png = PNG.sync.read(await readFile(pngPath));
    const [w, h] = [Number(/width="(\d+)"/.exec(svg)![1]), Number(/height="(\d+)"/.exec(svg)![1])];
    expect([png.width, png.height]).toEqual([w * 2, h * 2]);
    const colours = histogram(png);
    expect(colours.nonWhite / (png.width * png.height)).toBeGreaterThan(0.02);
    expect(colours.near(0xd6, 0x27, 0x28, 0.25), 'the downtime band (red at 25 %)').toBeGreaterThan(3 * 2 * PANEL_HEIGHT * 2);
    expect(colours.near(0x1f, 0x77, 0xb4), 'the RAM line').toBeGreaterThan(200);
    expect(colours.near(0x2c, 0xa0, 0x2c), 'the throughput line').toBeGreaterThan(200);
    expect(colours.near(0x55, 0x55, 0x55), 'the pass rules').toBeGreaterThan(4 * 3 * PANEL_HEIGHT);
    expect(colours.dark, 'text (axis labels, titles)').toBeGreaterThan(2000);
  });

  it('without disk figures one series; without a downtime or passes no such marks', async () => {
    const text = recordLines({ ramMiB: 64, bandwidthMiBs: 100, dirtyMiBs: 0, passes: 1 }).text.split('\n').filter((l) => !l.includes('"type":"downtime"') && !l.includes('"type":"pass"')).join('\n');
    const { code, svgPath } = await report(text);
    expect(code).toBe(0);
    const svg = await readFile(svgPath, 'utf8');
    expect(count(svg, /role-mark remaining_line_marks"/g)).toBe(1);
    expect(markGroup(svg, 'remaining_passes')).toBeUndefined();
    expect(markGroup(svg, 'remaining_downtime')).toBeUndefined();
  });

  it('--svg - writes the SVG to stdout; RECORD - reads stdin', async () => {
    const io = captureIo(Buffer.from(sim.text));
    expect(await runReport(['-', '--svg', '-', '--title', 'from stdin'], io)).toBe(0);
    expect(io.out).toMatch(/^<svg /);
    expect(io.out).toContain('>from stdin<');
  });

  it('copies the picture somewhere a person can look when MIG_REPORT_KEEP names a folder', async () => {
    const keep = process.env.MIG_REPORT_KEEP;
    if (keep === undefined) return;
    const { pngPath, svgPath } = await report(sim.text);
    await copyFile(pngPath, join(keep, 'mig-report.png'));
    await copyFile(svgPath, join(keep, 'mig-report.svg'));
  });
});

describe('mig report: a malformed record', () => {
  it('names the line and what is wrong, exit 1; usage errors exit 2; a missing record exits 3', async () => {
    const bad = await report('{"type":"sample","t":0,"status":"active","remaining":1,"transferred":0}\n{"type":"sample","t":"soon"}\n');
    expect(bad.code).toBe(1);
    expect(bad.io.err).toMatch(/run\.jsonl: line 2: sample: t: .*number/i);
    const notJson = await report('{"type":"sample"\n');
    expect(notJson.io.err).toMatch(/line 1: not JSON/);
    const empty = await report('{"type":"pass","pass":1,"t":0}\n');
    expect(empty.io.err).toMatch(/no sample line/);
    expect(() => parseMigrationRecord('{"type":"downtime","start":1}\n{"type":"downtime","start":2}')).toThrow(/line 2: a second downtime/);
    for (const argv of [[], ['a', 'b'], ['-'], ['x', '--scale', '0'], ['x', '--nope']]) {
      const io = captureIo();
      expect(await runReport(argv, io), argv.join(' ')).toBe(2);
      expect(io.err).toMatch(/^mig report: .+\nusage: mig report/);
    }
    const help = captureIo();
    expect(await runReport(['-h'], help)).toBe(0);
    expect(help.out).toMatch(/^usage: mig report RECORD/);
    const io = captureIo();
    expect(await runReport([join(await workDir(), 'none.jsonl')], io)).toBe(3);
  });
});

/** Pixel counts: not white, dark (text), and near a colour (blended over white at `alpha`). */
function histogram(png: PNG) {
  const d = png.data;
  let nonWhite = 0;
  let dark = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i]! < 250 || d[i + 1]! < 250 || d[i + 2]! < 250) nonWhite++;
    if (d[i]! < 80 && d[i + 1]! < 80 && d[i + 2]! < 80) dark++;
  }
  const near = (r: number, g: number, b: number, alpha = 1): number => {
    const want = [r, g, b].map((c) => Math.round(c * alpha + 255 * (1 - alpha)));
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.abs(d[i]! - want[0]!) <= 12 && Math.abs(d[i + 1]! - want[1]!) <= 12 && Math.abs(d[i + 2]! - want[2]!) <= 12) n++;
    }
    return n;
  };
  return { nonWhite, dark, near };
}
