// node --test: the tarball checks flag what they are meant to flag, on packages made up in a temp dir.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { checkPackedPackage } from './check-tarball.mjs';

const base = mkdtempSync(join(tmpdir(), 'mig-check-tarball-'));
after(() => rmSync(base, { recursive: true, force: true }));
const workspace = new Map([['@mig/core', { private: false }], ['@mig/test-helpers', { private: true }]]);
let n = 0;

function fakePackage(manifest, files) {
  const root = join(base, `p${n++}`);
  const all = {
    'package.json': JSON.stringify({ name: '@mig/x', version: '1.0.0', license: 'MIT', main: './dist/index.js', ...manifest }),
    'README.md': '# x\n', LICENSE: 'MIT License\n', ...files,
  };
  for (const [file, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  return root;
}

test('a well-formed package has no problems', () => {
  const root = fakePackage({ dependencies: { '@mig/core': '0.1.0' }, bin: { x: './bin/x' } }, {
    'dist/index.js': "import { a } from '@mig/core';\nimport { b } from './b.js';\nimport fs from 'node:fs';\n//# sourceMappingURL=index.js.map\n",
    'dist/index.js.map': JSON.stringify({ sources: ['../src/index.ts'] }),
    'src/index.ts': '',
    'dist/b.js': "throw new Error(`from '${x}'`);\n",
    'bin/x': "#!/usr/bin/env node\nimport('../dist/index.js');\n",
  });
  chmodSync(join(root, 'bin/x'), 0o755);
  assert.deepEqual(checkPackedPackage(root, workspace), []);
});

test('workspace: specs and private workspace dependencies are flagged', () => {
  const root = fakePackage({ dependencies: { '@mig/core': 'workspace:*', '@mig/test-helpers': '0.1.0' } }, { 'dist/index.js': '' });
  const problems = checkPackedPackage(root, workspace);
  assert.match(problems.join('\n'), /dependencies\.@mig\/core is "workspace:\*"/);
  assert.match(problems.join('\n'), /@mig\/test-helpers is a private workspace package/);
});

test('deep imports, undeclared imports and missing relative files are flagged', () => {
  const root = fakePackage({ dependencies: { '@mig/core': '0.1.0' } }, {
    'dist/index.js': "import '@mig/core/dist/status.js';\nimport z from 'zod';\nexport * from './gone.js';\n",
  });
  const text = checkPackedPackage(root, workspace).join('\n');
  assert.match(text, /deep import '@mig\/core\/dist\/status\.js'/);
  assert.match(text, /imports 'zod', which is not a dependency/);
  assert.match(text, /import '\.\/gone\.js' is not in the tarball/);
});

test('missing entry points, bins and source-map sources are flagged', () => {
  const root = fakePackage({ types: './dist/index.d.ts', exports: { '.': { import: './dist/index.js', types: './dist/index.d.ts' } }, bin: { x: './bin/x' } }, {
    'dist/index.js': '//# sourceMappingURL=index.js.map\n',
    'dist/index.js.map': JSON.stringify({ sources: ['../src/index.ts'] }),
  });
  const text = checkPackedPackage(root, workspace).join('\n');
  assert.match(text, /types "\.\/dist\/index\.d\.ts" is not in the tarball/);
  assert.match(text, /exports "\.\/dist\/index\.d\.ts" is not in the tarball/);
  assert.match(text, /bin x "\.\/bin\/x" is not in the tarball/);
  assert.match(text, /source \.\.\/src\/index\.ts is not in the tarball/);
});

test('a tarball without its README or LICENSE, or a manifest naming no license, is flagged', () => {
  const root = fakePackage({ license: undefined }, { 'dist/index.js': '' });
  rmSync(join(root, 'README.md'));
  rmSync(join(root, 'LICENSE'));
  const problems = checkPackedPackage(root, workspace);
  assert.ok(problems.some((p) => p.includes('README.md is not in the tarball')), problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('LICENSE is not in the tarball')), problems.join('\n'));
  assert.ok(problems.some((p) => p.includes('names no license')), problems.join('\n'));
});
