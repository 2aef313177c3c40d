import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';
import { RATE_LIMIT_SLOT_MS, RateLimiter, XFER_LIMIT_RATIO, slotLimitBytes } from './rate-limiter.js';

/**
 * Drives a limiter as the precopy loop does, sending `total` bytes in records of `record` bytes over a link
 * of `bytesPerMs`; `maxBandwidth(t)` is the parameter at time t. Returns the bytes sent in each slot.
 */
async function drive(o: { total: number; record: number; maxBatch: number; bytesPerMs?: number; maxBandwidth(t: number): number }) {
  const clock = new FakeClock();
  const limiter = new RateLimiter(clock.now(), o.maxBandwidth(clock.now()));
  const perSlot: number[] = [];
  const budgets: number[] = [];
  let sent = 0;
  while (sent < o.total) {
    const t = clock.now();
    if (limiter.slotOver(t)) {
      limiter.nextSlot(t, o.maxBandwidth(t));
      continue;
    }
    if (limiter.exhausted) {
      await clock.sleep(limiter.msToSlotEnd(t));
      continue;
    }
    const budget = limiter.budget(o.maxBatch);
    budgets.push(budget);
    let n = 0;
    while (n < budget && sent + n < o.total) n += o.record; // whole records, as a saver sends pages
    const slot = Math.floor(limiter.slotStart / RATE_LIMIT_SLOT_MS);
    perSlot[slot] = (perSlot[slot] ?? 0) + n;
    sent += n;
    limiter.count(n);
    if (o.bytesPerMs) clock.advance(n / o.bytesPerMs);
  }
  return { perSlot, budgets, sleeps: clock.sleeps, clock };
}

describe('slotLimitBytes', () => {
  it('is max-bandwidth / XFER_LIMIT_RATIO, and unlimited for 0', () => {
    expect(XFER_LIMIT_RATIO).toBe(10);
    expect(slotLimitBytes(10_000_000)).toBe(1_000_000);
    expect(slotLimitBytes(33_554_432)).toBe(3_355_443.2);
    expect(slotLimitBytes(0)).toBe(Infinity);
  });
});

describe('RateLimiter', () => {
  it('ends a slot exactly RATE_LIMIT_SLOT_MS after it began', () => {
    const l = new RateLimiter(1000, 1_000_000);
    expect(l.slotOver(1099.999)).toBe(false);
    expect(l.slotOver(1100)).toBe(true);
    expect(l.msToSlotEnd(1030)).toBe(70);
    l.nextSlot(1100, 1_000_000);
    expect(l.slotStart).toBe(1100);
    expect(l.slotOver(1150)).toBe(false);
  });

  it('budgets what is left of the slot, capped by the batch, never below 1 byte', () => {
    const l = new RateLimiter(0, 1_000_000); // 100,000 bytes a slot
    expect(l.limitBytes).toBe(100_000);
    expect(l.budget(8 << 20)).toBe(100_000);
    expect(l.budget(4096)).toBe(4096);
    l.count(70_000);
    expect(l.budget(8 << 20)).toBe(30_000);
    expect(l.exhausted).toBe(false);
    l.count(30_000);
    expect(l.exhausted).toBe(true);
    expect(l.budget(8 << 20)).toBe(1);
    l.nextSlot(100, 1_000_000);
    expect(l.usedBytes).toBe(0);
    expect(l.exhausted).toBe(false);
  });

  it('unlimited (0) is never exhausted and budgets whole batches', () => {
    const l = new RateLimiter(0, 0);
    l.count(1e15);
    expect(l.exhausted).toBe(false);
    expect(l.budget(256 * 1024)).toBe(256 * 1024);
  });

  it('carries max-bandwidth/10 per 100 ms slot and sleeps out the rest of each slot', async () => {
    const r = await drive({ total: 4_096_000, record: 4096, maxBatch: 8 << 20, maxBandwidth: () => 10_000_000 });
    expect(r.perSlot.length).toBe(5);
    for (const s of r.perSlot.slice(0, -1)) {
      expect(s).toBeGreaterThanOrEqual(1_000_000);
      expect(s).toBeLessThan(1_000_000 + 4096); // under one record of overshoot
    }
    expect(r.sleeps).toEqual([100, 100, 100, 100]);
    expect(Math.max(...r.budgets)).toBe(1_000_000);
  });

  it('applies a changed max-bandwidth from the next slot, not within the current one', async () => {
    // 1 MB/s (100,000 bytes a slot) until t = 105, then 4 MB/s; the link moves 10,000 bytes per ms, so
    // slot 1 is still sending (100..110 ms) when the parameter changes.
    const r = await drive({
      total: 1_200_000, record: 1000, maxBatch: 10_000, bytesPerMs: 10_000,
      maxBandwidth: (t) => (t < 105 ? 1_000_000 : 4_000_000),
    });
    expect(r.perSlot[0]).toBe(100_000);
    expect(r.perSlot[1]).toBe(100_000); // the slot keeps the limit it began with
    expect(r.perSlot[2]).toBe(400_000);
    expect(r.perSlot[3]).toBe(400_000);
  });

  it('a change to unlimited during a slot: that slot still stops at its limit, the next carries the rest', async () => {
    const r = await drive({
      total: 1_000_000, record: 1000, maxBatch: 50_000, bytesPerMs: 10_000,
      maxBandwidth: (t) => (t < 50 ? 1_000_000 : 0),
    });
    expect(r.perSlot[0]).toBe(100_000);
    expect(r.perSlot[1]).toBe(900_000); // 90 ms of link time, within one slot
    expect(r.sleeps).toEqual([90]);
  });
});
