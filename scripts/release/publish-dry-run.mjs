#!/usr/bin/env node
// The release check: `changeset status` (the pending changesets parse and name real packages), `changeset
// version` in a scratch clone (CHANGELOGs from the pending changesets), then every
// published package packed, its tarball checked, and `npm publish --dry-run` of the tarball, which lists
// its contents. Exit 1 when any step fails. Nothing is published and no version changes.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/**
 * `changeset version` in a scratch clone of HEAD (the pending changesets stay pending here): every published
 * package with a pending changeset gets a CHANGELOG.md whose top entry is its new version.
 */
function versionInScratchClone(dest) {
  const clone = join(dest, 'clone');
  run('git', ['clone', '-q', '--no-checkout', repoRoot, clone], dest);
  run('git', ['checkout', '-q', run('git', ['rev-parse', 'HEAD'], repoRoot).trim()], clone);
  console.log(run(join(repoRoot, 'node_modules', '.bin', 'changeset'), ['version'], clone).trim());
  const pending = readdirSync(join(clone, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
  if (pending.length) throw new Error(`changeset version left ${pending.join(', ')} pending`);
  for (const pkg of workspacePackages().filter((p) => !p.private)) {
    const version = JSON.parse(readFileSync(join(clone, pkg.dir, 'package.json'), 'utf8')).version;
    const changelog = join(clone, pkg.dir, 'CHANGELOG.md');
    const top = existsSync(changelog) ? /^## (\S+)/m.exec(readFileSync(changelog, 'utf8'))?.[1] : undefined;
    if (version === pkg.manifest.version) continue; // no pending changeset for it
    if (top !== version) throw new Error(`${pkg.name}: changeset version made ${version}, but its CHANGELOG.md starts at ${top ?? '(none)'}`);
    console.log(`${pkg.name}: ${pkg.manifest.version} -> ${version}, CHANGELOG.md written`);
  }
}

function main() {
  console.log('--> changeset status');
  console.log(run(join(repoRoot, 'node_modules', '.bin', 'changeset'), ['status'], repoRoot));
  const dest = mkdtempSync(join(tmpdir(), 'mig-publish-'));
  console.log('--> changeset version in a scratch clone of HEAD');
  versionInScratchClone(dest);
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
