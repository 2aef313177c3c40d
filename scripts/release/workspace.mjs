// The workspace's packages as the release scripts see them: which are published, where they live, and how
// to run pnpm (the one `pnpm run` is running under, else the pinned version through npx).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PNPM_VERSION = '12.4.2';
export const repoRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/** Every workspace package: { name, dir (repo-relative), manifest, private }. */
export function workspacePackages() {
  const out = [];
  for (const group of ['packages', 'apps', 'tooling']) {
    for (const entry of readdirSync(join(repoRoot, group)).sort()) {
      const file = join(repoRoot, group, entry, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8'));
      out.push({ name: manifest.name, dir: `${group}/${entry}`, manifest, private: manifest.private === true });
    }
  }
  return out;
}

export function publishedPackages() {
  return workspacePackages().filter((p) => !p.private);
}

/** Runs pnpm with `args` in `cwd`; returns stdout. */
export function pnpm(args, cwd = repoRoot) {
  const execPath = process.env.npm_execpath;
  const viaRunner = execPath !== undefined && /pnpm/.test(execPath);
  // npm_execpath is pnpm's script (pnpm.cjs) or, for pnpm's own executable builds, the binary itself
  const script = viaRunner && /\.[cm]?js$/.test(execPath);
  const [cmd, argv] = !viaRunner ? ['npx', ['-y', `pnpm@${PNPM_VERSION}`, ...args]] : script ? [process.execPath, [execPath, ...args]] : [execPath, args];
  return execFileSync(cmd, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Environment for a plain npm run outside the workspace: without pnpm's npm_config_* and friends. */
export function cleanNpmEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|pnpm_|PNPM_)/i.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}
