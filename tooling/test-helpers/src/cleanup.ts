// Everything a test launches or creates is registered here, so one call (afterEach/afterAll) or the
// process's exit removes it: no orphan QEMU or daemon processes, no temp dirs left behind.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';

type Cleanup = () => Promise<void>;

const cleanups = new Set<Cleanup>();
const liveProcs = new Set<ChildProcess>();
const liveDirs = new Set<string>();
const exitTasks = new Set<() => void>();
let exitHookInstalled = false;

/**
 * One 'exit' listener per process for every copy of this module: vitest evaluates it afresh for each test
 * file of a forked run, and a listener per copy would pile up past node's warning limit.
 */
const EXIT_HOOKS = Symbol.for('@mig/test-helpers exit hooks');

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const holder = globalThis as { [EXIT_HOOKS]?: Set<() => void> };
  let hooks = holder[EXIT_HOOKS];
  if (hooks === undefined) {
    const all = (hooks = holder[EXIT_HOOKS] = new Set());
    process.once('exit', () => {
      for (const hook of all) hook();
    });
  }
  // Last resort if the test forgot cleanupAll(): synchronous work only in an exit handler.
  hooks.add(() => {
    for (const p of liveProcs) {
      try {
        p.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
    for (const task of exitTasks) task();
  });
}

/** Register an async cleanup; returns a function that unregisters it. */
export function onCleanup(fn: Cleanup): () => void {
  installExitHook();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/**
 * Register a synchronous task for the process's exit (after leftover processes are killed), for what
 * cleanupAll() would have undone had it run; returns a function that unregisters it.
 */
export function onExit(fn: () => void): () => void {
  installExitHook();
  exitTasks.add(fn);
  return () => exitTasks.delete(fn);
}

export function trackProcess(p: ChildProcess): void {
  installExitHook();
  liveProcs.add(p);
  p.once('exit', () => liveProcs.delete(p));
}

export function trackDir(dir: string): void {
  installExitHook();
  liveDirs.add(dir);
}

/** Runs every registered cleanup (latest first), kills leftover processes and removes temp dirs. */
export async function cleanupAll(): Promise<void> {
  try {
    await cleanupVms();
  } finally {
    const dirs = [...liveDirs];
    liveDirs.clear();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

/**
 * Like cleanupAll() but keeps temp dirs: for afterEach when a beforeAll made files (e.g. a stream) that
 * later tests still read; call cleanupAll() in afterAll.
 */
export async function cleanupVms(): Promise<void> {
  const fns = [...cleanups].reverse();
  cleanups.clear();
  const errors: unknown[] = [];
  for (const fn of fns) {
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  }
  for (const p of liveProcs) {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
  if (errors.length > 0) throw new AggregateError(errors, `cleanupVms: ${errors.length} cleanup(s) failed`);
}

/** Number of launched processes still running (tests assert 0 after cleanup). */
export function liveProcessCount(): number {
  return liveProcs.size;
}
