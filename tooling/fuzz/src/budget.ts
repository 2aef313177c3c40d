// How long a fuzz target runs and from which seed. Inside `pnpm test`: a small fixed budget and a fixed seed per
// target (deterministic). `pnpm fuzz` sets FUZZ_RUNS (and FUZZ_SEED / FUZZ_TIME_MS when asked); a failure
// prints the seed and path that replay it.
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

export interface FuzzBudget {
  readonly target: string;
  readonly numRuns: number;
  readonly seed: number;
  /** fast-check's replay path of a reported failure. */
  readonly path: string | undefined;
  /** Stop after this long even if runs are left (on-demand runs only). */
  readonly timeLimitMs: number | undefined;
  /** True when run through `pnpm fuzz` rather than the test suite's fixed budget. */
  readonly onDemand: boolean;
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${name}=${v} is not an integer`);
  return n;
}

/** A target's fixed seed: its name hashed (FNV-1a), so each target explores its own sequence. */
export function targetSeed(target: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < target.length; i++) h = Math.imul(h ^ target.charCodeAt(i), 0x01000193) >>> 0;
  return h | 0;
}

/** The budget of `target`: `ciRuns` runs from its fixed seed, unless FUZZ_RUNS / FUZZ_SEED / FUZZ_PATH / FUZZ_TIME_MS say otherwise. */
export function fuzzBudget(target: string, ciRuns: number): FuzzBudget {
  const runs = envInt('FUZZ_RUNS');
  const onDemand = runs !== undefined;
  const seed = envInt('FUZZ_SEED') ?? (onDemand ? (Date.now() ^ (process.pid << 8)) | 0 : targetSeed(target));
  const timeLimitMs = envInt('FUZZ_TIME_MS');
  const path = process.env['FUZZ_PATH'] || undefined;
  return { target, numRuns: runs ?? ciRuns, seed, path, timeLimitMs, onDemand };
}

export interface FuzzResult {
  readonly target: string;
  readonly runs: number;
  readonly seed: number;
  readonly failed: boolean;
  readonly ms: number;
}

function report(result: FuzzResult & { path?: string; counterexample?: string }): void {
  const file = process.env['FUZZ_REPORT'];
  if (file) appendFileSync(file, `${JSON.stringify(result)}\n`);
}

/**
 * Runs `property` under the target's budget. On failure it prints how to replay it (seed, path) and throws
 * fast-check's report (the shrunk counterexample).
 */
export async function runFuzz<T>(target: string, ciRuns: number, property: fc.IAsyncPropertyWithHooks<T> | fc.IPropertyWithHooks<T>): Promise<FuzzResult> {
  const budget = fuzzBudget(target, ciRuns);
  const t0 = performance.now();
  const details = await fc.check(property as fc.IAsyncPropertyWithHooks<T>, {
    numRuns: budget.numRuns,
    seed: budget.seed,
    ...(budget.path === undefined ? {} : { path: budget.path }),
    ...(budget.timeLimitMs === undefined ? {} : { interruptAfterTimeLimit: budget.timeLimitMs, markInterruptAsFailure: false }),
  });
  const result: FuzzResult = { target, runs: details.numRuns, seed: budget.seed, failed: details.failed, ms: Math.round(performance.now() - t0) };
  if (details.failed) {
    const replay = `FUZZ_SEED=${budget.seed} FUZZ_PATH=${details.counterexamplePath ?? ''} pnpm fuzz --target ${target}`;
    const counterexample = fc.stringify(details.counterexample).slice(0, 2000);
    report({ ...result, ...(details.counterexamplePath ? { path: details.counterexamplePath } : {}), counterexample });
    console.error(`fuzz ${target}: FAILED after ${details.numRuns} runs (seed ${budget.seed}); replay with: ${replay}`);
    const why = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`${fc.defaultReportMessage(details) ?? 'property failed'}\nfailure: ${why}\nreplay: ${replay}`, { cause: details.errorInstance });
  }
  report(result);
  if (budget.onDemand) console.log(`fuzz ${target}: ${details.numRuns} runs, seed ${budget.seed}, no failure (${result.ms} ms)`);
  return result;
}
