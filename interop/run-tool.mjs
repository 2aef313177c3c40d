#!/usr/bin/env node
// Runs the real `mig` CLI (apps/daemon/dist/cli.js, what bin/mig loads) in this process so a test can read its
// resource usage: `node interop/run-tool.mjs analyze - --ram-out DIR` as a migration's exec: destination. With
// MIG_TOOL_RUSAGE=FILE it writes process.resourceUsage() there at exit (a test's memory bound).
import { writeFileSync } from 'node:fs';

process.on('exit', (code) => {
  if (process.env.MIG_TOOL_RUSAGE) writeFileSync(process.env.MIG_TOOL_RUSAGE, JSON.stringify({ code, ...process.resourceUsage() }));
});
const { main } = await import('../apps/daemon/dist/cli.js');
await main(process.argv.slice(2));
