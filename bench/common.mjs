// What every root benchmark shares: the built test helpers (or a clear exit when they are not built) and the
// folder results are written to.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let loaded;
try {
  loaded = await import('@mig/test-helpers');
} catch (err) {
  console.error(`bench: cannot load @mig/test-helpers (${err.message}); run \`pnpm build\` first`);
  process.exit(2);
}
export const helpers = loaded;

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Writes bench/results/NAME and returns its path relative to the repository. */
export async function writeResult(name, text) {
  await mkdir(resultsDir, { recursive: true });
  await writeFile(join(resultsDir, name), text);
  return join('bench', 'results', name);
}
