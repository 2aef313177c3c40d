import { describe, expect, it } from 'vitest';
import { TARGET_PAGE_SIZE } from '../params.js';
import { createSharedStats, createStats, STAT_KEYS } from '../stats.js';
import { BandwidthMeter } from './bandwidth.js';
import { PrecopyStatsRecorder } from './precopy-stats.js';

describe('PrecopyStatsRecorder', () => {
  it('begin() zeroes every counter, sets the page size, start time and expected downtime', () => {
    const stats = createStats();
    for (const k of STAT_KEYS) stats[k] = 7;
    const r = new PrecopyStatsRecorder(stats);
    r.begin(1234, 300);
    for (const k of STAT_KEYS) {
      if (k === 'pageSize') expect(stats[k]).toBe(TARGET_PAGE_SIZE);
      else if (k === 'startTime') expect(stats[k]).toBe(1234);
      else if (k === 'expectedDowntime') expect(stats[k]).toBe(300);
      else expect(stats[k], k).toBe(0);
    }
  });

  it('counts stream bytes as precopy-bytes or downtime-bytes', () => {
    const r = new PrecopyStatsRecorder(createStats());
    r.begin(0, 300);
    r.streamBytes(100, false);
    r.streamBytes(50, true);
    r.streamBytes(25, false);
    r.transferred(175);
    expect(r.stats).toMatchObject({ precopyBytes: 125, downtimeBytes: 50, transferred: 175 });
  });

  it('records setup, syncs, measurements and the throttle', () => {
    const r = new PrecopyStatsRecorder(createStats());
    r.begin(1000, 300);
    r.setupSynced(400_000, 400_000);
    r.setupDone(1016);
    r.synced(3, 256.5);
    r.remaining(8192);
    r.throttle(30);
    expect(r.stats).toMatchObject({
      total: 400_000, remaining: 8192, setupTime: 16, dirtySyncCount: 3, dirtyPagesRate: 256.5, cpuThrottlePercentage: 30,
    });
  });

  it("takes the meter's mbps and pages per second, and its expected downtime only once it has one", () => {
    const r = new PrecopyStatsRecorder(createStats());
    r.begin(0, 300);
    const m = new BandwidthMeter();
    m.restart(0, 0);
    m.addPages(10);
    m.measure(100, 1_000_000, { downtimeLimit: 300, remaining: 5_000_000, dirtyPagesRate: 0 });
    r.measured(m);
    expect(r.stats).toMatchObject({ mbps: 80, pagesPerSecond: 100, expectedDowntime: 300 });
    m.measure(200, 2_000_000, { downtimeLimit: 300, remaining: 5_000_000, dirtyPagesRate: 9 });
    r.measured(m);
    expect(r.stats.expectedDowntime).toBe(500);
  });

  it('completed(): downtime from the switchover, total time, nothing remaining, mbps over the transfer', () => {
    const r = new PrecopyStatsRecorder(createStats());
    r.begin(1000, 300);
    r.setupDone(1100);
    r.remaining(4096);
    r.downtimeStarted(3000);
    expect(r.stats.downtimeStart).toBe(3000);
    r.completed(3050, 2_500_000); // 2.5 MB over the 1.95 s after setup
    expect(r.stats).toMatchObject({ downtime: 50, totalTime: 2050, remaining: 0 });
    expect(r.stats.mbps).toBeCloseTo((2_500_000 * 8) / 1950 / 1000, 12);
  });

  it('completed() at the end of setup keeps the last mbps (no transfer time to divide by)', () => {
    const r = new PrecopyStatsRecorder(createStats());
    r.begin(0, 300);
    r.setupDone(10);
    r.stats.mbps = 5;
    r.downtimeStarted(10);
    r.completed(10, 100);
    expect(r.stats.mbps).toBe(5);
  });

  it('writes through a shared-buffer view', () => {
    const { buffer, stats } = createSharedStats();
    const r = new PrecopyStatsRecorder(stats);
    r.begin(5, 300);
    r.streamBytes(4096, false);
    r.transferred(4096);
    const f64 = new Float64Array(buffer);
    expect(f64[STAT_KEYS.indexOf('transferred')]).toBe(4096);
    expect(f64[STAT_KEYS.indexOf('startTime')]).toBe(5);
  });
});
