// `mig analyze` arguments (node:util parseArgs) and its --help.
import { parseArgs } from 'node:util';
import { parseSize } from '../../cli/size.js';

export const ANALYZE_HELP = `usage: mig analyze FILE|- [--ram-out DIR] [--disk-out DIR] [--disk-size DEVICE=SIZE]... [--json]

Decodes a QEMU 7.2 migration stream: a file written by migrate "exec:cat > FILE", or - for standard input
(e.g. migrate "exec:mig analyze - --ram-out DIR" while a migration runs). It lists the sections and their
records, the RAM blocks with per-pass counts of normal, zero and XBZRLE pages, the drives with their chunks,
and the VMDESCRIPTION. Memory stays bounded: output files are written as the stream goes.

A pass is a round of the source's page scan: a new one begins with a page whose (block, offset) is not
after the previous page's (the scan wrapped to the start). "at switchover" counts the pages of the ram
SECTION_END record, sent after the guest stopped.

options:
  --ram-out DIR            write each RAM block to DIR/IDSTR as a target would hold it (XBZRLE decoded)
  --disk-out DIR           write each drive to DIR/DEVICE
  --disk-size DEVICE=SIZE  a drive's size (e.g. d0=3M; repeatable): the stream does not carry it, and
                           without it the file ends at the highest chunk seen (whole MiB, padding included)
  --json                   the analysis as one JSON document on stdout
  -h, --help               this text

exit status: 0 the stream was decoded to its end; 1 it is damaged or ends early (stderr names the byte
offset and record; what was decoded up to there is still reported and written); 2 usage error; 3 a file
could not be read or written.`;

export interface AnalyzeArgs {
  readonly input: string;
  readonly ramOut?: string;
  readonly diskOut?: string;
  readonly diskSizes: Map<string, number>;
  readonly json: boolean;
}

/** The parsed arguments, 'help', or throws an Error with the usage mistake. */
export function parseAnalyzeArgs(argv: readonly string[]): AnalyzeArgs | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      'ram-out': { type: 'string' },
      'disk-out': { type: 'string' },
      'disk-size': { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new Error(positionals.length === 0 ? 'a stream FILE (or - for stdin) is required' : `one stream at a time (got ${positionals.length})`);
  const diskSizes = new Map<string, number>();
  for (const spec of values['disk-size'] ?? []) {
    const eq = spec.lastIndexOf('=');
    if (eq <= 0) throw new Error(`--disk-size ${spec}: expected DEVICE=SIZE`);
    const size = parseSize(spec.slice(eq + 1), 'b');
    if (size <= 0) throw new Error(`--disk-size ${spec}: the size must be positive`);
    diskSizes.set(spec.slice(0, eq), size);
  }
  return {
    input: positionals[0]!,
    ...(values['ram-out'] !== undefined ? { ramOut: values['ram-out'] } : {}),
    ...(values['disk-out'] !== undefined ? { diskOut: values['disk-out'] } : {}),
    diskSizes,
    json: values.json === true,
  };
}
