// The commands that parse their own arguments and live in src/tools/ (mig analyze, mig report). Until their
// modules are wired here, each entry is a placeholder that says so and exits 70 (EX_SOFTWARE): connect one by
// replacing its `run` with the module's entry point, e.g. `run: (argv, io) => runAnalyze(argv, io)`.
import type { CliIo } from './io.js';
import type { ExternalTool } from './subcommand.js';

/** Exit status of a command that is not built into this mig. */
export const EXIT_NOT_BUILT = 70;

function placeholder(name: string): (argv: string[], io: CliIo) => Promise<number> {
  return async (_argv, io) => {
    io.stderr.write(`mig ${name}: not in this build of mig yet (src/tools/${name} is not wired into people/tools.ts)\n`);
    return EXIT_NOT_BUILT;
  };
}

export const EXTERNAL_TOOLS: readonly ExternalTool[] = [
  {
    name: 'analyze',
    summary: 'decode a QEMU 7.2 migration stream (FILE or - for stdin): sections, records, passes, RAM and disks',
    run: placeholder('analyze'),
  },
  {
    name: 'report',
    summary: 'draw a picture of a migration from a mig migrate --record FILE (SVG, PNG)',
    run: placeholder('report'),
  },
];
