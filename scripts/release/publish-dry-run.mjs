#!/usr/bin/env node
// The release check: `changeset status` (the pending changesets parse and name real packages), then every
// published package packed, its tarball checked, and `npm publish --dry-run` of the tarball, which lists
// its contents. Exit 1 when any step fails. Nothing is published and no version changes.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPackedPackage } from './check-tarball.mjs';
import { packAll } from './pack.mjs';
import { cleanNpmEnv, repoRoot, workspacePackages } from './workspace.mjs';

function run(cmd, args, cwd) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: cleanNpmEnv() });
  } catch (err) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${err.status ?? err.signal}):\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

/** npm publish --dry-run of one tarball; npm writes the tarball's contents (its notices) to stderr. */
function publishDryRun(pkg, cwd) {
  const r = spawnSync('npm', ['publish', '--dry-run', pkg.tarball], { cwd, encoding: 'utf8', env: cleanNpmEnv() });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`npm publish --dry-run ${pkg.name} failed (${r.status ?? r.signal}):\n${out}`);
  if (!out.includes('Tarball Contents') || !out.includes(`+ ${pkg.name}@`)) throw new Error(`npm publish --dry-run ${pkg.name} said:\n${out}`);
  if (!out.includes('with tag latest and public access')) throw new Error(`${pkg.name} would not be published with public access (publishConfig.access):\n${out}`);
  return out.trim();
}

function main() {
  console.log('--> changeset status');
  console.log(run(join(repoRoot, 'node_modules', '.bin', 'changeset'), ['status'], repoRoot));
  const dest = mkdtempSync(join(tmpdir(), 'mig-publish-'));
  const workspace = new Map(workspacePackages().map((p) => [p.name, p]));
  const packed = packAll(join(dest, 'tarballs'));
  for (const pkg of packed) {
    const problems = checkPackedPackage(pkg.unpacked, workspace);
    if (problems.length) throw new Error(`${pkg.name}: ${problems.join('; ')}`);
    console.log(`--> npm publish --dry-run ${pkg.name}`);
    console.log(publishDryRun(pkg, dest));
  }
  rmSync(dest, { recursive: true, force: true });
  console.log(`\ndry-run publish passed: ${packed.map((p) => p.name).join(', ')}`);
}

try {
  main();
} catch (err) {
  console.error(`\nrelease check FAILED: ${err.message}`);
  process.exit(1);
}
