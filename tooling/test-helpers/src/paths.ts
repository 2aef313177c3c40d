// Locate the monorepo root (and the daemon in it) from this file, never from the cwd.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The directory holding pnpm-workspace.yaml, found by walking up from this module. */
export function repoRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  const start = dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) {
      cachedRoot = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`repo root not found: no pnpm-workspace.yaml above ${start}`);
    dir = parent;
  }
}

/** apps/daemon/bin/mig-daemon (it loads apps/daemon/dist/main.js, so run `pnpm build` first). */
export function migDaemonPath(): string {
  return join(repoRoot(), 'apps', 'daemon', 'bin', 'mig-daemon');
}
