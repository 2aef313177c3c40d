import { describe, expect, it } from 'vitest';
import { MigrationActiveError, MigrationCancelledError, MigrationFailedError, PrecopyOptionsError } from './errors.js';
import type { MigrationParameters } from './params.js';
import { qemuConvergence, runPrecopy, type ConvergenceInput } from './precopy.js';
import { buildQueryMigrate, createSharedStats } from './stats.js';
import { MigrationStateMachine, type MigrationStatus } from './status.js';
import { FakeClock, FakeSink, PAGE, SETUP_BYTES, TRAILER_BYTES, harness, withParams } from './testing/precopy-fakes.js';

describe('runPrecopy: a successful migration', () => {
  it('runs setup, passes and switchover, writes every page and ends the stream', async () => {
    const h = harness({ pages: 50 });
    const r = await h.run();
    expect(r.status).toBe('completed');
    expect(h.history).toEqual(['none>setup', 'setup>active', 'active>completed']);
    expect(h.saver.calls[0]).toBe('setup');
    expect(h.saver.calls.at(-1)).toBe('complete');
    expect(h.saver.runstate).toBe('running');
    expect(new Set(h.sink.writes.filter((w) => w.page >= 0).map((w) => w.page)).size).toBe(50);
    expect(h.sink.bytes).toBe(SETUP_BYTES + 50 * PAGE + TRAILER_BYTES);
    expect(h.sink.ended).toBe(true);
    expect(h.sink.destroyedWith).toBeUndefined();
    expect(h.guest.stops).toBe(1);
    expect(h.guest.resumes).toEqual([]);
    expect(h.passes).toEqual([1, 2, 3]); // setup sync, the sync that found nothing left, completion
    expect(r).toMatchObject({ passes: 3, bytesWritten: h.sink.bytes });
  });

  it('starts from an ended migration and refuses a running one', async () => {
    const done = harness({ state: new MigrationStateMachine('failed'), pages: 2 });
    expect((await done.run()).status).toBe('completed');
    expect(done.history[0]).toBe('failed>setup');
    const running = harness({ state: new MigrationStateMachine('active') });
    await expect(running.run()).rejects.toThrow(MigrationActiveError);
    expect(running.saver.calls).toEqual([]);
  });

  it('refuses bad options, naming them', async () => {
    const h = harness();
    await expect(runPrecopy({ ...h.opts, stopGuest: undefined as never })).rejects.toThrow(/stopGuest is missing/);
    await expect(runPrecopy({ ...h.opts, maxBatchBytes: 0 })).rejects.toThrow(PrecopyOptionsError);
  });
});

describe('runPrecopy: rate limiting', () => {
  it('sends max-bandwidth/10 bytes per 100 ms slot and sleeps out the rest of the slot', async () => {
    // 10 MB/s → 1,000,000 bytes a slot; downtime-limit 0 so it only switches over once nothing is left.
    const h = harness({ pages: 1000, params: withParams({ 'max-bandwidth': 10_000_000, 'downtime-limit': 0 }) });
    const r = await h.run();
    expect(r.status).toBe('completed');
    const slots = h.sink.perSlot();
    const total = SETUP_BYTES + 1000 * PAGE + TRAILER_BYTES;
    expect(slots.length).toBe(Math.ceil((1000 * PAGE) / 1_000_000));
    for (const s of slots.slice(0, -1)) {
      expect(s).toBeGreaterThanOrEqual(1_000_000);
      expect(s).toBeLessThanOrEqual(1_000_000 + PAGE + SETUP_BYTES); // one page of overshoot at most
    }
    expect(slots.reduce((a, b) => a + b, 0)).toBe(total);
    // each slot's budget is what is left of its 1,000,000 bytes
    expect(Math.max(...h.saver.budgets)).toBe(1_000_000);
    // the sleeps end each slot exactly at its 100 ms boundary
    expect(h.clock.sleeps.filter((ms) => ms > 0)).toEqual([100, 100, 100, 100]);
    // measured over the run: ~80 Mbit/s
    expect(h.stats.mbps).toBeGreaterThan(80 * 0.95);
    expect(h.stats.mbps).toBeLessThan(80 * 1.05);
  });

  it('applies a new max-bandwidth from the next slot (migrate_set_speed during a migration)', async () => {
    let params = withParams({ 'max-bandwidth': 1_000_000, 'downtime-limit': 0 }); // 100,000 bytes a slot
    const h = harness({
      pages: 400,
      params: () => params,
      sinkOpts: {
        onWrite: (s) => {
          if (s.o.clock.t >= 300) params = withParams({ 'max-bandwidth': 4_000_000, 'downtime-limit': 0 });
        },
      },
    });
    expect((await h.run()).status).toBe('completed');
    const slots = h.sink.perSlot();
    for (const i of [1, 2]) {
      expect(slots[i]).toBeGreaterThanOrEqual(100_000);
      expect(slots[i]).toBeLessThanOrEqual(100_000 + PAGE);
    }
    for (const i of [4, 5]) {
      expect(slots[i]).toBeGreaterThanOrEqual(400_000);
      expect(slots[i]).toBeLessThanOrEqual(400_000 + PAGE);
    }
  });

  it('unlimited bandwidth (0) still goes in bounded batches and yields at every slot end', async () => {
    const h = harness({
      pages: 2000,
      params: withParams({ 'max-bandwidth': 0, 'downtime-limit': 0 }),
      maxBatchBytes: 256 * 1024,
      sinkOpts: { bytesPerMs: 10_000 },
    });
    expect((await h.run()).status).toBe('completed');
    expect(h.saver.budgets.every((b) => b === 256 * 1024)).toBe(true);
    expect(h.saver.budgets.length).toBe(Math.ceil((2000 * PAGE) / (256 * 1024)));
    const yields = h.clock.sleeps.filter((ms) => ms === 0).length;
    expect(yields).toBeGreaterThanOrEqual(3); // ~800 ms of link time: one yield per 100 ms slot
    expect(h.clock.sleeps.every((ms) => ms === 0)).toBe(true);
  });
});

describe('runPrecopy: completion', () => {
  it('sends what is left after the guest stopped in bounded batches, then only the trailer', async () => {
    // downtime-limit at its maximum: switchover at once, with every page still pending
    const h = harness({ pages: 64, maxBatchBytes: 4 * PAGE, sinkOpts: { bytesPerMs: PAGE / 10 }, params: withParams({ 'max-bandwidth': 0, 'downtime-limit': 2_000_000 }) });
    let stoppedAt = -1;
    h.opts.stopGuest = () => {
      stoppedAt = h.saver.calls.length;
      return 'running';
    };
    expect((await h.run()).status).toBe('completed');
    const after = h.saver.calls.slice(stoppedAt);
    expect(after.filter((c) => c === 'iterate').length).toBeGreaterThanOrEqual(8); // most pages were still pending
    expect(after.at(-1)).toBe('complete');
    expect(Math.max(...h.saver.budgets)).toBeLessThanOrEqual(4 * PAGE);
    expect(new Set(h.sink.writes.filter((w) => w.page >= 0).map((w) => w.page)).size).toBe(64);
    expect(h.sink.bytes).toBe(SETUP_BYTES + 64 * PAGE + TRAILER_BYTES);
  });
});

describe('runPrecopy: passes and the switchover threshold', () => {
  // Link of 1000 bytes/ms, downtime-limit 100 ms → max_size = 100,000 bytes: 24 pages fit, 25 do not.
  const threshold = (dirtiedAtPass2: number) =>
    harness({
      pages: 100,
      params: withParams({ 'max-bandwidth': 0, 'downtime-limit': 100 }),
      maxBatchBytes: 16 * PAGE,
      sinkOpts: { bytesPerMs: 1000 },
      dirtied: (n) => (n === 2 ? Array.from({ length: dirtiedAtPass2 }, (_, i) => i) : []),
    });

  it('switches over when pending ≤ bandwidth × downtime-limit (24 pages)', async () => {
    // 20 pages are left when pending first drops under max_size; the guest re-dirtied 4 → 24 pages.
    const h = threshold(4);
    expect((await h.run()).status).toBe('completed');
    expect(h.guest.pendingAtStop).toBe(24 * PAGE);
    expect(h.passes).toEqual([1, 2, 3]);
    expect(h.stats.dirtySyncCount).toBe(3);
  });

  it('does another pass when pending is above it (25 pages)', async () => {
    const h = threshold(5);
    expect((await h.run()).status).toBe('completed');
    expect(h.guest.pendingAtStop).toBe(9 * PAGE); // 25 - one batch of 16
    expect(h.passes).toEqual([1, 2, 3, 4]);
    // the re-dirtied pages went out twice
    const counts = new Map<number, number>();
    for (const w of h.sink.writes) if (w.page >= 0) counts.set(w.page, (counts.get(w.page) ?? 0) + 1);
    expect([0, 1, 2, 3, 4].map((p) => counts.get(p))).toEqual([2, 2, 2, 2, 2]);
    expect(counts.get(50)).toBe(1);
  });

  it('switches over when pending equals max_size exactly', async () => {
    // 1024 bytes/ms is exact in binary: max_size = 1024 × 100 = 102,400 bytes = 25 pages.
    const h = harness({
      pages: 100,
      params: withParams({ 'max-bandwidth': 0, 'downtime-limit': 100 }),
      maxBatchBytes: 16 * PAGE,
      sinkOpts: { bytesPerMs: 1024 },
      dirtied: (n) => (n === 2 ? [0, 1, 2, 3, 4] : []),
    });
    expect((await h.run()).status).toBe('completed');
    expect(h.guest.pendingAtStop).toBe(25 * PAGE);
    expect(h.passes).toEqual([1, 2, 3]);
  });

  it('keeps iterating while the guest dirties faster than the link, and converges when it slows', async () => {
    const h = harness({
      pages: 256,
      params: withParams({ 'max-bandwidth': 0, 'downtime-limit': 10 }), // max_size 10,000 bytes: 2 pages
      maxBatchBytes: 8 * PAGE,
      sinkOpts: { bytesPerMs: 1000 },
      dirtied: (n) => (n <= 6 ? Array.from({ length: 128 }, (_, i) => i) : []), // ~0.5 s of link per pass
    });
    expect((await h.run()).status).toBe('completed');
    expect(h.passes.length).toBeGreaterThanOrEqual(7);
    expect(h.passes).toEqual(Array.from({ length: h.passes.length }, (_, i) => i + 1));
    // 128 pages re-dirtied per ~0.5 s pass: QEMU's rate over periods of ≥ 1 s, in pages/s
    expect(h.stats.dirtyPagesRate).toBeGreaterThan(128);
    expect(h.stats.dirtyPagesRate).toBeLessThan(400);
  });
});

describe('runPrecopy: statistics', () => {
  it('counts bytes, times and downtime as QEMU does', async () => {
    const h = harness({
      pages: 100,
      params: withParams({ 'max-bandwidth': 0, 'downtime-limit': 100 }),
      maxBatchBytes: 16 * PAGE,
      sinkOpts: { bytesPerMs: 1000 },
      dirtied: (n) => (n === 2 ? [0, 1, 2, 3] : []),
    });
    const seen: MigrationStatus[] = [];
    h.state.onChange(({ to }) => {
      seen.push(to);
      if (to === 'active') {
        expect(h.stats.total).toBe(100 * PAGE);
        expect(h.stats.remaining).toBe(100 * PAGE);
        expect(h.stats.expectedDowntime).toBe(100);
        expect(buildQueryMigrate({ status: to, stats: h.stats, now: h.clock.t }).ram?.['dirty-sync-count']).toBe(1);
      }
    });
    await h.run();
    const s = h.stats;
    expect(s.transferred).toBe(h.sink.bytes);
    expect(s.precopyBytes + s.downtimeBytes).toBe(h.sink.bytes);
    expect(s.downtimeBytes).toBe(24 * PAGE + TRAILER_BYTES); // what went out after the guest stopped
    expect(s.downtime).toBeCloseTo((24 * PAGE + TRAILER_BYTES) / 1000, 6);
    expect(s.setupTime).toBeCloseTo(SETUP_BYTES / 1000, 9);
    expect(s.totalTime).toBeCloseTo(h.sink.bytes / 1000, 6);
    expect(s.remaining).toBe(0);
    expect(s.mbps).toBeCloseTo(8, 1); // 1000 bytes/ms
    expect(s.pagesPerSecond).toBeCloseTo(1_000_000 / PAGE, 0); // 1000 B/ms ÷ 4096 B ≈ 244 pages/s
    const reply = buildQueryMigrate({ status: 'completed', stats: s, now: h.clock.t });
    expect(reply.ram).toMatchObject({ transferred: h.sink.bytes, total: 100 * PAGE, remaining: 0, 'dirty-sync-count': 3 });
    expect(reply.downtime).toBe(Math.trunc(s.downtime));
  });

  it('counts every byte as downtime-bytes when the guest is not running (-S)', async () => {
    const h = harness({ pages: 10, isGuestRunning: () => false });
    h.guest.runstate = 'prelaunch';
    await h.run();
    expect(h.stats.precopyBytes).toBe(0);
    expect(h.stats.downtimeBytes).toBe(h.sink.bytes);
    expect(h.saver.runstate).toBe('prelaunch');
  });

  it('updates a shared-buffer stats view', async () => {
    const { stats } = createSharedStats();
    const h = harness({ pages: 10, stats });
    await h.run();
    expect(stats.transferred).toBe(h.sink.bytes);
    expect(stats.pageSize).toBe(PAGE);
  });
});

describe('runPrecopy: cancel', () => {
  it('before the start: cancelled without touching the saver', async () => {
    const ac = new AbortController();
    ac.abort();
    const h = harness({ signal: ac.signal });
    const r = await h.run();
    expect(r.status).toBe('cancelled');
    expect(h.history).toEqual(['none>setup', 'setup>cancelling', 'cancelling>cancelled']);
    expect(h.saver.calls).toEqual([]);
    expect(h.sink.destroyedWith).toBeInstanceOf(MigrationCancelledError);
  });

  it('during setup', async () => {
    const ac = new AbortController();
    const h = harness({ signal: ac.signal, hooks: { setup: () => ac.abort() } });
    const r = await h.run();
    expect(r.status).toBe('cancelled');
    expect(h.history).toEqual(['none>setup', 'setup>cancelling', 'cancelling>cancelled']);
    expect(h.saver.calls).toEqual(['setup']);
    expect(h.guest.stops).toBe(0);
    expect(h.sink.destroyedWith).toBeInstanceOf(MigrationCancelledError);
  });

  it('while active: the state is cancelling at once, then cancelled; the guest was never stopped', async () => {
    const ac = new AbortController();
    let stateAtAbort = '';
    const h = harness({
      pages: 100,
      signal: ac.signal,
      maxBatchBytes: 4 * PAGE,
      sinkOpts: {
        onWrite: (s) => {
          if (s.writes.length === 10) {
            ac.abort();
            stateAtAbort = h.state.status;
          }
        },
      },
    });
    const r = await h.run();
    expect(stateAtAbort).toBe('cancelling');
    expect(r.status).toBe('cancelled');
    expect(h.state.status).toBe('cancelled');
    expect(h.history).toEqual(['none>setup', 'setup>active', 'active>cancelling', 'cancelling>cancelled']);
    expect(h.sink.writes.length).toBe(10);
    expect(h.guest.stops).toBe(0);
    expect(h.guest.resumes).toEqual([]);
    expect(h.sink.ended).toBe(false);
  });

  it('while a write waits for the peer: destroying the sink unblocks it', async () => {
    const ac = new AbortController();
    const h = harness({ pages: 100, signal: ac.signal, maxBatchBytes: 4 * PAGE, sinkOpts: { blockAt: 5 } });
    const running = h.run();
    await h.sink.blocked;
    ac.abort();
    const r = await running;
    expect(r.status).toBe('cancelled');
    expect(h.sink.destroyedWith).toBeInstanceOf(MigrationCancelledError);
  });

  it('after the guest was stopped: the guest is resumed with its runstate', async () => {
    const ac = new AbortController();
    const h = harness({ pages: 10, signal: ac.signal });
    const stop = h.opts.stopGuest;
    h.opts.stopGuest = () => {
      const rs = stop();
      ac.abort();
      return rs;
    };
    const r = await h.run();
    expect(r.status).toBe('cancelled');
    expect(h.guest.resumes).toEqual(['running']);
    expect(h.saver.calls).not.toContain('complete');
    expect(h.history.at(-1)).toBe('cancelling>cancelled');
  });
});

describe('runPrecopy: failures', () => {
  it('a sink error while active fails the migration with error-desc naming the cause', async () => {
    const cause = new Error('write EPIPE');
    const h = harness({ pages: 100, maxBatchBytes: 4 * PAGE, sinkOpts: { failAtByte: 50_000, error: cause } });
    const r = await h.run();
    expect(r.status).toBe('failed');
    expect(r.errorDesc).toBe('migration stream write failed: write EPIPE');
    expect(r.error).toBeInstanceOf(MigrationFailedError);
    expect(r.error?.phase).toBe('write');
    expect(r.error?.cause).toBe(cause);
    expect(h.sink.destroyedWith).toBe(r.error);
    expect(h.state.status).toBe('failed');
    expect(h.history).toEqual(['none>setup', 'setup>active', 'active>failed']);
    expect(h.guest.stops).toBe(0);
    expect(h.guest.resumes).toEqual([]);
    expect(buildQueryMigrate({ status: h.state.status, stats: h.stats, now: 0, errorDesc: r.errorDesc }))
      .toEqual({ status: 'failed', 'error-desc': 'migration stream write failed: write EPIPE' });
  });

  it('a sink error after the guest stopped resumes the guest', async () => {
    const h = harness({ pages: 10, sinkOpts: { failAtByte: SETUP_BYTES + 10 * PAGE + 1 } }); // the trailer fails
    h.guest.runstate = 'running';
    const r = await h.run();
    expect(r.status).toBe('failed');
    expect(r.errorDesc).toMatch(/^migration stream write failed: /);
    expect(h.guest.resumes).toEqual(['running']);
    expect(h.state.status).toBe('failed');
  });

  it('a failing sink.end() fails the migration and resumes the guest', async () => {
    const h = harness({ pages: 3, sinkOpts: { endError: new Error('connection reset by peer') } });
    const r = await h.run();
    expect(r).toMatchObject({ status: 'failed', errorDesc: 'migration stream write failed: connection reset by peer' });
    expect(r.error?.phase).toBe('end');
    expect(h.guest.resumes).toEqual(['running']);
  });

  it('a saver that throws fails the migration in that phase', async () => {
    const h = harness({ pages: 10, hooks: { iterate: () => { throw new Error('dirty bitmap gone'); } } });
    const r = await h.run();
    expect(r).toMatchObject({ status: 'failed', errorDesc: 'migration iterate failed: dirty bitmap gone' });
    expect(h.sink.destroyedWith).toBe(r.error);
    const s = harness({ hooks: { setup: () => { throw new Error('no RAM'); } } });
    const rs = await s.run();
    expect(rs).toMatchObject({ status: 'failed', errorDesc: 'migration setup failed: no RAM' });
    expect(s.history).toEqual(['none>setup', 'setup>failed']);
  });

  it('a stopGuest that throws fails the migration and resumes nothing', async () => {
    const h = harness({ pages: 3 });
    h.opts.stopGuest = () => { throw new Error('vCPUs did not stop'); };
    const r = await h.run();
    expect(r).toMatchObject({ status: 'failed', errorDesc: 'migration failed to stop the guest: vCPUs did not stop' });
    expect(h.guest.resumes).toEqual([]);
  });

  it('reports a resumeGuest failure beside the outcome', async () => {
    const h = harness({ pages: 3, sinkOpts: { endError: new Error('reset') } });
    const oops = new Error('cannot restart vCPUs');
    h.opts.resumeGuest = () => { throw oops; };
    const r = await h.run();
    expect(r.status).toBe('failed');
    expect(r.resumeError).toBe(oops);
  });
});

describe('runPrecopy: cancel through the state machine', () => {
  it("moving the state to 'cancelling' (no signal) cancels and shuts a blocked sink", async () => {
    const h = harness({ pages: 100, maxBatchBytes: 4 * PAGE, sinkOpts: { blockAt: 3 } });
    const running = h.run();
    await h.sink.blocked;
    expect(h.state.transition('active', 'cancelling')).toBe(true);
    const r = await running;
    expect(r.status).toBe('cancelled');
    expect(h.sink.destroyedWith).toBeInstanceOf(MigrationCancelledError);
    expect(h.history.slice(-2)).toEqual(['active>cancelling', 'cancelling>cancelled']);
  });

  it('an abort after the stream ended is too late: the migration completes', async () => {
    const ac = new AbortController();
    const h = harness({ pages: 5, signal: ac.signal });
    const end = h.sink.end.bind(h.sink);
    h.sink.end = async () => {
      await end();
      ac.abort();
    };
    const r = await h.run();
    expect(r.status).toBe('completed');
    expect(h.sink.destroyedWith).toBeUndefined();
    expect(h.guest.resumes).toEqual([]);
  });
});

describe('runPrecopy: auto-converge (QEMU 7.2 migration_trigger_throttle)', () => {
  /** A guest dirtying `perMs` distinct pages per ms of unthrottled time, over a working set of `wss` pages. */
  function busyGuest(wss: number, perMs: number) {
    const g = { throttle: 0, sets: [] as number[], clock: undefined as FakeClock | undefined, last: 0, credit: 0, next: 0 };
    const dirtied = (): number[] => {
      const t = g.clock!.t;
      g.credit += (t - g.last) * perMs * ((100 - g.throttle) / 100);
      g.last = t;
      const n = Math.min(wss, Math.floor(g.credit));
      g.credit -= n;
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((g.next++ * 7919) % wss);
      return out;
    };
    return { g, dirtied };
  }

  function run(autoConverge: boolean, params: Partial<MigrationParameters> = {}) {
    const { g, dirtied } = busyGuest(512, 0.5); // 2 MB/s of pages against a 1 MB/s link
    const abort = new AbortController();
    const syncs: number[] = [];
    const h = harness({
      pages: 512,
      dirtied,
      autoConverge,
      signal: abort.signal,
      maxBatchBytes: 4 * PAGE,
      params: withParams({ 'max-bandwidth': 0, 'downtime-limit': 300, ...params }),
      sinkOpts: { bytesPerMs: 1000 },
      setThrottle: (p) => {
        g.throttle = p;
        g.sets.push(p);
      },
      onSync: (info) => {
        syncs.push(info.remaining);
        if (info.time > 120_000) abort.abort(); // the test's window: 2 minutes of fake time
      },
    });
    g.clock = h.clock;
    return { h, g, syncs };
  }

  it('without it, a guest dirtying faster than the link never converges (cancelled at the window)', async () => {
    const { h, g } = run(false);
    const r = await h.run();
    expect(r.status).toBe('cancelled');
    expect(g.sets).toEqual([]);
    expect(h.stats.cpuThrottlePercentage).toBe(0);
    expect(h.guest.stops).toBe(0);
  });

  it('with it, throttles 20, 30, … until it converges, then resets the throttle to 0', async () => {
    const { h, g } = run(true);
    const seen: number[] = [];
    h.opts.onProgress = (s) => {
      if (s.cpuThrottlePercentage > 0) seen.push(s.cpuThrottlePercentage);
    };
    const r = await h.run();
    expect(r.status).toBe('completed');
    expect(g.sets[0]).toBe(20);
    expect(g.sets.slice(0, -1)).toEqual(Array.from({ length: g.sets.length - 1 }, (_, i) => 20 + 10 * i));
    expect(g.sets.at(-1)).toBe(0);
    expect(g.sets.length).toBeGreaterThanOrEqual(3);
    expect(seen).toContain(20);
    expect(h.stats.cpuThrottlePercentage).toBe(0);
  });

  it('honours cpu-throttle-initial, -increment and max-cpu-throttle', async () => {
    const { h, g } = run(true, { 'cpu-throttle-initial': 35, 'cpu-throttle-increment': 40, 'max-cpu-throttle': 80 });
    expect((await h.run()).status).toBe('completed');
    expect(g.sets.slice(0, -1)).toEqual([35, 75, 80].slice(0, g.sets.length - 1));
    expect(g.sets.at(-1)).toBe(0);
  });

  it('needs the dirty rate high twice: one busy period alone does not throttle', async () => {
    let busyUntil = 1500;
    const { g, dirtied } = busyGuest(512, 0.5);
    const h = harness({
      pages: 512,
      autoConverge: true,
      dirtied: () => (h.clock.t < busyUntil ? dirtied() : (dirtied(), [])),
      params: withParams({ 'max-bandwidth': 0, 'downtime-limit': 300 }),
      maxBatchBytes: 4 * PAGE,
      sinkOpts: { bytesPerMs: 1000 },
      setThrottle: (p) => g.sets.push(p),
    });
    g.clock = h.clock;
    busyUntil = 1500;
    expect((await h.run()).status).toBe('completed');
    expect(g.sets).toEqual([]);
  });

  it('a migration that fails while throttled resets the throttle', async () => {
    const { h, g } = run(true);
    h.opts.sink = new FakeSink({ clock: h.clock, bytesPerMs: 1000, failAtByte: 12 * 1024 * 1024 });
    const r = await h.run();
    expect(r.status).toBe('failed');
    expect(g.sets.length).toBeGreaterThan(1);
    expect(g.sets.at(-1)).toBe(0);
  });
});

describe('runPrecopy: the convergence option and the threshold handed to pendingBytes', () => {
  // 1000 bytes/ms, downtime-limit 100 ms → threshold 100,000 bytes after the first slot end
  const measured = (over: Parameters<typeof harness>[0] = {}) =>
    harness({
      pages: 100,
      params: withParams({ 'max-bandwidth': 0, 'downtime-limit': 100 }),
      maxBatchBytes: 16 * PAGE,
      sinkOpts: { bytesPerMs: 1000 },
      ...over,
    });

  it('pendingBytes gets 0 until the first slot end, then bandwidth × downtime-limit', async () => {
    const h = measured();
    expect((await h.run()).status).toBe('completed');
    const t = h.saver.thresholds;
    expect(t[0]).toBe(0);
    const firstMeasured = t.findIndex((x) => x > 0);
    expect(firstMeasured).toBeGreaterThan(0);
    expect(t.slice(0, firstMeasured).every((x) => x === 0)).toBe(true);
    for (const x of t.slice(firstMeasured)) expect(x).toBeCloseTo(100_000, 0);
  });

  it('a section reporting threshold + 1 MiB holds the switchover back until its bulk pass ends', async () => {
    // a block section with a 2 MB bulk pass beside 100 pages of RAM: RAM alone would converge within 0.5 s
    let blockLeft = 2_000_000;
    const h = measured({
      hooks: {
        extraPending: (threshold) => (blockLeft > 0 ? threshold + 1024 * 1024 : 0),
        iterate: (maxBytes) => {
          const n = Math.min(blockLeft, maxBytes);
          if (n > 0) h.saver.emit(new Uint8Array(n));
          blockLeft -= n;
        },
      },
    });
    let blockLeftAtStop = -1;
    const stop = h.opts.stopGuest;
    h.opts.stopGuest = () => {
      blockLeftAtStop = blockLeft;
      return stop();
    };
    expect((await h.run()).status).toBe('completed');
    expect(blockLeftAtStop).toBe(0);
    expect(h.stats.downtimeStart).toBeGreaterThanOrEqual(2000); // 2 MB at 1000 bytes/ms
    expect(h.sink.bytes).toBe(SETUP_BYTES + 100 * PAGE + 2_000_000 + TRAILER_BYTES);
  });

  it('the rule passed in decides, with what is pending, the threshold and the run so far', async () => {
    const seen: ConvergenceInput[] = [];
    // never by the threshold: once four passes are done
    const h = measured({
      dirtied: () => [0, 1, 2, 3, 4, 5, 6, 7],
      convergence: (input) => {
        seen.push(input);
        return input.passes >= 4;
      },
    });
    expect((await h.run()).status).toBe('completed');
    expect(h.passes).toEqual([1, 2, 3, 4, 5]); // four before the switchover, the last one after the stop
    const last = seen.at(-1)!;
    expect(last.passes).toBe(4);
    expect(last.thresholdBytes).toBeCloseTo(100_000, 0);
    expect(last.bandwidth).toBeCloseTo(1_000_000, -2);
    expect(last.params['downtime-limit']).toBe(100);
    expect(last.elapsedMs).toBe(h.stats.downtimeStart); // the run started at 0; the switchover began right after
    expect(seen[0]).toMatchObject({ pendingBytes: 100 * PAGE, thresholdBytes: 0, bandwidth: 0, passes: 1 });
  });

  it('qemuConvergence is the default', async () => {
    const a = measured({ dirtied: (n) => (n === 2 ? [0, 1, 2, 3] : []) });
    const b = measured({ dirtied: (n) => (n === 2 ? [0, 1, 2, 3] : []), convergence: qemuConvergence });
    await a.run();
    await b.run();
    expect(a.sink.writes).toEqual(b.sink.writes);
    expect(a.guest.pendingAtStop).toBe(24 * PAGE);
  });

  it('a rule that throws fails the migration naming it; a rule that is not a function is refused', async () => {
    const h = measured({ convergence: () => { throw new Error('no budget'); } });
    const r = await h.run();
    expect(r).toMatchObject({ status: 'failed', errorDesc: 'migration convergence rule failed: no budget' });
    expect(r.error?.phase).toBe('iterate');
    await expect(runPrecopy({ ...h.opts, convergence: 5 as never })).rejects.toThrow(/convergence must be a function/);
  });
});

describe('runPrecopy: a max-bandwidth changed in the middle of a slot', () => {
  it('keeps the slot at the limit it began with and applies the new one from the next', async () => {
    // 1 MB/s (100,000 bytes a slot) on a link of 10,000 bytes/ms: each slot sends for 10 ms, then sleeps.
    let params = withParams({ 'max-bandwidth': 1_000_000, 'downtime-limit': 0 });
    const h = harness({
      pages: 300,
      maxBatchBytes: 4 * PAGE,
      params: () => params,
      sinkOpts: {
        bytesPerMs: 10_000,
        onWrite: (s) => {
          if (s.o.clock.t >= 105) params = withParams({ 'max-bandwidth': 4_000_000, 'downtime-limit': 0 });
        },
      },
    });
    expect((await h.run()).status).toBe('completed');
    const slots = h.sink.perSlot();
    expect(slots[1]).toBeGreaterThanOrEqual(100_000);
    expect(slots[1]).toBeLessThanOrEqual(100_000 + PAGE); // raised at 105 ms, while slot 1 was sending
    expect(slots[2]).toBeGreaterThanOrEqual(400_000);
    expect(slots[2]).toBeLessThanOrEqual(400_000 + PAGE);
  });
});
