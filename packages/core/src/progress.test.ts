import { describe, expect, it } from 'vitest';
import { ProgressTracker } from './progress.js';
import type { SyncInfo } from './precopy.js';

const MiB = 1024 * 1024;
const ctx = (caps: { 'auto-converge'?: boolean; xbzrle?: boolean } = {}, maxBw = 32 * MiB) => ({
  params: { 'max-bandwidth': maxBw, 'downtime-limit': 300, 'max-cpu-throttle': 99 },
  caps,
});
const sync = (pass: number, remaining: number, over: Partial<SyncInfo> = {}): SyncInfo => ({
  pass, time: pass * 1000, remaining, dirtiedPages: 0, transferred: pass * 32 * MiB, bandwidth: 32 * MiB,
  maxSize: 32 * MiB * 0.3, dirtyPagesRate: 0, throttle: 0, ...over,
});

describe('ProgressTracker', () => {
  it('moves with samples between syncs, never goes backwards when a sync adds dirtied pages, 100 only once completed', () => {
    const t = new ProgressTracker({ totalBytes: 256 * MiB });
    const seen = [256, 192, 128].map((m, i) => t.sample({ time: i * 1000, remaining: m * MiB, pass: 1, dirtyRate: 0 }).percent);
    expect(seen).toEqual([0, 25, 50]);
    // the sync finds 64 MiB dirtied again: remaining rises, the figure holds
    const held = t.update(sync(2, 192 * MiB, { time: 2000, dirtiedPages: (64 * MiB) / 4096 }), ctx()).report;
    expect(held.percent).toBe(50);
    expect(held.remaining).toBe(192 * MiB);
    expect(held.processed).toBe(128 * MiB);
    const later = t.sample({ time: 3000, remaining: 128 * MiB, pass: 2, dirtyRate: 0 });
    expect(later.percent).toBeGreaterThan(50);
    expect(later.percent).toBeLessThan(100);
    expect(t.complete()!.percent).toBe(100);
    expect(t.last!['eta-ms']).toBe(0);
  });

  it('ETA is what is left over the processing rate less the dirty rate; null when the guest dirties faster', () => {
    const t = new ProgressTracker({ totalBytes: 256 * MiB });
    for (const [time, m] of [[0, 256], [1000, 224], [2000, 192]] as const) t.sample({ time, remaining: m * MiB, pass: 1, dirtyRate: 0 });
    expect(t.last!['eta-ms']).toBe(6000); // 192 MiB at 32 MiB/s
    expect(t.last!['processing-rate']).toBe(32 * MiB);
    const r = t.update(sync(2, 200 * MiB, { time: 2000, dirtiedPages: (8 * MiB) / 4096, dirtyPagesRate: (16 * MiB) / 4096 }), ctx()).report;
    expect(r['eta-ms']).toBe(12_500); // 200 MiB at 32 − 16 MiB/s
    const r2 = t.update(sync(3, 200 * MiB, { time: 2000, dirtyPagesRate: (40 * MiB) / 4096 }), ctx()).report;
    expect(r2['eta-ms']).toBeNull();
  });

  it('flags a migration whose remaining has not shrunk over the window, once, with advice from the numbers', () => {
    const t = new ProgressTracker({ totalBytes: 256 * MiB, windowSyncs: 3 });
    const info = (pass: number) => sync(pass, 60 * MiB, { dirtyPagesRate: (64 * MiB) / 4096 });
    const flips: boolean[] = [];
    let last;
    for (let p = 2; p <= 7; p++) {
      const u = t.update(info(p), ctx());
      flips.push(u.becameNotConverging);
      last = u.report;
    }
    expect(flips).toEqual([false, false, false, true, false, false]);
    expect(last!.converging).toBe(false);
    expect(last!.advice.join('\n')).toMatch(/enable auto-converge: the guest dirties 64\.0 MiB\/s, the link moves 32\.0 MiB\/s/);
    expect(last!.advice.join('\n')).toMatch(/enable xbzrle/);
    expect(last!.advice.join('\n')).toMatch(/raise max-bandwidth from 32\.0 MiB\/s to at least 96\.0 MiB\/s/);
    expect(last!.advice.join('\n')).toMatch(/raise downtime-limit from 300 ms to about 1875 ms/);
  });

  it('is converging again once remaining shrinks; advice leaves out what is already on', () => {
    const t = new ProgressTracker({ totalBytes: 256 * MiB, windowSyncs: 2 });
    for (let p = 2; p <= 5; p++) t.update(sync(p, 60 * MiB, { throttle: 99 }), ctx({ 'auto-converge': true, xbzrle: true }, 0));
    const stuck = t.last!;
    expect(stuck.converging).toBe(false);
    expect(stuck.advice[0]).toMatch(/max-cpu-throttle \(99%\)/);
    expect(stuck.advice.join()).not.toMatch(/enable/);
    const r = t.update(sync(6, 10 * MiB), ctx()).report;
    expect(r.converging).toBe(true);
    expect(r.advice).toEqual([]);
  });

  it('refuses bad options', () => {
    expect(() => new ProgressTracker({ totalBytes: 0 })).toThrow(/totalBytes/);
    expect(() => new ProgressTracker({ totalBytes: 1, windowSyncs: 0 })).toThrow(/windowSyncs/);
  });
});
