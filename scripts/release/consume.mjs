#!/usr/bin/env node
// The consumption test: every published package packed, installed with plain npm into a scratch project
// outside the workspace, each README's marked examples type-checked (strict) and run there, then
// mig-daemon and mig from node_modules/.bin migrating 64 MiB mig → mig. Run after the build; exit 1 on failure.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPackedPackage } from './check-tarball.mjs';
import { migrateWithInstalledDaemon } from './daemon-check.mjs';
import { packAll } from './pack.mjs';
import { readmeExamples } from './readme-examples.mjs';
import { cleanNpmEnv, repoRoot, workspacePackages } from './workspace.mjs';

/** What each README's examples must print (a check that they did their work, not only exited 0). */
const EXPECTED_OUTPUT = {
  '@mig/core': [/none -> setup/, /cancelled: true, completed: false/, /refused: Parameter 'downtime_limit'/, /dirty pages 3 first 256/],
  '@mig/savevm': [/section \d+: timer/, /complete: true, runstate: running/, /refused: CONFIGURATION record at byte 8/],
  '@mig/ram': [/pages: 1024 normal, 15360 zero; source runstate running/, /loaded RAM equals guest\.ram: true/],
  '@mig/block': [/qcow2, 16777216 bytes, backing raw/, /11111111abababab/, /allocated: 65536 bytes at 1048576/, /No errors were found/],
  '@mig/transports': [/received 67108864 bytes/, /refused: cannot connect the migration stream to unix:/],
  '@mig/qmp': [/QEMU 7\.2\.\d+, guest running/, /migration completed: \d+ bytes, guest postmigrate/, /refused: GenericError/],
  '@mig/daemon': [/result: completed on both ends/, /guest: running/, /RAM equal/],
};

const STRICT_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022', lib: ['ES2022'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true,
    noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noImplicitOverride: true, skipLibCheck: false,
    verbatimModuleSyntax: true, isolatedModules: true, types: ['node'],
  },
  include: ['examples/**/*.ts'],
};

const step = (text) => console.log(`\n--> ${text}`);

function run(cmd, args, opts) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000, ...opts });
  } catch (err) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${err.status ?? err.signal}):\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

function checkTarballs(packed) {
  const workspace = new Map(workspacePackages().map((p) => [p.name, p]));
  const problems = packed.flatMap((p) => checkPackedPackage(p.unpacked, workspace).map((m) => `${p.name}: ${m}`));
  if (problems.length) throw new Error(`packed packages have problems:\n  ${problems.join('\n  ')}`);
  console.log(`${packed.length} tarballs: ${packed.map((p) => p.name).join(', ')}`);
}

function installProject(project, packed) {
  const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).devDependencies;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'mig-consumer', private: true, type: 'module' }, null, 2));
  const args = ['install', '--no-audit', '--no-fund', '--no-package-lock', ...packed.map((p) => p.tarball),
    `typescript@${root.typescript}`, `@types/node@${root['@types/node']}`];
  run('npm', args, { cwd: project, env: cleanNpmEnv() });
}

/** Writes every package's examples to examples/<pkg>/NN.{ts,sh}; returns [{ pkg, files }]. */
function writeExamples(project, packed) {
  return packed.map((p) => {
    const examples = readmeExamples(join(repoRoot, p.dir, 'README.md'));
    if (examples.length === 0) throw new Error(`${p.dir}/README.md has no \`\`\`ts example / \`\`\`sh example block`);
    const dir = join(project, 'examples', p.name.replace('@mig/', ''));
    mkdirSync(dir, { recursive: true });
    const files = examples.map((ex, i) => {
      const file = `${String(i + 1).padStart(2, '0')}.${ex.lang}`;
      writeFileSync(join(dir, file), ex.code);
      return { file, lang: ex.lang, line: ex.line };
    });
    return { pkg: p.name, readme: `${p.dir}/README.md`, dir, files };
  });
}

function runExamples(project, sets) {
  const env = cleanNpmEnv({ PATH: `${join(project, 'node_modules', '.bin')}:${process.env.PATH}` });
  for (const set of sets) {
    let output = '';
    for (const f of set.files) {
      const [cmd, args] = f.lang === 'sh' ? ['bash', ['-euo', 'pipefail', f.file]] : [process.execPath, [f.file.replace(/\.ts$/, '.js')]];
      try {
        output += run(cmd, args, { cwd: set.dir, env });
      } catch (err) {
        throw new Error(`${set.readme} example at line ${f.line}: ${err.message}`);
      }
    }
    const missing = (EXPECTED_OUTPUT[set.pkg] ?? []).filter((re) => !re.test(output));
    if (missing.length) throw new Error(`${set.readme}: the examples' output lacks ${missing.join(', ')}:\n${output}`);
    console.log(`ok ${set.pkg}: ${set.files.length} example(s)\n${output.replace(/^/gm, '   | ')}`);
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'mig-consume-'));

async function main() {
  const project = join(scratch, 'project');
  mkdirSync(project);
  step('pnpm pack every published package, check the tarballs');
  const packed = packAll(join(scratch, 'tarballs'));
  checkTarballs(packed);
  step('npm install the tarballs into a scratch project outside the workspace');
  installProject(project, packed);
  step('README examples: tsc --noEmit (strict), then run');
  const sets = writeExamples(project, packed);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(STRICT_TSCONFIG, null, 2));
  run(join(project, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', '.'], { cwd: project });
  run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: project });
  runExamples(project, sets);
  step('mig-daemon and mig from node_modules/.bin: 64 MiB mig → mig');
  await migrateWithInstalledDaemon(project);
  rmSync(scratch, { recursive: true, force: true });
  console.log('\nconsumption test passed');
}

main().catch((err) => {
  console.error(`\nconsumption test FAILED: ${err.message}\n(the scratch project is kept in ${scratch})`);
  process.exit(1);
});
