#!/usr/bin/env node
// Runs one of mig's file tools as its own process, as `mig analyze` / `mig report` will once the CLI wires
// them: `node interop/run-tool.mjs analyze - --ram-out DIR` as a migration's exec: destination. With
// MIG_TOOL_RUSAGE=FILE it writes process.resourceUsage() there when done (a test's memory bound).
import { writeFileSync } from 'node:fs';

const [tool, ...argv] = process.argv.slice(2);
const modules = {
  analyze: async () => (await import('../apps/daemon/dist/tools/analyze/run-analyze.js')).runAnalyze,
  report: async () => (await import('../apps/daemon/dist/tools/report/run-report.js')).runReport,
};
if (!(tool in modules)) {
  process.stderr.write(`run-tool: expected analyze or report, got ${tool}\n`);
  process.exit(2);
}
const run = await modules[tool]();
const code = await run(argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
if (process.env.MIG_TOOL_RUSAGE) writeFileSync(process.env.MIG_TOOL_RUSAGE, JSON.stringify({ code, ...process.resourceUsage() }));
process.exitCode = code;
