// The commands that parse their own arguments and live in src/tools/ (mig analyze, mig report): they work on
// files and streams, not on a QMP endpoint, so they keep their own argument parsers and help texts.
import { runAnalyze, runReport } from '../tools/index.js';
import type { ExternalTool } from './subcommand.js';

export const EXTERNAL_TOOLS: readonly ExternalTool[] = [
  {
    name: 'analyze',
    summary: 'decode a QEMU 7.2 migration stream (FILE or - for stdin): sections, records, passes, RAM and disks',
    run: (argv, io) => runAnalyze(argv, io),
  },
  {
    name: 'report',
    summary: 'draw a picture of a migration from a mig migrate --record FILE (SVG, PNG)',
    run: (argv, io) => runReport(argv, io),
  },
];
