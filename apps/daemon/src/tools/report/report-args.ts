// `mig report` arguments (node:util parseArgs) and its --help.
import { parseArgs } from 'node:util';

export const REPORT_HELP = `usage: mig report RECORD|- [--svg FILE|-] [--png FILE] [--scale N] [--title TEXT] [--json]

Draws a migration recorded by mig migrate --record FILE: remaining bytes (RAM, and disk when migrated),
throughput and dirty rate over time, a dashed rule at the start of each pass and the downtime shaded.
The record is JSON lines (see the README, "mig report"); - reads it from standard input.

options:
  --svg FILE|-     write the SVG there (- for stdout); default RECORD's name with .svg
  --png FILE       write a PNG there; default RECORD's name with .png (when --svg is not given either)
  --scale N        PNG pixels per SVG pixel (default 2)
  --title TEXT     the chart's title (default: the record's file name)
  --json           say what was drawn as JSON on stdout
  -h, --help       this text

exit status: 0 drawn; 1 the record is malformed (stderr names the line); 2 usage error; 3 a file could not
be read or written.`;

export interface ReportArgs {
  readonly record: string;
  readonly svg?: string;
  readonly png?: string;
  readonly scale: number;
  readonly title: string;
  readonly json: boolean;
}

/** RECORD without a .jsonl/.json/.ndjson extension, for the default output names. */
function stem(record: string): string {
  return record.replace(/\.(jsonl|ndjson|json)$/i, '');
}

export function parseReportArgs(argv: readonly string[]): ReportArgs | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      svg: { type: 'string' },
      png: { type: 'string' },
      scale: { type: 'string', default: '2' },
      title: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new Error(positionals.length === 0 ? 'a RECORD file (or - for stdin) is required' : `one record at a time (got ${positionals.length})`);
  const record = positionals[0]!;
  const scale = Number(values.scale);
  if (!(scale > 0 && scale <= 8)) throw new Error(`--scale ${values.scale}: expected a number above 0, at most 8`);
  let { svg, png } = values;
  if (svg === undefined && png === undefined) {
    if (record === '-') throw new Error('with the record on stdin, say where the picture goes (--svg FILE|-, --png FILE)');
    svg = `${stem(record)}.svg`;
    png = `${stem(record)}.png`;
  }
  const title = values.title ?? (record === '-' ? 'migration' : record.split('/').pop()!);
  return { record, ...(svg !== undefined ? { svg } : {}), ...(png !== undefined ? { png } : {}), scale, title, json: values.json === true };
}
