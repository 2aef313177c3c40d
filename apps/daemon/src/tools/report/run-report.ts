// `mig report RECORD`: the entry point the CLI calls; returns the exit status.
import { readFile, writeFile } from 'node:fs/promises';
import { EXIT_FAILED, EXIT_IO, EXIT_OK, EXIT_USAGE, type ToolIo } from '../tool-io.js';
import { parseMigrationRecord, RecordError, type MigrationTimeline } from './migration-record.js';
import { renderPng, renderSvg } from './render-chart.js';
import { REPORT_HELP, parseReportArgs, type ReportArgs } from './report-args.js';
import { timelineSpec } from './timeline-spec.js';

/** What `mig report --json` says it drew. */
export interface ReportSummary {
  samples: number;
  seconds: number;
  passes: number[];
  downtime?: { start: number; end?: number };
  svg?: string;
  png?: string;
  pngBytes?: number;
}

async function readAll(source: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('utf8');
}

export async function runReport(argv: readonly string[], io: ToolIo): Promise<number> {
  let args: ReportArgs | 'help';
  try {
    args = parseReportArgs(argv);
  } catch (e) {
    io.stderr.write(`mig report: ${(e as Error).message}\n${REPORT_HELP}\n`);
    return EXIT_USAGE;
  }
  if (args === 'help') {
    io.stdout.write(`${REPORT_HELP}\n`);
    return EXIT_OK;
  }
  let text: string;
  try {
    text = args.record === '-' ? await readAll(io.stdin as AsyncIterable<Uint8Array>) : await readFile(args.record, 'utf8');
  } catch (e) {
    io.stderr.write(`mig report: ${(e as Error).message}\n`);
    return EXIT_IO;
  }
  let timeline: MigrationTimeline;
  try {
    timeline = parseMigrationRecord(text);
  } catch (e) {
    if (!(e instanceof RecordError)) throw e;
    io.stderr.write(`mig report: ${args.record === '-' ? 'stdin' : args.record}: ${e.message}\n`);
    return EXIT_FAILED;
  }
  return draw(args, timeline, io);
}

async function draw(args: ReportArgs, timeline: MigrationTimeline, io: ToolIo): Promise<number> {
  const svg = await renderSvg(timelineSpec(timeline, { title: args.title }));
  const summary: ReportSummary = {
    samples: timeline.samples.length,
    seconds: timeline.samples[timeline.samples.length - 1]!.t,
    passes: timeline.passes.map((p) => p.pass),
    ...(timeline.downtime ? { downtime: timeline.downtime } : {}),
  };
  try {
    if (args.svg === '-') io.stdout.write(svg);
    else if (args.svg !== undefined) await writeFile(args.svg, svg);
    if (args.svg !== undefined && args.svg !== '-') summary.svg = args.svg;
    if (args.png !== undefined) {
      const png = renderPng(svg, args.scale);
      await writeFile(args.png, png);
      summary.png = args.png;
      summary.pngBytes = png.length;
    }
  } catch (e) {
    io.stderr.write(`mig report: ${(e as Error).message}\n`);
    return EXIT_IO;
  }
  if (args.json) io.stdout.write(`${JSON.stringify(summary)}\n`);
  else if (args.svg !== '-') io.stdout.write(describe(summary));
  return EXIT_OK;
}

function describe(s: ReportSummary): string {
  const files = [s.svg, s.png].filter(Boolean).join(', ');
  const downtime = s.downtime ? `, downtime ${Math.round(((s.downtime.end ?? s.seconds) - s.downtime.start) * 1000)} ms at ${s.downtime.start.toFixed(2)} s` : ', no downtime recorded';
  return `wrote ${files}: ${s.samples} samples over ${s.seconds.toFixed(1)} s, ${s.passes.length} pass(es)${downtime}\n`;
}
