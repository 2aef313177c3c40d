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
  it('never goes backwards when a pass finds pages dirtied again, and is 100 only once completed', () => {
    const t = new ProgressTracker({ totalBytes: 256 * MiB });
    const seq = [256, 128, 160, 64, 200, 20].map((m) => t.update(sync(2, m * MiB), ctx()).report.percent);
    for (let i = 1; i < seq.length; i++) expect(seq[i]).toBeGreaterThanOrEqual(seq[i - 1]!);
    expect(seq[1]).toBe(50);
    expect(seq[2]).toBe(50); // remaining grew: held
    expect(Math.max(...seq)).toBeLessThan(100);
    expect(t.complete()!.percent).toBe(100);
  });

  it('ETA is remaining above the threshold over the net drain rate; null when the guest dirties faster', () => {
    const t = new ProgressTracker({ totalBytes: 256 * MiB });
    const r = t.update(sync(2, 64 * MiB, { dirtyPagesRate: (16 * MiB) / 4096, maxSize: 0 }), ctx()).report;
    expect(r['eta-ms']).toBe(4000); // 64 MiB at 32 − 16 MiB/s
    const r2 = t.update(sync(3, 64 * MiB, { dirtyPagesRate: (40 * MiB) / 4096, maxSize: 0 }), ctx()).report;
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
