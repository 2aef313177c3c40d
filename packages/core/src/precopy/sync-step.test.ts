import { describe, expect, it } from 'vitest';
import { MigrationFailedError } from '../errors.js';
import { PAGE, harness, withParams } from '../testing/precopy-fakes.js';
import type { SyncInfo } from './interfaces.js';
import { startRun } from './run-context.js';
import { syncDirty } from './sync-step.js';

describe('syncDirty (one migration_bitmap_sync with its bookkeeping)', () => {
  it('returns what is pending after it; counts the pass; reports onPass and onSync', () => {
    const infos: SyncInfo[] = [];
    const h = harness({ pages: 10, dirtied: () => [0, 1, 2], onSync: (i) => infos.push(i) });
    const run = startRun(h.opts);
    expect(syncDirty(run)).toBe(10 * PAGE);
    h.clock.advance(250);
    expect(syncDirty(run)).toBe(10 * PAGE); // pages 0-2 were pending still
    expect(h.passes).toEqual([1, 2]);
    expect(h.stats.dirtySyncCount).toBe(2);
    expect(infos[0]).toEqual({
      pass: 1, time: 0, remaining: 10 * PAGE, dirtiedPages: 0, transferred: 0, bandwidth: 0, maxSize: 0, dirtyPagesRate: 0, throttle: 0,
    });
    expect(infos[1]).toMatchObject({ pass: 2, time: 250 });
  });

  it('hands the switchover threshold to pendingBytes (0 before the first measurement)', () => {
    const h = harness({ pages: 4 });
    const run = startRun(h.opts);
    syncDirty(run);
    expect(h.saver.thresholds).toEqual([0, 0]);
    run.meter.restart(0, 0);
    run.meter.measure(100, 1_000_000, { downtimeLimit: 300, remaining: 0, dirtyPagesRate: 0 }); // threshold 3 MB
    syncDirty(run);
    expect(h.saver.thresholds.slice(2)).toEqual([3_000_000, 3_000_000]);
  });

  it('runs auto-converge at the end of each dirty-rate period after the first pass', () => {
    const sets: number[] = [];
    const infos: SyncInfo[] = [];
    // 100 pages dirtied per sync, nothing sent: far above throttle-trigger-threshold
    const h = harness({
      pages: 1000, autoConverge: true, dirtied: () => Array.from({ length: 100 }, (_, i) => i * 10),
      setThrottle: (p) => sets.push(p), onSync: (i) => infos.push(i),
    });
    const run = startRun(h.opts);
    h.clock.advance(1500);
    syncDirty(run); // pass 1 closes a period (setup took 1.5 s) but the bulk pass does not count
    for (let i = 0; i < 4; i++) {
      h.clock.advance(1000);
      run.saver.iterate(Infinity); // empty the set so the next sync adds 100 pages again
      syncDirty(run);
    }
    expect(sets).toEqual([20, 30]);
    expect(h.stats.cpuThrottlePercentage).toBe(30);
    expect(infos.map((i) => i.throttle)).toEqual([0, 0, 20, 20, 30]);
    expect(h.stats.dirtyPagesRate).toBe(100);
  });

  it("what the saver's sync or the throttle throws fails the migration in 'iterate'", () => {
    const h = harness({ pages: 4 });
    h.saver.syncDirty = () => { throw new Error('bitmap gone'); };
    expect(() => syncDirty(startRun(h.opts))).toThrow(
      expect.objectContaining({ phase: 'iterate', message: 'migration dirty sync failed: bitmap gone' }) as Error,
    );
    const t = harness({
      pages: 1000, autoConverge: true, dirtied: () => Array.from({ length: 100 }, (_, i) => i),
      setThrottle: () => { throw new Error('no cgroup'); },
    });
    const run = startRun(t.opts);
    syncDirty(run);
    for (let i = 0; i < 2; i++) {
      t.clock.advance(1000);
      run.saver.iterate(Infinity);
      if (i === 0) syncDirty(run); // the first period that dirtied too fast
    }
    let caught: unknown;
    try {
      syncDirty(run);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MigrationFailedError);
    expect(caught).toMatchObject({ phase: 'iterate', message: 'migration could not throttle the guest: no cgroup' });
  });

  it('reads the parameters at each period', () => {
    let params = withParams({ 'cpu-throttle-initial': 40, 'max-cpu-throttle': 99 });
    const sets: number[] = [];
    const h = harness({
      pages: 1000, autoConverge: true, params: () => params, dirtied: () => Array.from({ length: 100 }, (_, i) => i),
      setThrottle: (p) => sets.push(p),
    });
    const run = startRun(h.opts);
    syncDirty(run);
    for (let i = 0; i < 2; i++) {
      h.clock.advance(1000);
      run.saver.iterate(Infinity);
      syncDirty(run);
    }
    params = withParams({ 'cpu-throttle-increment': 25, 'max-cpu-throttle': 99 });
    for (let i = 0; i < 2; i++) {
      h.clock.advance(1000);
      run.saver.iterate(Infinity);
      syncDirty(run);
    }
    expect(sets).toEqual([40, 65]);
  });
});
