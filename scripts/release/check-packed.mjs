#!/usr/bin/env node
// Packs every published package and checks each tarball (see check-tarball.mjs). Exit 1 on any problem.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPackedPackage } from './check-tarball.mjs';
import { packAll } from './pack.mjs';
import { workspacePackages } from './workspace.mjs';

const dest = mkdtempSync(join(tmpdir(), 'mig-pack-'));
const workspace = new Map(workspacePackages().map((p) => [p.name, p]));
let failed = 0;
for (const pkg of packAll(dest)) {
  const problems = checkPackedPackage(pkg.unpacked, workspace);
  console.log(`${problems.length ? 'FAIL' : 'ok  '} ${pkg.name}${problems.map((p) => `\n       ${p}`).join('')}`);
  failed += problems.length ? 1 : 0;
}
rmSync(dest, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
