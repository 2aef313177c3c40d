import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';
import { BandwidthMeter, EXPECTED_DOWNTIME_MIN_BYTES } from './bandwidth.js';

const quiet = { downtimeLimit: 300, remaining: 0, dirtyPagesRate: 0 };

describe('BandwidthMeter (migration_update_counters)', () => {
  it('reads 0 everywhere before the first measurement', () => {
    const m = new BandwidthMeter();
    expect([m.bytesPerMs, m.bytesPerSecond, m.thresholdBytes, m.mbps, m.pagesPerSecond]).toEqual([0, 0, 0, 0, 0]);
    expect(m.expectedDowntimeMs).toBeUndefined();
  });

  it('measures the bytes since the last slot end over the time it took', () => {
    const clock = new FakeClock();
    const m = new BandwidthMeter();
    m.restart(clock.now(), 5000); // 5000 bytes (e.g. setup) went before the period
    clock.advance(100);
    m.measure(clock.now(), 5000 + 1_000_000, { ...quiet, downtimeLimit: 300 });
    expect(m.bytesPerMs).toBe(10_000);
    expect(m.bytesPerSecond).toBe(10_000_000);
    expect(m.thresholdBytes).toBe(3_000_000); // bandwidth × downtime-limit
    expect(m.mbps).toBeCloseTo(80, 9); // 10 MB/s in megabits
  });

  it('starts the next period at the measurement: only the new bytes count', () => {
    const clock = new FakeClock();
    const m = new BandwidthMeter();
    m.restart(0, 0);
    clock.advance(100);
    m.measure(clock.now(), 1_000_000, quiet);
    clock.advance(200); // a slower slot: 200 ms for 500,000 bytes
    m.measure(clock.now(), 1_500_000, { ...quiet, downtimeLimit: 100 });
    expect(m.bytesPerMs).toBe(2500);
    expect(m.thresholdBytes).toBe(250_000);
    expect(m.mbps).toBeCloseTo(20, 9);
  });

  it('uses the downtime-limit of each measurement (a live migrate-set-parameters)', () => {
    const m = new BandwidthMeter();
    m.restart(0, 0);
    m.measure(100, 100_000, { ...quiet, downtimeLimit: 300 });
    expect(m.thresholdBytes).toBe(300_000);
    m.measure(200, 200_000, { ...quiet, downtimeLimit: 50 });
    expect(m.thresholdBytes).toBe(50_000);
  });

  it('gives pages per second from the pages counted in the period, then resets them', () => {
    const m = new BandwidthMeter();
    m.restart(0, 0);
    m.addPages(20);
    m.addPages(4.5);
    m.measure(250, 100_000, quiet);
    expect(m.pagesPerSecond).toBe(98); // 24.5 pages in 0.25 s
    m.measure(500, 200_000, quiet);
    expect(m.pagesPerSecond).toBe(0);
  });

  it('recomputes the expected downtime only while the guest dirties pages and the period carried > 10000 bytes', () => {
    const m = new BandwidthMeter();
    m.restart(0, 0);
    m.measure(100, 1_000_000, { downtimeLimit: 300, remaining: 4_000_000, dirtyPagesRate: 0 });
    expect(m.expectedDowntimeMs).toBeUndefined(); // no dirty rate yet
    m.measure(200, 2_000_000, { downtimeLimit: 300, remaining: 4_000_000, dirtyPagesRate: 50 });
    expect(m.expectedDowntimeMs).toBe(400); // 4 MB at 10,000 bytes/ms
    m.measure(300, 2_000_000 + EXPECTED_DOWNTIME_MIN_BYTES, { downtimeLimit: 300, remaining: 1, dirtyPagesRate: 50 });
    expect(m.expectedDowntimeMs).toBe(400); // exactly 10000 bytes: not enough to recompute, the last value stays
    m.measure(400, 2_000_000 + 2 * EXPECTED_DOWNTIME_MIN_BYTES + 1, { downtimeLimit: 300, remaining: 10_001, dirtyPagesRate: 50 });
    expect(m.expectedDowntimeMs).toBeCloseTo(100, 9);
  });

  it('a period that sent nothing measures 0 bandwidth and a 0 threshold', () => {
    const m = new BandwidthMeter();
    m.restart(0, 0);
    m.measure(100, 1_000_000, quiet);
    m.measure(200, 1_000_000, { downtimeLimit: 300, remaining: 5, dirtyPagesRate: 10 });
    expect(m.bytesPerMs).toBe(0);
    expect(m.thresholdBytes).toBe(0);
    expect(m.mbps).toBe(0);
  });
});
