import { describe, expect, it } from 'vitest';
import { ProgressEstimator, type ProgressEstimate } from './progress-estimate.js';

const MiB = 1024 * 1024;

interface SimCase {
  /** RAM + disk bytes. */
  total: number;
  /** Link rate for data pages, bytes/s; zero pages go `zeroSpeedup` times faster. */
  link: number;
  /** Whether the byte at offset `o` is in a zero region. */
  isZero(o: number): boolean;
  zeroSpeedup: number;
  /** Bytes/s the guest dirties (unique, up to `wss` between two syncs); pass k+1 is what pass k left dirty. */
  dirtyRate: number;
  wss: number;
  /** Switchover once a pass starts with at most this much pending. */
  threshold: number;
  sampleMs: number;
  /** The sampler counts the dirty bitmaps (mig-daemon) and sees each sync; otherwise only query-migrate (QEMU). */
  countsDirty: boolean;
}

interface Seen {
  t: number;
  e: ProgressEstimate;
  pass: number;
}

/**
 * A migration on an injected clock, 1 ms steps: the bulk pass over `total`, then passes of what the guest
 * dirtied meanwhile; the dirty rate as a sync measures it is known from the first sync after the bulk pass.
 */
export function simulate(c: SimCase): { seen: Seen[]; end: number } {
  const est = new ProgressEstimator({ totalBytes: c.total });
  const seen: Seen[] = [];
  const m = { t: 0, pass: 1, passSize: c.total, offset: 0, passStart: 0, synced: 0, credit: 0 };
  const dirtied = () => Math.min(c.wss, (c.dirtyRate * (m.t - m.passStart)) / 1000);
  const look = () => {
    const s = { time: m.t, remaining: m.passSize - m.offset, pass: m.pass, dirtyRate: m.synced };
    seen.push({ t: m.t, e: est.sample(c.countsDirty ? { ...s, dirtyPending: dirtied() } : s), pass: m.pass });
  };
  let nextSample = 0;
  for (;;) {
    if (m.t >= nextSample) {
      look();
      nextSample += c.sampleMs;
    }
    if (m.offset >= m.passSize) {
      if (c.countsDirty) look(); // the daemon's tracker hears every sync: what was pending before it, then after
      const size = Math.max(dirtied(), 4096);
      m.synced = c.dirtyRate;
      Object.assign(m, { pass: m.pass + 1, passStart: m.t, passSize: size, offset: 0 });
      if (size <= c.threshold) break;
      if (c.countsDirty) look();
      continue;
    }
    // one ms of link time, spent 64 KiB at a time (a zero unit of the bulk pass costs 1/zeroSpeedup of it)
    m.credit += c.link / 1000;
    while (m.offset < m.passSize) {
      const unit = Math.min(UNIT, m.passSize - m.offset);
      const cost = c.isZero(m.offset) && m.pass === 1 ? unit / c.zeroSpeedup : unit;
      if (cost > m.credit) break;
      m.credit -= cost;
      m.offset += unit;
    }
    m.t += 1;
  }
  // the switchover: the rest with the guest stopped
  return { seen, end: m.t + (m.passSize / c.link) * 1000 };
}

/** Slack for the last instants, where 50 % of a few ms is less than one sample interval (and the downtime). */
const ETA_SLACK_MS = 100;

/** Per sample from a third of the run's time on: |ETA − time really left| beyond the slack, over the time left. */
function etaErrorsFromAThird(seen: Seen[], end: number): number[] {
  return seen.filter((s) => s.t >= end / 3 && s.t < end).map((s) => {
    const left = end - s.t;
    return Math.max(0, Math.abs((s.e.etaMs ?? Infinity) - left) - ETA_SLACK_MS) / left;
  });
}

const UNIT = 65536;

/** Zero or data by 64 KiB unit, scattered (about 40 % zero). */
const mixed = (o: number): boolean => (Math.floor(o / 65536) * 2654435761) % 1000 < 400;

const base: SimCase = {
  total: 256 * MiB, link: 64 * MiB, isZero: () => false, zeroSpeedup: 1, dirtyRate: 0, wss: 0,
  threshold: 64 * MiB * 0.3, sampleMs: 250, countsDirty: true,
};

describe('ProgressEstimator (injected clock)', () => {
  it('the percent rises through the bulk pass, not only at syncs, and never goes back', () => {
    const { seen } = simulate({ ...base, dirtyRate: 16 * MiB, wss: 64 * MiB });
    const bulk = seen.filter((s) => s.pass === 1);
    expect(bulk.length).toBeGreaterThan(10);
    // strictly rising through the bulk pass: each sample sees pages that left
    for (let i = 1; i < bulk.length; i++) {
      if (bulk[i]!.t > bulk[i - 1]!.t) expect(bulk[i]!.e.percent).toBeGreaterThan(bulk[i - 1]!.e.percent);
    }
    // the pass still to come is known (the dirty bitmaps): the bulk pass is not the whole way
    expect(bulk.at(-1)!.e.percent).toBeGreaterThan(60);
    expect(seen.at(-1)!.e.percent).toBeGreaterThan(90);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.e.percent).toBeGreaterThanOrEqual(seen[i - 1]!.e.percent);
    expect(Math.max(...seen.map((s) => s.e.percent))).toBeLessThan(100);
  });

  it('has an ETA during the bulk pass once a rate is measured', () => {
    const { seen } = simulate(base);
    const bulk = seen.filter((s) => s.pass === 1 && s.t >= 500);
    expect(bulk.every((s) => s.e.etaMs !== null)).toBe(true);
    expect(seen[0]!.e.etaMs).toBeNull(); // nothing measured yet at the first look
  });

  const cases: [string, Partial<SimCase>][] = [
    ['an idle guest, all data pages', {}],
    ['zero and data pages mixed page by page (zero pages 20× faster)', { isZero: mixed, zeroSpeedup: 20 }],
    ['zero and data in 8 MiB regions', { isZero: (o) => Math.floor(o / (8 * MiB)) % 2 === 0, zeroSpeedup: 20 }],
    ['a guest dirtying 25 % of the link over a 64 MiB working set', { dirtyRate: 16 * MiB, wss: 64 * MiB }],
    ['a guest dirtying 40 % of the link, sampled every second', { dirtyRate: 25 * MiB, wss: 256 * MiB, sampleMs: 1000 }],
    ['a guest dirtying 25 % of the link, zero and data mixed', { dirtyRate: 16 * MiB, wss: 128 * MiB, isZero: mixed, zeroSpeedup: 20 }],
    ['an idle guest seen through query-migrate alone (QEMU)', { countsDirty: false }],
    ['an idle guest with zero regions through query-migrate alone (QEMU), 200 ms polls', { countsDirty: false, sampleMs: 200, isZero: (o) => Math.floor(o / (8 * MiB)) % 2 === 0, zeroSpeedup: 20 }],
  ];
  it.each(cases)('ETA within 50 %% of the time really left from a third of the way on: %s', (_name, over) => {
    const { seen, end } = simulate({ ...base, ...over });
    const errors = etaErrorsFromAThird(seen, end);
    expect(errors.length).toBeGreaterThan(3);
    expect(Math.max(...errors)).toBeLessThanOrEqual(0.5);
  });

  it('leaves out of the ETA what the switchover sends in the downtime (pending ≤ bandwidth × downtime-limit)', () => {
    const threshold = 64 * MiB * 0.3;
    const feed = (switchoverBytes?: number) => {
      const est = new ProgressEstimator({ totalBytes: 256 * MiB });
      let e: ProgressEstimate | undefined;
      // 64 MiB/s for 3 s, ending with 30 MiB pending
      for (let t = 0; t <= 3000; t += 250) {
        const remaining = 30 * MiB + ((3000 - t) / 1000) * 64 * MiB;
        e = est.sample({ time: t, remaining, pass: 2, dirtyRate: 0, dirtyPending: 0, ...(switchoverBytes === undefined ? {} : { switchoverBytes }) });
      }
      return e!.etaMs!;
    };
    expect(feed()).toBeCloseTo((30 / 64) * 1000, -1);
    expect(feed(threshold)).toBeCloseTo(((30 * MiB - threshold) / (64 * MiB)) * 1000, -1);
    expect(feed(64 * MiB)).toBe(0); // all of it goes at the switchover
  });

  it('a guest dirtying faster than the link: no ETA once the dirty rate is known, the percent held', () => {
    const est = new ProgressEstimator({ totalBytes: 100 * MiB });
    est.sample({ time: 0, remaining: 100 * MiB, pass: 1, dirtyRate: 0 });
    const a = est.sample({ time: 1000, remaining: 60 * MiB, pass: 1, dirtyRate: 0 });
    expect(a.etaMs).toBe(1500); // 60 MiB at 40 MiB/s
    expect(a.percent).toBe(40);
    const b = est.sample({ time: 2000, remaining: 50 * MiB, pass: 2, dirtyRate: 80 * MiB });
    expect(b.etaMs).toBeNull();
    expect(b.percent).toBe(40); // held, not lowered to 0
  });

  it('a rise of remaining (a sync) processes nothing; samples from the past are ignored', () => {
    const est = new ProgressEstimator({ totalBytes: 100 * MiB });
    est.sample({ time: 0, remaining: 100 * MiB, pass: 1, dirtyRate: 0 });
    est.sample({ time: 1000, remaining: 0, pass: 1, dirtyRate: 0 });
    const up = est.sample({ time: 1100, remaining: 10 * MiB, pass: 2, dirtyRate: 0 });
    expect(up.processed).toBe(100 * MiB);
    const down = est.sample({ time: 1500, remaining: 5 * MiB, pass: 2, dirtyRate: 0 });
    expect(down.processed).toBe(105 * MiB);
    expect(est.sample({ time: 1200, remaining: 99 * MiB, pass: 2, dirtyRate: 0 })).toBe(down);
    expect(est.complete().percent).toBe(100);
  });

  it('refuses bad options', () => {
    expect(() => new ProgressEstimator({ totalBytes: 0 })).toThrow(/totalBytes/);
    expect(() => new ProgressEstimator({ totalBytes: 1, windowMs: 100, minSpanMs: 200 })).toThrow(/windowMs/);
  });
});
