// `pnpm pack` of every published package into one directory, each tarball also unpacked beside it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pnpm, publishedPackages, repoRoot } from './workspace.mjs';

/** Returns [{ name, dir, tarball, unpacked }] with absolute tarball and unpacked paths. */
export function packAll(dest) {
  mkdirSync(dest, { recursive: true });
  const packed = [];
  for (const pkg of publishedPackages()) {
    const main = join(repoRoot, pkg.dir, pkg.manifest.main ?? 'dist/index.js');
    if (!existsSync(main)) throw new Error(`${pkg.name}: ${pkg.dir}/${pkg.manifest.main} is missing; run the build first`);
    const out = pnpm(['pack', '--pack-destination', dest], join(repoRoot, pkg.dir));
    const tarball = out.trim().split('\n').map((l) => l.trim()).filter((l) => l.endsWith('.tgz')).pop();
    if (tarball === undefined) throw new Error(`${pkg.name}: pnpm pack printed no tarball:\n${out}`);
    const unpacked = join(dest, 'unpacked', pkg.name.replace('/', '+'));
    mkdirSync(unpacked, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1']);
    packed.push({ name: pkg.name, dir: pkg.dir, tarball, unpacked });
  }
  return packed;
}
