// What a consumer of a packed tarball relies on, checked on the unpacked files: dependencies that exist
// outside the workspace, entry points and bins that are in the tarball, imports that resolve inside it or to
// a declared dependency (no deep imports into @mig packages), and source maps whose sources were packed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const DEP_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];
const LOCAL_SPEC = /^(workspace|link|file|portal|catalog):/;
const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])([^'"\s$]+)\1/g;

function listFiles(dir, base = dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full, base));
    else out.push(relative(base, full));
  }
  return out;
}

/** Problems with the packed manifest's dependencies. `workspace`: name → { private } of workspace packages. */
export function checkDependencies(manifest, workspace) {
  const problems = [];
  for (const field of DEP_FIELDS) {
    for (const [dep, spec] of Object.entries(manifest[field] ?? {})) {
      if (LOCAL_SPEC.test(spec)) problems.push(`${field}.${dep} is "${spec}": pnpm pack did not rewrite it`);
      if (workspace.get(dep)?.private) problems.push(`${field}.${dep} is a private workspace package (never published)`);
    }
  }
  if (manifest.private === true) problems.push('"private": true (it cannot be published)');
  return problems;
}

function exportTargets(exportsField) {
  if (exportsField === undefined) return [];
  if (typeof exportsField === 'string') return [exportsField];
  return Object.values(exportsField).flatMap((v) => exportTargets(v));
}

/** Problems with entry points: main, types, every exports target and bin must be packed files. */
export function checkEntryPoints(manifest, root) {
  const problems = [];
  const bins = typeof manifest.bin === 'string' ? { [manifest.name]: manifest.bin } : manifest.bin ?? {};
  const targets = [['main', manifest.main], ['types', manifest.types], ...exportTargets(manifest.exports).map((t) => ['exports', t])];
  for (const [field, target] of targets) {
    if (target !== undefined && !existsSync(join(root, target))) problems.push(`${field} "${target}" is not in the tarball`);
  }
  for (const [name, target] of Object.entries(bins)) {
    const file = join(root, target);
    if (!existsSync(file)) problems.push(`bin ${name} "${target}" is not in the tarball`);
    else if (!readFileSync(file, 'utf8').startsWith('#!')) problems.push(`bin ${name} "${target}" has no #! line`);
    else if ((statSync(file).mode & 0o111) === 0) problems.push(`bin ${name} "${target}" is not executable`);
  }
  return problems;
}

function packageOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Problems with one import specifier found in `file` (package-relative). */
export function checkSpecifier(specifier, file, manifest, root, files) {
  if (specifier.startsWith('.')) {
    const target = relative(root, resolve(root, dirname(file), specifier));
    return files.has(target) || files.has(`${target}.d.ts`) ? [] : [`${file}: import '${specifier}' is not in the tarball`];
  }
  if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0])) return [];
  const pkg = packageOf(specifier);
  if (pkg === manifest.name) return [`${file}: imports itself by name ('${specifier}')`];
  const declared = DEP_FIELDS.some((f) => manifest[f]?.[pkg] !== undefined);
  if (!declared) return [`${file}: imports '${specifier}', which is not a dependency`];
  if (pkg.startsWith('@mig/') && specifier !== pkg) return [`${file}: deep import '${specifier}' (only '${pkg}' is exported)`];
  return [];
}

/** Problems with imports in the packed JS and declarations, and with their source maps. */
export function checkFiles(manifest, root) {
  const files = new Set(listFiles(root));
  const problems = [];
  for (const file of files) {
    if (!/\.(m?js|d\.ts)$/.test(file) && !Object.values(manifest.bin ?? {}).some((b) => join(b) === file)) continue;
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) problems.push(...checkSpecifier(m[2], file, manifest, root, files));
    const map = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
    if (map === undefined) continue;
    const mapFile = relative(root, resolve(root, dirname(file), map));
    if (!files.has(mapFile)) {
      problems.push(`${file}: its source map ${map} is not in the tarball`);
      continue;
    }
    for (const source of JSON.parse(readFileSync(join(root, mapFile), 'utf8')).sources ?? []) {
      const src = relative(root, resolve(root, dirname(mapFile), source));
      if (!files.has(src)) problems.push(`${mapFile}: source ${source} is not in the tarball`);
    }
  }
  return problems;
}

/** A published package carries its README and the licence its manifest names. */
export function checkDocuments(manifest, root) {
  const problems = [];
  for (const doc of ['README.md', 'LICENSE']) {
    if (!existsSync(join(root, doc))) problems.push(`${manifest.name}: ${doc} is not in the tarball`);
  }
  if (typeof manifest.license !== 'string' || manifest.license === '') problems.push(`${manifest.name}: package.json names no license`);
  return problems;
}

/** Every problem of one unpacked tarball (the directory holding its package.json). */
export function checkPackedPackage(root, workspace) {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return [
    ...checkDependencies(manifest, workspace), ...checkEntryPoints(manifest, root), ...checkFiles(manifest, root),
    ...checkDocuments(manifest, root),
  ];
}
