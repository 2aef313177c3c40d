import { describe, expect, it } from 'vitest';
import { MigrationFailedError } from '../errors.js';
import { FakeSaver, PAGE, SETUP_BYTES, TRAILER_BYTES, harness, withParams } from '../testing/precopy-fakes.js';
import { CancelRequested } from './failure.js';
import { startRun } from './run-context.js';
import { setupPhase } from './setup-phase.js';
import { completeRun, switchover } from './switchover.js';

/** A run set up and active, with every page still pending (no iterations): what the switchover gets at worst. */
async function atSwitchover(over: Parameters<typeof harness>[0] = {}) {
  const h = harness({ pages: 40, maxBatchBytes: 8 * PAGE, sinkOpts: { bytesPerMs: 100 }, ...over });
  const order: string[] = [];
  const stop = h.opts.stopGuest;
  h.opts.stopGuest = () => {
    order.push(`stop after ${h.saver.calls.length} saver calls`);
    return stop();
  };
  const run = startRun(h.opts);
  await setupPhase(run);
  return { h, run, order };
}

describe('switchover (migration_completion)', () => {
  it('stops the guest, syncs once more, sends the rest in batches of maxBatch, then complete(runstate) and end', async () => {
    const { h, run, order } = await atSwitchover({ dirtied: (n) => (n === 2 ? [0, 1] : []) });
    h.guest.runstate = 'paused';
    await switchover(run);
    expect(order).toEqual(['stop after 1 saver calls']); // right after setup: nothing of the rest went before it
    expect(h.passes).toEqual([1, 2]); // the last sync ran after the stop
    expect(h.saver.calls).toEqual(['setup', 'iterate', 'iterate', 'iterate', 'iterate', 'iterate', 'complete']);
    expect(h.saver.budgets).toEqual(Array(5).fill(8 * PAGE));
    expect(h.saver.runstate).toBe('paused');
    expect(h.sink.ended).toBe(true);
    expect(h.sink.bytes).toBe(SETUP_BYTES + 40 * PAGE + TRAILER_BYTES);
    expect(h.stats.remaining).toBe(0);
  });

  it('a saver that stops making progress after the stop: complete() sends what it still holds', async () => {
    const h = harness({ pages: 12, maxBatchBytes: 4 * PAGE });
    const saver = h.saver as FakeSaver;
    const iterate = saver.iterate.bind(saver);
    saver.iterate = (max) => (saver.calls.length > 2 ? (saver.calls.push('iterate'), 0) : iterate(max));
    const run = startRun(h.opts);
    await setupPhase(run);
    await switchover(run);
    // two batches of 4 pages, one that sent nothing (the loop stops asking), then complete() with the last 4
    expect(saver.calls).toEqual(['setup', 'iterate', 'iterate', 'iterate', 'complete']);
    expect(new Set(h.sink.writes.filter((w) => w.page >= 0).map((w) => w.page)).size).toBe(12);
  });

  it('hands the last measured threshold to pendingBytes after the stop', async () => {
    const { h, run } = await atSwitchover();
    run.meter.restart(0, 0);
    run.meter.measure(100, 50_000, { downtimeLimit: 300, remaining: 0, dirtyPagesRate: 0 });
    const before = h.saver.thresholds.length;
    await switchover(run);
    expect(new Set(h.saver.thresholds.slice(before))).toEqual(new Set([150_000]));
  });

  it('records downtime from the stop to the end of the stream, and its bytes as downtime-bytes', async () => {
    const { h, run } = await atSwitchover({ pages: 10 });
    h.clock.advance(1000);
    const stoppedAt = h.clock.t;
    await switchover(run);
    const result = completeRun(run);
    expect(result).toEqual({ status: 'completed', passes: 2, bytesWritten: h.sink.bytes });
    expect(h.stats.downtimeStart).toBe(stoppedAt);
    expect(h.stats.downtime).toBeCloseTo((10 * PAGE + TRAILER_BYTES) / 100, 9);
    expect(h.stats.downtimeBytes).toBe(10 * PAGE + TRAILER_BYTES);
    expect(h.stats.precopyBytes).toBe(SETUP_BYTES);
    expect(h.state.status).toBe('completed');
  });

  it('a cancel once the guest is stopped unwinds before anything more is sent', async () => {
    const ac = new AbortController();
    const { h, run } = await atSwitchover({ signal: ac.signal });
    const stop = h.opts.stopGuest;
    h.opts.stopGuest = () => {
      ac.abort();
      return stop();
    };
    await expect(switchover(run)).rejects.toBeInstanceOf(CancelRequested);
    expect(run.guest.stopped).toBe(true); // settleRun resumes it
    expect(h.saver.calls).toEqual(['setup']);
  });

  it("sink.end() failing fails the migration in 'end'; the signal is ignored from end() on", async () => {
    const ac = new AbortController();
    const { h, run } = await atSwitchover({ pages: 3, signal: ac.signal, sinkOpts: { endError: new Error('connection reset by peer') } });
    const end = h.sink.end.bind(h.sink);
    h.sink.end = () => {
      ac.abort();
      return end();
    };
    const err = await switchover(run).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationFailedError);
    expect(err).toMatchObject({ phase: 'end', message: 'migration stream write failed: connection reset by peer' });
    expect(h.state.status).toBe('active'); // the abort came after the watch let go
    expect(h.sink.destroyedWith).toBeUndefined();
  });

  it("completeRun: a 'cancelling' set during end() wins; a state that cannot complete fails", async () => {
    const a = await atSwitchover({ pages: 2 });
    await switchover(a.run);
    a.h.state.transition('active', 'cancelling');
    expect(() => completeRun(a.run)).toThrow(CancelRequested);
    const b = await atSwitchover({ pages: 2 });
    await switchover(b.run);
    b.h.state.transition('active', 'failed');
    expect(() => completeRun(b.run)).toThrow("migration could not complete from state 'failed'");
  });

  it('completeRun returns the throttle to 0', async () => {
    const sets: number[] = [];
    const { run } = await atSwitchover({ pages: 2, autoConverge: true, setThrottle: (p) => sets.push(p), params: withParams({ 'max-bandwidth': 0 }) });
    run.throttle.periodEnded(2e6, 1e6, run.params());
    run.throttle.periodEnded(2e6, 1e6, run.params());
    await switchover(run);
    completeRun(run);
    expect(sets).toEqual([20, 0]);
    expect(run.stats.cpuThrottlePercentage).toBe(0);
  });
});
