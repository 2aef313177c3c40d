#!/usr/bin/env node
/* global process, console */
// `pnpm fuzz`: every fuzz target with a longer budget than `pnpm test` gives it, one vitest run per target,
// then a table of runs, seeds and failures (with the line that replays each failure).
//   pnpm fuzz [--runs N] [--time SECONDS] [--seed S] [--path P] [--target NAME[,NAME...]]
// --runs applies to every target (default: each target's own on-demand budget below); --time stops each
// target after that long; --seed/--path replay a reported failure.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** name, package directory, test file, runs on demand (the test suite runs far fewer, from a fixed seed). */
const TARGETS = [
  ['stream', 'apps/daemon', 'src/migration/sections.fuzz.test.ts', 2000],
  ['block-section', 'packages/block', 'src/migration/block-section-reader.fuzz.test.ts', 1000],
  ['xbzrle-decode', 'packages/ram', 'src/xbzrle/xbzrle.decode.fuzz.test.ts', 100_000],
  ['qmp-lines', 'packages/qmp', 'src/wire/framing.fuzz.test.ts', 50_000],
  ['qmp-server', 'packages/qmp', 'src/server.fuzz.test.ts', 2000],
];

function parseArgs(argv) {
  const opts = { targets: TARGETS.map((t) => t[0]) };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--runs') opts.runs = value();
    else if (flag === '--time') opts.time = value();
    else if (flag === '--seed') opts.seed = value();
    else if (flag === '--path') opts.path = value();
    else if (flag === '--target') opts.targets = value().split(',');
    else if (flag === '--help' || flag === '-h') opts.help = true;
    else throw new Error(`pnpm fuzz: unknown argument '${argv[i]}' (see --help)`);
  }
  for (const t of opts.targets) {
    if (!TARGETS.some((x) => x[0] === t)) throw new Error(`pnpm fuzz: unknown target '${t}' (targets: ${TARGETS.map((x) => x[0]).join(', ')})`);
  }
  return opts;
}

function runTarget([name, dir, file, defaultRuns], opts, report) {
  const env = {
    ...process.env,
    FUZZ_RUNS: String(opts.runs ?? process.env.FUZZ_RUNS ?? defaultRuns),
    FUZZ_REPORT: report,
    ...(opts.time ? { FUZZ_TIME_MS: String(Number(opts.time) * 1000) } : {}),
    ...(opts.seed ? { FUZZ_SEED: opts.seed } : {}),
    ...(opts.path ? { FUZZ_PATH: opts.path } : {}),
  };
  console.log(`\n== fuzz ${name}: ${env.FUZZ_RUNS} runs${opts.time ? `, at most ${opts.time} s` : ''} (${dir}/${file})`);
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  const r = spawnSync(process.execPath, [vitest, 'run', file, '--testTimeout', '0'], { cwd: join(root, dir), env, stdio: 'inherit' });
  return r.status === 0;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 6).join('\n'));
    console.log(`targets: ${TARGETS.map((t) => `${t[0]} (${t[3]} runs)`).join(', ')}`);
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), 'mig-fuzz-'));
  const report = join(dir, 'report.jsonl');
  const exits = TARGETS.filter((t) => opts.targets.includes(t[0])).map((t) => [t[0], runTarget(t, opts, report)]);
  const results = existsSync(report) ? readFileSync(report, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  rmSync(dir, { recursive: true, force: true });
  console.log('\ntarget          runs      seed         result   ms');
  for (const [name, ok] of exits) {
    const r = results.find((x) => x.target === name);
    const result = r ? (r.failed ? 'FAILED' : 'ok') : ok ? 'ok?' : 'ERROR';
    console.log(`${name.padEnd(15)} ${String(r?.runs ?? '-').padEnd(9)} ${String(r?.seed ?? '-').padEnd(12)} ${result.padEnd(8)} ${r?.ms ?? '-'}`);
    if (r?.failed) console.log(`  replay: FUZZ_SEED=${r.seed} FUZZ_PATH=${r.path ?? ''} pnpm fuzz --target ${name}\n  counterexample: ${r.counterexample}`);
  }
  return exits.every(([, ok]) => ok) ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 2;
}
