import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractExamples } from './readme-examples.mjs';

test('only fences marked `ts example` / `sh example` are taken, in order, with their line', () => {
  const md = ['# x', '```sh', 'npm install x', '```', '```sh example', 'echo a', '```', 'text', '```ts example',
    "import { a } from 'x';", 'console.log(a);', '```', '```ts', 'not me', '```'].join('\n');
  assert.deepEqual(extractExamples(md), [
    { lang: 'sh', code: 'echo a\n', line: 5 },
    { lang: 'ts', code: "import { a } from 'x';\nconsole.log(a);\n", line: 9 },
  ]);
});
