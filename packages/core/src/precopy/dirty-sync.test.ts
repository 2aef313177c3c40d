import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';
import { DIRTY_RATE_PERIOD_MS, DirtySyncTracker, isSyncDue } from './dirty-sync.js';

const PAGE = 4096;

describe('isSyncDue', () => {
  it('when nothing is pending or less than the threshold', () => {
    expect(isSyncDue(0, 0)).toBe(true);
    expect(isSyncDue(0, 100_000)).toBe(true);
    expect(isSyncDue(99_999, 100_000)).toBe(true);
    expect(isSyncDue(100_000, 100_000)).toBe(false);
    expect(isSyncDue(4096, 0)).toBe(false);
  });
});

describe('DirtySyncTracker (migration_bitmap_sync bookkeeping)', () => {
  it('numbers the passes; the first (the bulk pass) dirtied nothing', () => {
    const clock = new FakeClock();
    const t = new DirtySyncTracker(clock.now(), PAGE);
    const first = t.record(clock.now(), 100 * PAGE, 100 * PAGE, 16);
    expect(first).toEqual({ pass: 1, time: 0, remaining: 100 * PAGE, dirtiedPages: 0, period: undefined });
    clock.advance(200);
    const second = t.record(clock.now(), 20 * PAGE, 24 * PAGE, 50_000);
    expect(second).toMatchObject({ pass: 2, time: 200, remaining: 24 * PAGE, dirtiedPages: 4, period: undefined });
    expect(t.passes).toBe(2);
  });

  it('a sync that finds pending lower than before (pages went out meanwhile) dirtied nothing', () => {
    const t = new DirtySyncTracker(0, PAGE);
    t.record(0, 0, 10 * PAGE, 0);
    expect(t.record(10, 10 * PAGE, 8 * PAGE, 0).dirtiedPages).toBe(0);
  });

  it('measures the dirty-pages rate over periods of at least 1 s', () => {
    const clock = new FakeClock();
    const t = new DirtySyncTracker(clock.now(), PAGE);
    t.record(clock.now(), 0, 256 * PAGE, 0);
    for (const added of [128, 128, 128]) {
      clock.advance(400);
      const r = t.record(clock.now(), 0, added * PAGE, 0);
      if (clock.now() < DIRTY_RATE_PERIOD_MS) {
        expect(r.period).toBeUndefined();
        expect(t.dirtyPagesRate).toBe(0);
      }
    }
    // the third 400 ms sync closed the first period: 384 pages in 1.2 s
    expect(t.dirtyPagesRate).toBe(320);
    clock.advance(999);
    t.record(clock.now(), 0, 1000 * PAGE, 0);
    expect(t.dirtyPagesRate).toBe(320); // 999 ms: the period is still open
    clock.advance(1);
    const r = t.record(clock.now(), 0, 0, 0);
    expect(r.period?.ms).toBe(1000);
    expect(t.dirtyPagesRate).toBe(1000);
  });

  it("gives each closed period's dirtied pages and the bytes sent in it (what auto-converge judges)", () => {
    const t = new DirtySyncTracker(0, PAGE);
    t.record(0, 0, 100 * PAGE, 16);
    t.record(600, 0, 10 * PAGE, 300_000);
    const r = t.record(1100, 0, 30 * PAGE, 700_016);
    expect(r.period).toEqual({ dirtyPages: 40, transferredBytes: 700_016, ms: 1100 }); // the first period counts from 0 bytes
    const next = t.record(2100, 0, 5 * PAGE, 900_016);
    expect(next.period).toEqual({ dirtyPages: 5, transferredBytes: 200_000, ms: 1000 });
  });

  it('a setup longer than a period closes one at pass 1 with no dirtied pages', () => {
    const t = new DirtySyncTracker(0, PAGE);
    const r = t.record(1500, 0, 100 * PAGE, 16);
    expect(r.period).toEqual({ dirtyPages: 0, transferredBytes: 16, ms: 1500 });
    expect(t.dirtyPagesRate).toBe(0);
  });
});
